"""user_preferences.home_layout: the home page's blocks as the user arranged them

A JSON column, ``{"order": [block names], "hidden": [block names]}``; NULL (every
existing row) is the default page (acl.preferences.arranged). Numbered 0027 when it
was planned; it follows 0028, which reached main first.

Revision ID: 0027
Revises: 0028
Create Date: 2026-12-06 17:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0027'
down_revision: Union[str, Sequence[str], None] = '0028'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('user_preferences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_layout', sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('user_preferences', schema=None) as batch_op:
        batch_op.drop_column('home_layout')
