"""Dead properties: their limits, their size in the quota, and reading them lazily
(issue 18, finding 3).

A dead property (RFC 4918 §4.3: any property a client sets with PROPPATCH that the
server does not compute) is stored in ``nodes.dead_props`` as the XML of its element,
by Clark name. Its bytes are user data: they count in the space's usage like file
content. A property counts ``len(name) + len(value)`` bytes of UTF-8, and
``nodes.props_bytes`` keeps each node's total (:func:`total_bytes`), so that sums over
a subtree (delete, copy, move, purge, ``fsck``) are SQL sums, as for file sizes.

Limits (a client that needs more is storing files in properties):

* a name at most :data:`MAX_NAME_BYTES` (1 KiB);
* a value at most :data:`MAX_VALUE_BYTES` (64 KiB);
* one resource's dead properties at most :data:`MAX_NODE_BYTES` (1 MiB) in all.

Going over answers 507 (RFC 4918 §9.2.1: "the server did not have sufficient space to
record the property") with a message naming the limit; crossing the space's quota,
507 with ``DAV:quota-not-exceeded`` (RFC 4331 §6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from davserver.errors import DomainError

MAX_NAME_BYTES = 1024
MAX_VALUE_BYTES = 64 * 1024
MAX_NODE_BYTES = 1024 * 1024


class PropertyLimit(DomainError):
    """A property, or a resource's properties, over a size limit: 507, with no quota
    precondition (the space may have room; the resource may not hold more)."""

    status = 507


def entry_bytes(name: str, value: str) -> int:
    """Bytes one property counts: its Clark name and its XML, in UTF-8."""
    return len(name.encode("utf-8")) + len(value.encode("utf-8"))


def total_bytes(props: Mapping[str, str]) -> int:
    """Bytes a resource's dead properties count (``nodes.props_bytes``)."""
    return sum(entry_bytes(n, v) for n, v in props.items())


def check_entry(name: str, value: str | None) -> None:
    """Raise :class:`PropertyLimit` for a name or a value (None: a removal, any size)
    over its limit."""
    name_bytes = len(name.encode("utf-8"))
    if name_bytes > MAX_NAME_BYTES:
        raise PropertyLimit(f"A property name may have at most {MAX_NAME_BYTES} bytes "
                            f"(1 KiB); this one has {name_bytes}.")
    if value is not None:
        value_bytes = len(value.encode("utf-8"))
        if value_bytes > MAX_VALUE_BYTES:
            raise PropertyLimit(f"A property value may have at most {MAX_VALUE_BYTES} "
                                f"bytes (64 KiB); {name} has {value_bytes}.")


def patched(props: Mapping[str, str],
            changes: Mapping[str, str | None]) -> tuple[dict[str, str], int]:
    """``props`` with ``changes`` applied (a value sets, None removes), and its size in
    bytes. Raises :class:`PropertyLimit` when an entry, or the whole, is over its
    limit."""
    result = dict(props)
    for name, value in changes.items():
        check_entry(name, value)
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    size = total_bytes(result)
    if size > MAX_NODE_BYTES:
        raise PropertyLimit(f"A resource's dead properties may hold at most "
                            f"{MAX_NODE_BYTES} bytes (1 MiB) in all; these changes would "
                            f"make {size}.")
    return result, size


class DeadProps(Mapping[str, str]):
    """A node's dead properties, read from the database when first looked at (one
    query), then kept. ``nbytes`` is their size (``nodes.props_bytes``), known without
    reading them: a listing never loads the properties of every member at once."""

    __slots__ = ("_data", "_load", "nbytes", "node_id")

    def __init__(self, node_id: int, nbytes: int,
                 load: Callable[[int], dict[str, str]]) -> None:
        self.node_id = node_id
        self.nbytes = nbytes
        self._load = load
        self._data: dict[str, str] | None = None

    def _props(self) -> dict[str, str]:
        if self._data is None:
            self._data = self._load(self.node_id)
        return self._data

    def __getitem__(self, name: str) -> str:
        return self._props()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._props())

    def __len__(self) -> int:
        return len(self._props())

    def __contains__(self, name: object) -> bool:
        return name in self._props()

    def __repr__(self) -> str:
        return f"DeadProps(node {self.node_id}, {self.nbytes} bytes)"


def size_of(props: Mapping[str, str]) -> int:
    """Bytes of a node's dead properties, without reading lazy ones."""
    if isinstance(props, DeadProps):
        return props.nbytes
    return total_bytes(props)
