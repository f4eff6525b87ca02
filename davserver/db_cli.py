"""``davserver db``: the schema's revision, upgrades, and new revisions for developers.

Forms::

    davserver db status                 current revision and this version's head
    davserver db upgrade                create or migrate the schema now (start-up does
                                        it too; this is for a maintenance window)
    davserver db revision -m MESSAGE    (developers) write a new revision under
                                        davserver/migrations/versions/ by comparing the
                                        models with the schema the chain builds

Exit status: 0 done (``status``: up to date), 1 ``status`` of a database that needs
an upgrade, 2 a bad database or configuration.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from sqlalchemy import create_engine

from davserver import migrations
from davserver.config import Config
from davserver.db import Database
from davserver.errors import DomainError


def cmd_db(config: Config, args: argparse.Namespace) -> int:
    """Run ``davserver db ACTION`` (see the module docstring)."""
    if args.action == "revision":
        return _revision(args.message)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.effective_database_url)
    try:
        if args.action == "upgrade":
            done = db.create_schema()
            print(f"schema {done}: revision {migrations.HEAD}")
            return 0
        with db.engine.connect() as connection:
            current = migrations.current_revision(connection)
        print(f"database revision: {current or 'none (empty, or made before migrations)'}")
        print(f"this version's head: {migrations.HEAD}")
        return 0 if current == migrations.HEAD else 1
    finally:
        db.dispose()


def _revision(message: str) -> int:
    """Autogenerate the next revision against a scratch SQLite database upgraded
    through the whole chain, then point :data:`migrations.HEAD` at it."""
    from alembic import command

    package = Path(migrations.__file__).parent
    if not package.joinpath("versions").is_dir():
        raise DomainError(f"no versions folder at {package}: run from a source checkout")
    rev_id = f"{int(migrations.HEAD) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/chain.db")
        with engine.begin() as connection:
            cfg = migrations.alembic_config(connection)
            command.upgrade(cfg, "head")
            script = command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    init = package / "__init__.py"
    init.write_text(re.sub(r'^HEAD = "\d+"$', f'HEAD = "{rev_id}"', init.read_text(),
                           flags=re.MULTILINE))
    path = getattr(script, "path", "?")
    print(f"wrote {path}; HEAD is now {rev_id}: read the revision before committing it")
    return 0
