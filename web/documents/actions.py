"""What the file manager does to files and folders: create a folder, rename, move,
copy, delete, each through the store, the quota ledger and ``acl`` exactly as the
WebDAV resources do (MKCOL, MOVE, COPY, DELETE), so nothing the browser allows is
refused over DAV or the other way round (issue 8).

Every refusal is a :class:`~web.documents.places.Refusal` with its HTTP status and
a French reason; nothing is changed before every check passed (each item of a
selection is one transaction of its own).
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from davserver.errors import DomainError, Forbidden, NotFound
from providers import (
    CONTROL_CHARACTER,
    MAX_NAME_BYTES,
    name_key,
    operations,
    path_key,
    validate_name,
    xml_safe,
)

from .places import Place, Refusal, refuse_if_locked, store


def check_name(raw: str) -> str:
    """A new member's name, trimmed, as written (never normalised: issue 17), by the
    DAV side's rule (``providers.names.validate_name``). Raises ``Refusal`` (400)
    saying what is wrong: empty, ``/``, a backslash, a control character,
    ``.``/``..``, more than 255 bytes of UTF-8."""
    name = raw.strip()
    if not name:
        raise Refusal(400, _("Donnez un nom."))
    shown = xml_safe(name)
    if "/" in name:
        raise Refusal(400, _("Un nom ne peut pas contenir « / » : « %(name)s ».", name=shown))
    if "\\" in name:
        raise Refusal(400, _("Un nom ne peut pas contenir de barre oblique inverse « \\ » : "
                             "Windows ne saurait pas l'ouvrir, et dans un zip elle crée un "
                             "dossier."))
    if CONTROL_CHARACTER.search(name):
        raise Refusal(400, _("Un nom ne peut pas contenir de caractère de contrôle "
                             "(tabulation, retour à la ligne…) : « %(name)s ».",
                             name=shown))
    if name in (".", ".."):
        raise Refusal(400, _("« %(name)s » n'est pas un nom possible.", name=name))
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise Refusal(400, _("Ce nom est trop long : %(size)d octets en UTF-8, %(max)d au "
                             "plus (les lettres accentuées comptent pour deux).",
                             size=size, max=MAX_NAME_BYTES))
    return validate_name(name)


def _must(place: Place, privilege: str, message: str, *, subtree: bool = False) -> None:
    """``privilege`` on ``place`` (and on all below it with ``subtree``), else
    ``Refusal`` 403 with ``message``."""
    try:
        if subtree:
            operations.require_subtree(store(), place.standing, privilege, place.node,
                                       place.chain)
        else:
            place.require(privilege)
    except (Forbidden, NotFound) as exc:
        raise Refusal(403, message) from exc


def _free(folder: Place, name: str, *, itself: int | None = None) -> str:
    """The space-relative path of ``name`` in ``folder``; ``Refusal`` 409 when taken
    (in any spelling, NFC or NFD), by something the user sees or not (a pending file
    of someone else's is never replaced unseen), unless by the node ``itself`` (a
    rename that only respells its name)."""
    path = folder.node.path + "/" + name
    found = store().resolve(folder.space.id, path)
    if found is not None and found.id != itself:
        raise Refusal(409, _("Le nom « %(name)s » est déjà pris dans ce dossier : "
                             "choisissez-en un autre.", name=name))
    return path


def make_folder(folder: Place, raw_name: str) -> str:
    """Create a folder in ``folder`` (MKCOL: ``bind`` on it). Returns its name."""
    _must(folder, "bind", _("Vous ne pouvez pas créer de dossier ici."))
    name = check_name(raw_name)
    refuse_if_locked(folder, whole=False)
    path = _free(folder, name)
    store().make_collection(folder.space.id, path, stamp=folder.stamp())
    return name


def rename(place: Place, raw_name: str) -> str:
    """Rename a file or folder in its folder (MOVE: ``unbind`` on it and all below,
    ``bind`` on its folder). No byte is copied. Returns the new name."""
    if len(place.nodes) == 1:
        raise Refusal(403, _("La racine d'un espace ne peut pas être renommée."))
    name = check_name(raw_name)
    if name == place.node.name:
        return name
    folder = place.parent()
    respelled = name_key(name) == name_key(place.node.name)
    _must(place, "unbind", _("Vous ne pouvez pas renommer « %(name)s ».", name=place.name),
          subtree=True)
    _must(folder, "bind", _("Vous ne pouvez pas renommer dans ce dossier."))
    refuse_if_locked(place)
    path = _free(folder, name, itself=place.node.id if respelled else None)
    store().move(place.node, folder.space.id, path)
    return name


def _not_inside(place: Place, target: Place, verb: str) -> None:
    if place.space.id == target.space.id and (
            (target.node.path + "/").startswith(place.node.path + "/")):
        raise Refusal(409, _("Impossible de %(verb)s « %(name)s » dans lui-même ou dans "
                             "un de ses sous-dossiers.", verb=verb, name=place.name))


def move(place: Place, target: Place) -> None:
    """Move a file or folder into the folder ``target``, in this space or another
    (MOVE: ``unbind`` on it and all below, ``bind`` on the target). Rows change, bytes
    do not; across spaces the target's quota is charged and what arrives takes the
    mover's stamp there (a writer's file waits for publication)."""
    if len(place.nodes) == 1:
        raise Refusal(403, _("La racine d'un espace ne peut pas être déplacée."))
    _not_inside(place, target, _("déplacer"))
    if target.space.id == place.space.id and target.node.id == place.node.parent_id:
        raise Refusal(409, _("« %(name)s » est déjà dans ce dossier.", name=place.name))
    _must(place, "unbind", _("Vous ne pouvez pas déplacer « %(name)s ».", name=place.name),
          subtree=True)
    _must(target, "bind", _("Vous ne pouvez rien ajouter dans « %(name)s ».",
                            name=target.name))
    refuse_if_locked(place)
    refuse_if_locked(target, whole=False)
    path = _free(target, place.node.name)
    gone = (operations.folder_ids(store(), place.space, place.node)
            if target.space.id != place.space.id else [])
    store().move(place.node, target.space.id, path, stamp=target.stamp())
    operations.drop_folder_grants(store(), gone)


def copy_name(folder: Place, name: str) -> str:
    """A free name for a copy of ``name`` in ``folder``: ``rapport (copie).pdf``, then
    ``rapport (copie 2).pdf``…"""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    else:
        ext = "." + ext
    for n in range(1, 1000):
        suffix = _(" (copie)") if n == 1 else _(" (copie %(n)d)", n=n)
        candidate = f"{stem}{suffix}{ext}"
        if len(candidate.encode("utf-8")) <= MAX_NAME_BYTES and store().resolve(
                folder.space.id, folder.node.path + "/" + candidate) is None:
            return candidate
    raise Refusal(409, _("Trop de copies de « %(name)s » dans ce dossier.", name=name))


FIRST_CANDIDATES = 8  # numbered names tried in the first query of numbered_path


def numbered_path(space_id: int, path: str) -> str:
    """The first free ``/a/rapport (2).pdf``, ``(3)``… next to the space-relative
    ``path``: the rule of "keep both" when restoring from the trash and when an upload
    meets a taken name (as file managers name a second copy). ``Refusal`` 409 after
    999 tries. The candidates are looked up together (:meth:`providers.Store.resolve_many`):
    one query when one of the first :data:`FIRST_CANDIDATES` is free, three at most."""
    head, _sep, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""
    candidates = []
    for n in range(2, 1000):
        candidate = f"{head}/{stem} ({n}){dot}{ext}"
        if len(candidate.rpartition("/")[2].encode("utf-8")) > MAX_NAME_BYTES:
            break
        candidates.append(candidate)
    # The first few in one query (the usual case: "(2)" is free), then the rest.
    for batch in (candidates[:FIRST_CANDIDATES], candidates[FIRST_CANDIDATES:]):
        taken = store().resolve_many(space_id, batch)
        for candidate in batch:
            if path_key(candidate) not in taken:
                return candidate
    raise Refusal(409, _("Plus aucun nom libre pour « %(name)s » dans ce dossier : "
                         "renommez-le.", name=name))


def set_publication(place: Place, published: bool) -> None:
    """Publish (``published``) or withdraw a rubric member, as a moderator does over
    WebDAV (``ent:publication-state``, ``providers.resources``) or with ``davserver
    rubric publish [--withdraw]``: the ``publish`` privilege on it (moderator or
    manager, of the rubric or of a folder above), else ``Refusal`` 403. Journaled
    by the store (``publish``/``withdraw`` events)."""
    if place.space.kind != "rubric" or len(place.nodes) == 1:
        raise Refusal(400, _("Seuls les fichiers et dossiers d'une rubrique se publient."))
    _must(place, "publish", _("Vous ne pouvez pas publier ni retirer « %(name)s » : "
                              "c'est le rôle des modérateurs de la rubrique.",
                              name=place.name))
    if place.node.published != published:
        store().set_published(place.node, published)


def copy(place: Place, target: Place) -> str:
    """Copy a file or folder (with what the user may read inside) into ``target``
    (COPY: ``read`` on it, ``bind`` on the target). Blobs are shared; the target's
    quota is charged the full size. A copy into the same folder is named
    "… (copie)". Returns the copy's name."""
    _not_inside(place, target, _("copier"))
    _must(place, "read", _("Vous ne pouvez pas copier « %(name)s ».", name=place.name))
    _must(target, "bind", _("Vous ne pouvez rien ajouter dans « %(name)s ».",
                            name=target.name))
    refuse_if_locked(target, whole=False)
    same_folder = target.space.id == place.space.id and target.node.id == place.node.parent_id
    name = copy_name(target, place.node.name) if same_folder else place.node.name
    path = _free(target, name)
    only = operations.readable_subtree(store(), place.standing, place.node, place.chain,
                                       recursive=True)
    store().copy(place.node, target.space.id, path, recursive=True, stamp=target.stamp(),
                 only=only)
    return name


def delete_item(place: Place) -> None:
    """Move a file or a folder with everything below it to its space's trash (DELETE:
    ``unbind`` on it and all below), as over WebDAV: the one place where the browser
    deletes. Grants of deleted rubric folders go too."""
    if len(place.nodes) == 1:
        raise Refusal(403, _("La racine d'un espace ne peut pas être supprimée."))
    _must(place, "unbind", _("Vous ne pouvez pas supprimer « %(name)s ».", name=place.name),
          subtree=True)
    refuse_if_locked(place)
    gone = operations.folder_ids(store(), place.space, place.node)
    store().delete(place.node, deleted_by=place.standing.user_id)
    operations.drop_folder_grants(store(), gone)


def for_each(items: list[Place], action: Callable[[Place], object]) -> \
        tuple[list[str], list[tuple[str, DomainError]]]:
    """Apply ``action`` to each item; returns the names done and, for the others,
    (name, the refusal). One refusal does not stop the rest."""
    done: list[str] = []
    refused: list[tuple[str, DomainError]] = []
    for item in items:
        try:
            action(item)
        except DomainError as exc:
            refused.append((item.name, exc))
        else:
            done.append(item.name)
    return done, refused
