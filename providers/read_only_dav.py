"""What the read-only trees of ``/dav/`` share: the trash (``/dav/corbeille/``,
:mod:`.trash_dav`) and the versions (``/dav/versions/``, :mod:`.versions_dav`).

Their resources refuse every change with 403 and the tree's own message (RFC 4918
§9: a server may refuse any method on a resource; RFC 3744 §5.4: their
``current-user-privilege-set`` is ``read`` only), cannot be locked, and are named in
``If`` headers by a reference of their own (``/-<path>``), never by a file's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN, DAVError
from wsgidav.dav_provider import DAVCollection

from .live_props import PRIVILEGE_SET, QuotaReport, listed_names, privilege_set

if TYPE_CHECKING:
    from .dav import EntProvider


class ReadOnly:
    """Refusals of one resource of a read-only tree; ``read_only`` is the message of
    its 403s (the subclass's tree says what to do instead)."""

    environ: dict[str, Any]
    path: str
    read_only = "This folder is read-only."

    def get_ref_url(self) -> str:
        return "/-" + quote(self.path)

    def prevent_locking(self) -> bool:
        if self.environ.get("REQUEST_METHOD") == "LOCK":
            raise DAVError(HTTP_FORBIDDEN, self.read_only)
        return True

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> Any:
        raise DAVError(HTTP_FORBIDDEN, self.read_only)

    def set_last_modified(self, dest_path: str, time_stamp: Any, *, dry_run: bool) -> bool:
        raise DAVError(HTTP_FORBIDDEN, self.read_only)

    def handle_delete(self) -> bool:
        raise DAVError(HTTP_FORBIDDEN, self.read_only)

    def delete(self) -> None:
        raise DAVError(HTTP_FORBIDDEN, self.read_only)

    def handle_move(self, dest_path: str) -> bool:
        raise DAVError(HTTP_FORBIDDEN, self.read_only)


class ReadOnlyListing(ReadOnly, QuotaReport, DAVCollection):
    """A collection of a read-only tree: members resolved through the provider, no
    member made, COPY refused with ``copy_refusal`` (the tree's message by default),
    ``read`` as the only privilege. Its RFC 4331 figures are the user's
    porte-documents' (:class:`QuotaReport`) unless a subclass names a space."""

    provider: EntProvider
    copy_refusal: str | None = None

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def create_empty_resource(self, name: str) -> Any:
        raise DAVError(HTTP_FORBIDDEN, self.read_only)

    def create_collection(self, name: str) -> None:
        raise DAVError(HTTP_FORBIDDEN, self.read_only)

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        raise DAVError(HTTP_FORBIDDEN, self.copy_refusal or self.read_only)

    def get_property_names(self, *, is_allprop: bool) -> list[str]:
        return listed_names(super().get_property_names(is_allprop=is_allprop),
                            is_allprop=is_allprop, extra=[PRIVILEGE_SET])

    def get_property_value(self, name: str) -> Any:
        if name == PRIVILEGE_SET:
            return privilege_set(["read"])
        return super().get_property_value(name)
