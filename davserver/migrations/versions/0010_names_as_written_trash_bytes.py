"""names as written, trash bytes out of the used bytes, purges to make room

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00

Issue 17. ``nodes.written_name`` and ``nodes.written_path`` keep names as the
client wrote them; ``name`` and ``path`` stay the NFC keys they already were, so
existing rows keep their NFC spelling as the written one. ``space_usage.trash_bytes``
takes the bytes of every space's trash out of its ``used_bytes`` (a delete now frees
space at once). ``trash_purges`` records the purges made to make room.

Columns are added in place (``ALTER TABLE … ADD COLUMN``, also on SQLite: no table
copy, which foreign keys to ``nodes`` would forbid inside the migration's
transaction); their server default only fills existing rows.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def upgrade() -> None:
    """Upgrade schema. A table a database older than the baseline lacks is left to
    ``bring_up_to_date``, which creates it whole (and then names what is missing)."""
    tables = _tables()
    if 'nodes' in tables:
        _written_names()
    if 'space_usage' in tables and 'trash_items' in tables:
        _trash_bytes()
    if 'spaces' in tables:
        _trash_purges()


def _trash_purges() -> None:
    op.create_table('trash_purges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('purged_at', sa.Float(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['space_id'], ['spaces.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('trash_purges', schema=None) as batch_op:
        batch_op.create_index('ix_trash_purges_space', ['space_id', 'purged_at'], unique=False)


def _written_names() -> None:
    op.add_column('nodes', sa.Column('written_name', sa.Text(), nullable=False,
                                     server_default=''))
    op.add_column('nodes', sa.Column('written_path', sa.Text(), nullable=False,
                                     server_default=''))
    op.execute("UPDATE nodes SET written_name = name, written_path = path")


def _trash_bytes() -> None:
    op.add_column('space_usage', sa.Column('trash_bytes', sa.BigInteger(), nullable=False,
                                           server_default='0'))
    # Trashed bytes were counted in used_bytes: move them to trash_bytes.
    op.execute(
        "UPDATE space_usage SET trash_bytes = COALESCE((SELECT SUM(t.size) FROM trash_items t "
        "WHERE t.space_id = space_usage.space_id), 0)")
    op.execute("UPDATE space_usage SET used_bytes = CASE WHEN used_bytes > trash_bytes "
               "THEN used_bytes - trash_bytes ELSE 0 END")


def downgrade() -> None:
    """Downgrade schema (names written in NFD keep their NFC key only)."""
    with op.batch_alter_table('trash_purges', schema=None) as batch_op:
        batch_op.drop_index('ix_trash_purges_space')
    op.drop_table('trash_purges')
    op.execute("UPDATE space_usage SET used_bytes = used_bytes + trash_bytes")
    with op.batch_alter_table('space_usage', schema=None) as batch_op:
        batch_op.drop_column('trash_bytes')
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_column('written_path')
        batch_op.drop_column('written_name')
