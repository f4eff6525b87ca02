"""What the signed-in user may reach in this request: their spaces, the rubrics they
see, and their :class:`acl.Standing` in each space. Read once per request and kept
in the WSGI environ (``davserver.access``), so that a PROPFIND of a thousand members
asks the database about the user once.
"""

from __future__ import annotations

from typing import Any

import acl
from acl import Principal, RubricInfo, SpaceRef, Standing, UserContext

from .drop_folder import KIND as IMPORTS_KIND
from .drop_folder import drop_space
from .store import SpaceInfo, Store

PRINCIPAL_KEY = "davserver.principal"
ACCESS_KEY = "davserver.access"
URL_LOGIN_KEY = "davserver.url_login"
"""The login a sync app's URL names (``/remote.php/dav/files/<login>/``), if any."""


def owns_url(environ: dict[str, Any], principal: Principal) -> bool:
    """Is the login the URL names (if it names one) the signed-in user's own? A URL
    naming another user is nobody's drive: 404, whoever that user is."""
    login = environ.get(URL_LOGIN_KEY)
    return login is None or login == principal.login


class RequestAccess:
    """Per-request view of one principal's spaces (see the module docstring)."""

    def __init__(self, store: Store, principal: Principal) -> None:
        self.store = store
        self.principal = principal
        self._context: UserContext | None = None
        self._rubrics: dict[str, tuple[RubricInfo, Standing]] | None = None
        self._spaces: dict[str, SpaceInfo] = {}
        self._standings: dict[int, Standing] = {}
        self._logins: dict[int, str] = {}
        self._imports: dict[str, int] | None = None

    @classmethod
    def of(cls, store: Store, environ: dict[str, Any]) -> RequestAccess | None:
        """The request's access view (None when nobody is signed in)."""
        principal: Principal | None = environ.get(PRINCIPAL_KEY)
        if principal is None or not owns_url(environ, principal):
            return None
        access = environ.get(ACCESS_KEY)
        if access is None or access.principal is not principal:
            access = environ[ACCESS_KEY] = cls(store, principal)
        return access  # type: ignore[no-any-return]

    def forget(self) -> None:
        """Drop what a change in this request may have made stale (rubric list)."""
        self._rubrics = None

    # --- spaces ---------------------------------------------------------------

    def personal_space(self, kind: str) -> SpaceInfo:
        """The user's own space of ``kind`` (documents, binder), created on first use."""
        if kind not in self._spaces:
            space = self.store.ensure_space(kind, owner_id=self.principal.id,
                                            profile=self.principal.profile.value)
            self._spaces[kind] = space
            self._standings[space.id] = Standing(self.principal.id,
                                                 SpaceRef(kind, self.principal.id))
        return self._spaces[kind]

    def has_binder(self) -> bool:
        """Whether the user has a binder (classeur pédagogique): teachers only."""
        return acl.has_binder(self.principal.profile)

    def archive_space(self) -> SpaceInfo | None:
        """The archive space of the user's school when they read it (head, admin:
        :data:`acl.ARCHIVE_PROFILES`), else None (404)."""
        if "archive" not in self._spaces:
            if not acl.reads_school_archive(self.principal.profile):
                return None
            with self.store.db.transaction(write=False) as s:
                school_id = acl.school_of_user(s, self.principal.id)
            if school_id is None:
                return None
            space = self.store.ensure_space("archive", school_id=school_id)
            self._spaces["archive"] = space
            self._standings[space.id] = Standing(self.principal.id, SpaceRef("archive", None),
                                                 role=acl.Role.visitor)
        return self._spaces["archive"]

    def imports(self) -> dict[str, int]:
        """The schools whose imports folder the user reaches, UAI → school id
        (:func:`acl.administered_schools`: their administrators), read once."""
        if self._imports is None:
            with self.store.db.transaction(write=False) as s:
                found = acl.administered_schools(s, self.principal.id)
            self._imports = {uai: school_id for school_id, uai in found.items()}
        return self._imports

    def imports_space(self, uai: str) -> SpaceInfo | None:
        """The imports folder of the school of ``uai`` when the user manages its
        imports, else None (404: the folder of another school does not exist for
        them)."""
        key = "imports/" + uai
        if key not in self._spaces:
            school_id = self.imports().get(uai)
            if school_id is None:
                return None
            space = drop_space(self.store, school_id)
            self._spaces[key] = space
            self._standings[space.id] = Standing(self.principal.id,
                                                 SpaceRef(IMPORTS_KIND, None),
                                                 role=acl.Role.manager)
        return self._spaces[key]

    def rubrics(self) -> dict[str, tuple[RubricInfo, Standing]]:
        """Rubrics with shared folders that the user sees, by slug."""
        if self._rubrics is None:
            with self.store.db.transaction(write=False) as s:
                if self._context is None:
                    self._context = acl.user_context(s, self.principal.id)
                found = acl.visible_rubrics(s, self._context)
            self._rubrics = {info.slug: pair for pair in found for info in (pair[0],)}
        return self._rubrics

    def rubric_space(self, slug: str) -> SpaceInfo | None:
        """The space of a rubric the user sees, or None (unknown, or hidden from them:
        both are 404, STYLE.md habit 12)."""
        key = "rubric/" + slug
        if key not in self._spaces:
            pair = self.rubrics().get(slug)
            if pair is None:
                return None
            rubric, standing = pair
            space = self.store.ensure_space("rubric", rubric_id=rubric.id)
            self._spaces[key] = space
            self._standings[space.id] = standing
        return self._spaces[key]

    def standing(self, space: SpaceInfo) -> Standing:
        """The user's standing in a space reached in this request. A space not reached
        through this object (it should not happen) grants nothing."""
        found = self._standings.get(space.id)
        if found is None:
            return Standing(self.principal.id, SpaceRef(space.kind, space.owner_id))
        return found

    # --- names of authors -------------------------------------------------------

    def logins(self, user_ids: set[int]) -> dict[int, str]:
        """Logins of some users (authors shown in listings), one query for the
        ones not seen yet in this request."""
        missing = {u for u in user_ids if u not in self._logins}
        if missing:
            with self.store.db.transaction(write=False) as s:
                self._logins.update(acl.logins_of(s, missing))
        return {u: self._logins[u] for u in user_ids if u in self._logins}
