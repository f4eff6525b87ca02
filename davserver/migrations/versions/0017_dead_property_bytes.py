"""dead properties count in the quota

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 07:00:00

Issue 18. ``nodes.props_bytes`` is the size of each node's dead properties as the
quota counts them (``providers/properties.py``: name and value, UTF-8). Existing
properties are measured here. Those of live nodes add to their space's
``used_bytes``, so that deleting them later frees what was charged (a space may then
be over its limit: that only blocks growth, as a lowered limit does). Those of
trashed nodes (paths ``#trash/<item id>…``, issue 17: the trash counts apart) add to
their trash item's ``size`` and their space's ``trash_bytes``, so that a purge frees
them and a restore charges them. ``davserver fsck`` checks the same figures
afterwards.
"""
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TRASH_PREFIX = "#trash/"  # of trashed nodes' paths (providers/trash.py, revision 0010)


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
                     sa.column('path', sa.Text), sa.column('dead_props', sa.Text),
                     sa.column('props_bytes', sa.BigInteger))
    found = bind.execute(sa.select(nodes.c.id, nodes.c.space_id, nodes.c.path,
                                   nodes.c.dead_props)
                         .where(nodes.c.dead_props.is_not(None))).all()
    live: dict[int, int] = {}
    trashed: dict[int, int] = {}
    by_item: dict[int, int] = {}
    for node_id, space_id, path, props in found:
        size = _bytes(props)
        if not size:
            continue
        bind.execute(sa.update(nodes).where(nodes.c.id == node_id).values(props_bytes=size))
        item = _trash_item(path)
        if item is None:
            live[space_id] = live.get(space_id, 0) + size
        else:
            trashed[space_id] = trashed.get(space_id, 0) + size
            by_item[item] = by_item.get(item, 0) + size
    if 'trash_items' in tables:
        items = sa.table('trash_items', sa.column('id', sa.Integer),
                         sa.column('size', sa.BigInteger))
        for item, size in by_item.items():
            bind.execute(sa.update(items).where(items.c.id == item)
                         .values(size=items.c.size + size))
    if 'space_usage' in tables:
        usage = sa.table('space_usage', sa.column('space_id', sa.Integer),
                         sa.column('used_bytes', sa.BigInteger),
                         sa.column('trash_bytes', sa.BigInteger))
        for space_id, size in live.items():
            bind.execute(sa.update(usage).where(usage.c.space_id == space_id)
                         .values(used_bytes=usage.c.used_bytes + size))
        for space_id, size in trashed.items():
            bind.execute(sa.update(usage).where(usage.c.space_id == space_id)
                         .values(trash_bytes=usage.c.trash_bytes + size))


def _trash_item(path: str) -> int | None:
    """The trash item a node belongs to (its path is ``#trash/<item id>`` or below
    it, ``providers/trash.py``), None for a live node."""
    if not path.startswith(TRASH_PREFIX):
        return None
    head = path[len(TRASH_PREFIX):].split("/", 1)[0]
    return int(head) if head.isdecimal() else None


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_column('props_bytes')
