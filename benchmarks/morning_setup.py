"""Prepare the school morning (:mod:`benchmarks.morning`) in a running server's
database and blob store: ``python -m benchmarks.morning_setup USERS FOLDER_FILES``,
run with the server's environment (``DAVSERVER_*``), so it works on SQLite and a blob
directory as on PostgreSQL and S3 (the cluster).

Makes the users ``eleve001``… (profile ``student``, password
:data:`benchmarks.morning.PASSWORD`) and, in each one's ``porte-documents``, the folder
``cours/`` with ``FOLDER_FILES`` files: the first :data:`benchmarks.morning.DOWNLOADS`
hold a file of the school mix, the others are empty (a listing does not read content,
and writing them through HTTP would make the set-up, not the morning, the long part).
Prints one line, ``ready``.
"""

from __future__ import annotations

import sys

from .morning import DOWNLOADS, FOLDER, PASSWORD, login
from .school_files import school_mix


def main(argv: list[str]) -> int:
    import acl
    from davserver.app import create_app
    from davserver.config import load_config

    users, files = int(argv[0]), int(argv[1])
    app = create_app(load_config())
    mix = school_mix(DOWNLOADS)
    try:
        for index in range(users):
            with app.db.transaction() as s:
                principal = acl.create_user(s, login(index), PASSWORD, "student")
            store = app.store
            space = store.ensure_space("documents", owner_id=principal.id, profile="student")
            store.make_collection(space.id, f"/{FOLDER}")
            for i in range(files):
                path = f"/{FOLDER}/{mix[i].name(i) if i < DOWNLOADS else f'f{i:05d}.txt'}"
                blob = None
                if i < DOWNLOADS:
                    writer = store.blobs.writer()
                    writer.write(mix[i].body)
                    blob = writer.finish()
                store.commit_write(space.id, path, blob)
    finally:
        app.close()
    print("ready", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
