"""trashed activities: a deleted activity goes to the textbook's corbeille

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 14:45:00

Issue 20, "Undo instead of loss". ``trashed_activities`` holds one row per activity
in the corbeille (who deleted it, when, UTC); the activity row, its attachments and
their quota charge stay until its teacher restores it or deletes it for good.

Downgrade: refused while any activity is in the corbeille. Without this table a
deleted activity would be shown again everywhere (to students and parents too),
and deleting it here instead could not free its attachments' blob files nor their
quota charge (``Supprimer définitivement`` does, through the store): neither loses
nothing silently. The refusal names how many activities wait and what to do: their
teachers restore them or delete them for good; then the downgrade runs.
"""
from typing import Sequence, Union

from alembic import op
from alembic.util import CommandError
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0026'
down_revision: Union[str, Sequence[str], None] = '0025'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. A table a database older than the baseline lacks is left to
    ``bring_up_to_date``, which creates it whole."""
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if 'activities' not in tables or 'trashed_activities' in tables:
        return
    op.create_table(
        'trashed_activities',
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('deleted', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deleted_by', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['deleted_by'], ['users.id'], ),
        sa.PrimaryKeyConstraint('activity_id'),
    )


def downgrade() -> None:
    """Downgrade schema, when the corbeille holds no activity (see the module's
    docstring); ``CommandError`` naming their number otherwise, nothing changed."""
    bind = op.get_bind()
    if 'trashed_activities' not in sa.inspect(bind).get_table_names():
        return
    waiting = bind.execute(sa.text('SELECT COUNT(*) FROM trashed_activities')).scalar()
    if waiting:
        raise CommandError(
            f"cannot downgrade below 0026: {waiting} "
            f"{'activity is' if waiting == 1 else 'activities are'} in the textbook's "
            "corbeille, and without its table they would be shown again to everyone. "
            "Have their teachers restore them or delete them for good "
            "(/textbook/corbeille, « Supprimer définitivement », which frees their "
            "attachments), then downgrade again.")
    op.drop_table('trashed_activities')
