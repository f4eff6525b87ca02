"""login_flows: Login Flow v2 in progress (acl.login_flows)

A sync app's request to add an account, waiting for its user's grant in a browser:
the SHA-256 of its two tokens, its state, the device's name, the flow's key pair (the
private half sealed under the poll token) and, once granted, the app password
sealed for the poll.

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-06 11:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0021'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('login_flows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_hash', sa.String(length=64), nullable=False),
    sa.Column('login_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('client_name', sa.String(length=255), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('server', sa.String(length=255), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('created', sa.Float(), nullable=False),
    sa.Column('expires', sa.Float(), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('sealed_key', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('login', sa.String(length=255), nullable=True),
    sa.Column('app_password_id', sa.Integer(), nullable=True),
    sa.Column('sealed_secret', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['app_password_id'], ['app_passwords.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('login_hash'),
    sa.UniqueConstraint('poll_hash')
    )
    with op.batch_alter_table('login_flows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_flows_expires'), ['expires'], unique=False)


def downgrade() -> None:
    """Downgrade schema: flows in progress are forgotten (their apps start again)."""
    with op.batch_alter_table('login_flows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_flows_expires'))
    op.drop_table('login_flows')
