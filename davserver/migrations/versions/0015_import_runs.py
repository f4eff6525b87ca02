"""import_runs: the history of the web page's and the imports folders' imports

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-06 08:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "schools" not in tables or "import_runs" in tables:
        return  # older than the baseline (create_all makes it whole), or made already
    op.create_table(
        'import_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.Column('place', sa.String(length=1000), nullable=True),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('preview', sa.JSON(), nullable=True),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_import_runs_school', 'import_runs', ['school_id', 'id'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_import_runs_school', table_name='import_runs')
    op.drop_table('import_runs')
