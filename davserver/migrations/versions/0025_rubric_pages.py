"""rubric pages: a rubric's home page and its encadré

Revision ID: 0025
Revises: 0018
Create Date: 2026-12-06 14:20:00

Issue 20, "Rubrics in the browser". ``rubric_pages`` holds, per rubric, whether its
home page is shown, the encadré's cleaned HTML and its image (bytes in the row, at
most 2 MiB). A rubric without a row has no home page shown and an empty box.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0025'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. A table a database older than the baseline lacks is left to
    ``bring_up_to_date``, which creates it whole."""
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if 'rubrics' not in tables or 'rubric_pages' in tables:
        return
    op.create_table(
        'rubric_pages',
        sa.Column('rubric_id', sa.Integer(), nullable=False),
        sa.Column('home_page', sa.Boolean(), nullable=False),
        sa.Column('box_html', sa.Text(), nullable=False),
        sa.Column('image', sa.LargeBinary(), nullable=True),
        sa.Column('image_type', sa.String(length=32), nullable=True),
        sa.Column('image_alt', sa.String(length=300), nullable=False),
        sa.Column('image_version', sa.Integer(), nullable=False),
        sa.Column('updated', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['rubric_id'], ['rubrics.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('rubric_id'),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('rubric_pages')
