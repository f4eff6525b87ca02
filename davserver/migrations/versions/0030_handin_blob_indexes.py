"""handin blob indexes: hand-in files and corrections looked up by their blob

Revision ID: 0030
Revises: 0027
Create Date: 2026-12-06 17:00:00

Issue 22. Freeing a blob (an overwrite with the same bytes, a delete, a trash purge)
asks in one statement whether anything still points at it, hand-ins included: one
``NOT EXISTS`` per holder column (``Store._release_blobs``), each an index look-up
with these two indexes instead of a scan of the hand-in tables per blob.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0030'
down_revision: Union[str, Sequence[str], None] = '0027'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_INDEXES = (('handin_files', 'ix_handin_files_blob_id'),
            ('handin_corrections', 'ix_handin_corrections_blob_id'))


def upgrade() -> None:
    """Upgrade schema. Tables a database older than the baseline lacks are left to
    ``bring_up_to_date``, which creates them whole, indexes included."""
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    for table, name in _INDEXES:
        if table in tables and name not in {i['name'] for i in inspector.get_indexes(table)}:
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.create_index(name, ['blob_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    for table, name in _INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
