"""app passwords; web sessions keep their data server-side; charters

``app_passwords``: one per device, the SHA-256 of the secret (acl.app_passwords).
``charters``, ``charter_acceptances``: the charte d'utilisation per school and who
accepted which version (acl.charters).
``web_sessions``: the data the cookie used to carry (CSRF token, flashed messages,
the chosen school) moves into ``data``; a visitor not signed in may have a row too
(``user_id`` NULL), so that the cookie holds the session's id and nothing else.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 08:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('app_passwords',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created', sa.Float(), nullable=False),
    sa.Column('last_used', sa.Float(), nullable=True),
    sa.Column('last_address', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('secret_hash')
    )
    with op.batch_alter_table('app_passwords', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_passwords_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data', sa.Text(), nullable=True))
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)

    op.create_table('charters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('published', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('school_id')
    )
    op.create_table('charter_acceptances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('charter_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charter_id'], ['charters.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'charter_id', 'version')
    )
    with op.batch_alter_table('charter_acceptances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charter_acceptances_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema: visitors' sessions (no user) go."""
    with op.batch_alter_table('charter_acceptances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charter_acceptances_user_id'))
    op.drop_table('charter_acceptances')
    op.drop_table('charters')
    op.execute("DELETE FROM web_sessions WHERE user_id IS NULL")
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('data')
    with op.batch_alter_table('app_passwords', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_passwords_user_id'))
    op.drop_table('app_passwords')
