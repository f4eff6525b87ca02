"""Alembic's environment: migrate on the connection :func:`bring_up_to_date` (or the
``davserver db`` command) hands over in ``config.attributes["connection"]``."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.types import TypeDecorator

from davserver.db import Base
from davserver.migrations import VERSION_TABLE, load_models


def render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Write our column types (``UTCDateTime``…) as the plain type they store, so a
    revision never imports application code that may change later."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


load_models()
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when run by hand without a connection
    raise RuntimeError("run migrations through `davserver db`, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    # SQLite cannot ALTER most things in place: batch mode copies the table.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
