"""file versions: earlier contents of files, and their bytes in the ledger

Revision ID: 0018
Revises: 0022
Create Date: 2026-12-06 11:00:00

Issue 23. ``file_versions`` keeps the earlier contents of files (each holding its
blob); ``space_usage.version_bytes`` counts their bytes apart from the used bytes,
as ``trash_bytes`` counts the trash's. The column is added in place (``ALTER TABLE …
ADD COLUMN``, also on SQLite); its server default only fills existing rows.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0022'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. A table a database older than the baseline lacks is left to
    ``bring_up_to_date``, which creates it whole."""
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if 'space_usage' in tables:
        op.add_column('space_usage', sa.Column('version_bytes', sa.BigInteger(),
                                               nullable=False, server_default='0'))
    if 'spaces' not in tables or 'file_versions' in tables:
        return
    op.create_table(
        'file_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('node_id', sa.Integer(), nullable=False),
        sa.Column('space_id', sa.Integer(), nullable=False),
        sa.Column('blob_id', sa.Integer(), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('etag', sa.String(length=64), nullable=False),
        sa.Column('md5', sa.String(length=32), nullable=True),
        sa.Column('content_type', sa.String(length=255), nullable=True),
        sa.Column('modified', sa.Float(), nullable=False),
        sa.Column('made_at', sa.Float(), nullable=False),
        sa.Column('made_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['blob_id'], ['blobs.id'], ),
        sa.ForeignKeyConstraint(['made_by'], ['users.id'], ),
        sa.ForeignKeyConstraint(['space_id'], ['spaces.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('file_versions', schema=None) as batch_op:
        batch_op.create_index('ix_file_versions_node', ['node_id', 'made_at'], unique=False)
        batch_op.create_index('ix_file_versions_space', ['space_id', 'made_at'], unique=False)
        batch_op.create_index('ix_file_versions_blob', ['blob_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('file_versions')
    op.drop_column('space_usage', 'version_bytes')
