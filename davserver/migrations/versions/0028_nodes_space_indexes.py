"""nodes by space and modification time, and a space's folders: rubric pages

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-06 17:00:00

``ix_nodes_space_modified`` on ``nodes (space_id, modified)``: a rubric's home page
lists the newest files of its space (``providers.contributions``), which read the
space's nodes in that order instead of sorting every node of the space on each
visit. ``ix_nodes_space_folders`` on ``nodes (space_id)`` for folders only (a
partial index: ``WHERE is_collection``): a rubric's access tabs list its folders
(``Store.folders``) without reading its files. Both are built in the migration's
transaction. ``ix_nodes_space`` (``space_id`` alone) goes: the first is a superset
of it, and SQLite, without statistics, preferred it to the partial index. The
downgrade puts it back and drops the two.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0028'
down_revision: Union[str, Sequence[str], None] = '0026'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

def upgrade() -> None:
    """Upgrade schema. An index the database already has (made whole by
    ``bring_up_to_date``) is left alone."""
    inspector = sa.inspect(op.get_bind())
    if 'nodes' not in inspector.get_table_names():
        return
    present = {i['name'] for i in inspector.get_indexes('nodes')}
    if 'ix_nodes_space_modified' not in present:
        op.create_index('ix_nodes_space_modified', 'nodes', ['space_id', 'modified'],
                        unique=False)
    if 'ix_nodes_space_folders' not in present:
        op.create_index('ix_nodes_space_folders', 'nodes', ['space_id'], unique=False,
                        sqlite_where=sa.text('is_collection = 1'),
                        postgresql_where=sa.text('is_collection'))
    if 'ix_nodes_space' in present:
        op.drop_index('ix_nodes_space', table_name='nodes')


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index('ix_nodes_space', 'nodes', ['space_id'], unique=False)
    op.drop_index('ix_nodes_space_folders', table_name='nodes')
    op.drop_index('ix_nodes_space_modified', table_name='nodes')
