"""user_preferences, rubric_subscriptions: "Mon compte" settings and the directory

``user_preferences``: one row per user who saved settings (portal, cahier de textes
defaults, redirect e-mail, phone numbers, the liste rouge box; acl.preferences).
``rubric_subscriptions``: the rubrics whose new contributions a user hears of.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 11:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0022'
down_revision: Union[str, Sequence[str], None] = '0021'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('user_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('unfold_rubrics', sa.Boolean(), nullable=False),
    sa.Column('homework_minutes', sa.Integer(), nullable=True),
    sa.Column('input_mode', sa.String(length=8), nullable=False),
    sa.Column('redirect_email', sa.String(length=254), nullable=True),
    sa.Column('phone_landline', sa.String(length=32), nullable=True),
    sa.Column('phone_mobile', sa.String(length=32), nullable=True),
    sa.Column('private_numbers', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('rubric_subscriptions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('rubric_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rubric_id'], ['rubrics.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'rubric_id')
    )
    with op.batch_alter_table('rubric_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rubric_subscriptions_rubric_id'), ['rubric_id'],
                              unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('rubric_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rubric_subscriptions_rubric_id'))
    op.drop_table('rubric_subscriptions')
    op.drop_table('user_preferences')
