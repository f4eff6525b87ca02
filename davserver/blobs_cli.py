"""``davserver blobs migrate --to s3|local``: move every blob to the other store.

For a school moving its files from the blob directory to an S3-compatible bucket (or
back): configure ``blobs.s3`` while ``blobs.kind`` still names the current store, run
the command (the server may keep running: new uploads keep going to the current
store), stop the servers, run it again (it copies only what the first run did not),
then set ``blobs.kind`` to the new store and start them (docs/admin.md, "Moving the
files to an S3 bucket").

Every blob the database knows (``blobs`` rows) is copied with its key, unless the
target already holds that key with the recorded size: the command can be stopped
and run again, and resumes. Each copy is checked by its size once written. A blob
missing or damaged at the source is reported and skipped (``davserver fsck`` names
it); nothing is deleted at the source. A progress bar shows the bytes (rich).

Exit status: 0 when every blob is in the target store, 1 otherwise.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from davserver.config import Config


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """``blobs migrate``."""
    blobs = sub.add_parser("blobs", help="the blob store").add_subparsers(
        dest="action", required=True)
    migrate = blobs.add_parser("migrate", help="copy every blob to the other store "
                               "(resumable)", parents=[common])
    migrate.add_argument("--to", required=True, choices=["s3", "local"],
                         help="the target store, configured in blob_dir or blobs.s3")


def cmd_blobs(config: Config, args: argparse.Namespace) -> int:
    from davserver.app import make_blob_store
    from davserver.db import open_database
    from providers.models import Blob

    source_kind = "local" if args.to == "s3" else "s3"
    if config.blobs.kind != source_kind:
        print(f"davserver: blobs.kind is {config.blobs.kind}: the blobs are already in "
              f"the {args.to} store (set blobs.kind to {source_kind} to copy from there)")
        return 1
    if args.to == "s3" and not config.blobs.s3.bucket:
        print("davserver: configure blobs.s3 (at least its bucket) before migrating to it")
        return 2
    db = open_database(config)
    try:
        with db.transaction(write=False) as s:
            wanted = [(k, int(n)) for k, n in s.execute(select(Blob.key, Blob.size))]
    finally:
        db.dispose()
    source, target = make_blob_store(config), make_blob_store(config, args.to)
    present = target.sizes()
    todo = [(k, n) for k, n in wanted if present.get(k) != n]
    print(f"{len(wanted)} blobs, {len(wanted) - len(todo)} already in the target, "
          f"{len(todo)} to copy ({sum(n for _, n in todo)} bytes)")
    failed = _copy_all(source, target, todo)
    for key, reason in failed:
        print(f"not copied: {key}: {reason}")
    if failed:
        print(f"blobs migrate: {len(failed)} blobs not copied (run davserver fsck; run "
              "this again to retry)")
        return 1
    print(f"blobs migrate: every blob is in the {args.to} store; set blobs.kind: "
          f"{args.to} and restart the servers")
    return 0


def _copy_all(source: Any, target: Any, todo: list[tuple[str, int]]) -> list[tuple[str, str]]:
    """Copy each ``(key, size)``; returns those that failed, with the reason."""
    failed = []
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TimeRemainingColumn())
    with Progress(*columns) as progress:
        task = progress.add_task("copying", total=sum(n for _, n in todo))
        for key, size in todo:
            try:
                _copy(source, target, key, size)
            except FileNotFoundError:
                failed.append((key, "missing at the source"))
            except OSError as exc:
                failed.append((key, str(exc)))
            progress.advance(task, size)
    return failed


def _copy(source: Any, target: Any, key: str, size: int) -> None:
    """One blob, streamed, then checked by its size in the target."""
    from providers.damage import open_checked

    with open_checked(lambda: source.open(key), size, key, key) as content:
        if hasattr(target, "put_existing"):
            target.put_existing(key, content, size)
        else:
            _put_local(target, key, content)
    stored = target.stored_size(key)
    if stored != size:
        target.delete(key)
        raise OSError(f"copied {stored} of {size} bytes")


def _put_local(target: Any, key: str, content: Any) -> None:
    """Write ``content`` under ``key`` in a directory store: a temporary file, fsynced,
    renamed into place (as a new blob is)."""
    import os

    final = target.path_of(key)
    final.parent.mkdir(exist_ok=True)
    part = target.tmp_dir / f"{key}.migrate.part"
    with open(part, "wb") as out:
        while block := content.read(1024 * 1024):
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, final)
