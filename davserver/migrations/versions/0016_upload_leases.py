"""upload reservations as leases

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-06 06:30:00

Issue 18. ``upload_leases`` holds each upload's reservation with its holder (host,
process id, start token) and an expiry (``quotas/leases.py``);
``space_usage.reserved_bytes`` is from now on the sum of a space's leases. Counters
left by uploads of earlier versions have no holder to ask: every server process is
stopped during an upgrade (docs/admin.md, "Upgrading"), so they are stale and reset.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('upload_leases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('nbytes', sa.BigInteger(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('expires', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('upload_leases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_leases_expires'), ['expires'], unique=False)
        batch_op.create_index(batch_op.f('ix_upload_leases_space_id'), ['space_id'], unique=False)
    if 'space_usage' in set(sa.inspect(op.get_bind()).get_table_names()):
        op.execute("UPDATE space_usage SET reserved_bytes = 0")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('upload_leases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_leases_space_id'))
        batch_op.drop_index(batch_op.f('ix_upload_leases_expires'))

    op.drop_table('upload_leases')
