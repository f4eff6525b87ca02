"""dead properties count in the quota

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 07:00:00

Issue 18. ``nodes.props_bytes`` is the size of each node's dead properties as the
quota counts them (``providers/properties.py``: name and value, UTF-8). Existing
properties are measured here, and each space's ``used_bytes`` grows by its nodes'
properties, so that deleting them later frees what was charged (a space may then be
over its limit: that only blocks growth, as a lowered limit does). ``davserver fsck``
checks the same figures afterwards.
"""
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _bytes(props: object) -> int:
    if isinstance(props, str):
        props = json.loads(props) if props not in ("{}", "null", "") else {}
    if not isinstance(props, dict):
        return 0
    return sum(len(str(n).encode("utf-8")) + len(str(v).encode("utf-8"))
               for n, v in props.items())


def upgrade() -> None:
    """Upgrade schema."""
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if 'nodes' not in tables:
        return
    op.add_column('nodes', sa.Column('props_bytes', sa.BigInteger(), nullable=False,
                                     server_default='0'))
    bind = op.get_bind()
    nodes = sa.table('nodes', sa.column('id', sa.Integer), sa.column('space_id', sa.Integer),
                     sa.column('dead_props', sa.Text), sa.column('props_bytes', sa.BigInteger))
    found = bind.execute(sa.select(nodes.c.id, nodes.c.space_id, nodes.c.dead_props)
                         .where(nodes.c.dead_props.is_not(None))).all()
    by_space: dict[int, int] = {}
    for node_id, space_id, props in found:
        size = _bytes(props)
        if size:
            bind.execute(sa.update(nodes).where(nodes.c.id == node_id)
                         .values(props_bytes=size))
            by_space[space_id] = by_space.get(space_id, 0) + size
    if 'space_usage' in tables:
        usage = sa.table('space_usage', sa.column('space_id', sa.Integer),
                         sa.column('used_bytes', sa.BigInteger))
        for space_id, size in by_space.items():
            bind.execute(sa.update(usage).where(usage.c.space_id == space_id)
                         .values(used_bytes=usage.c.used_bytes + size))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_column('props_bytes')
