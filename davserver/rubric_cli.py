"""``davserver rubric …`` and ``davserver invitation …``: rubrics, their grants,
invitations and publication, for IT staff and scripts.

Forms::

    davserver rubric add SLUG --name NAME [--parent SLUG] [--no-inherit] [--no-shared-folders]
    davserver rubric set SLUG [--parent SLUG | --top] [--inherit | --no-inherit]
                              [--shared-folders | --no-shared-folders]
    davserver rubric list
    davserver rubric show SLUG
    davserver rubric grant SLUG ROLE (--user LOGIN | [--group G] [--profile P] [--subject S]
                                      | --everyone) [--folder PATH]
    davserver rubric revoke SLUG [ROLE] (same holder options) [--folder PATH]
    davserver rubric invite SLUG ROLE LOGIN [--by LOGIN] [--days N]
    davserver rubric publish SLUG PATH [--withdraw]
    davserver invitation list LOGIN
    davserver invitation accept|decline ID --as LOGIN

``PATH`` is a folder or file of the rubric's space, like ``/Comptes rendus``.
Every change is one transaction: an error (unknown rubric, user, group, subject or
profile; a cycle in the tree) changes nothing and exits with status 1.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import acl
from davserver.config import Config
from davserver.errors import BadRequest, NotFound

if TYPE_CHECKING:  # the app is assembled only when a command runs (quick --help)
    from davserver.app import Application
    from providers import SpaceInfo

ROLES = [r.value for r in acl.Role]


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``rubric`` and ``invitation`` commands to the top-level subparsers."""
    rubric = sub.add_parser("rubric", help="rubrics, grants, invitations").add_subparsers(
        dest="action", required=True)
    add = rubric.add_parser("add", help="create a rubric", parents=[common])
    add.add_argument("slug")
    add.add_argument("--name", required=True)
    add.add_argument("--parent", metavar="SLUG")
    add.add_argument("--school", metavar="NAME")
    add.add_argument("--no-inherit", action="store_true",
                     help="do not inherit the parent's grants")
    add.add_argument("--no-shared-folders", action="store_true")
    set_ = rubric.add_parser("set", help="change a rubric", parents=[common])
    set_.add_argument("slug")
    where = set_.add_mutually_exclusive_group()
    where.add_argument("--parent", metavar="SLUG")
    where.add_argument("--top", action="store_true", help="no parent")
    set_.add_argument("--inherit", action=argparse.BooleanOptionalAction, default=None)
    set_.add_argument("--shared-folders", action=argparse.BooleanOptionalAction,
                      default=None)
    rubric.add_parser("list", help="every rubric", parents=[common])
    show = rubric.add_parser("show", help="who holds what", parents=[common])
    show.add_argument("slug")
    for name, helptext in (("grant", "give a role"), ("revoke", "take a role back")):
        cmd = rubric.add_parser(name, help=helptext, parents=[common])
        cmd.add_argument("slug")
        cmd.add_argument("role", choices=ROLES, nargs=None if name == "grant" else "?")
        cmd.add_argument("--user", metavar="LOGIN")
        cmd.add_argument("--group", metavar="NAME", help="a group or class")
        # Not argparse choices: an unknown profile is refused like an unknown group or
        # subject (exit status 1, a message naming it), as the module docstring says.
        cmd.add_argument("--profile", metavar="PROFILE",
                         help=f"one of {', '.join(p.value for p in acl.Profile)}")
        cmd.add_argument("--subject", metavar="CODE")
        cmd.add_argument("--everyone", action="store_true", help="everyone in the school")
        cmd.add_argument("--folder", metavar="PATH", help="a folder of the rubric's space")
    invite = rubric.add_parser("invite", help="invite a user to a role", parents=[common])
    invite.add_argument("slug")
    invite.add_argument("role", choices=ROLES)
    invite.add_argument("login")
    invite.add_argument("--by", metavar="LOGIN")
    invite.add_argument("--days", type=int, default=14, help="validity (default 14)")
    publish = rubric.add_parser("publish", help="publish a file or folder",
                                parents=[common])
    publish.add_argument("slug")
    publish.add_argument("path")
    publish.add_argument("--withdraw", action="store_true", help="back to pending")

    inv = sub.add_parser("invitation", help="answer invitations").add_subparsers(
        dest="action", required=True)
    inv.add_parser("list", help="a user's invitations", parents=[common]).add_argument("login")
    for name in ("accept", "decline"):
        cmd = inv.add_parser(name, help=f"{name} an invitation", parents=[common])
        cmd.add_argument("id", type=int)
        cmd.add_argument("--as", dest="login", required=True, metavar="LOGIN")


def _holder(s: Any, rubric: acl.RubricInfo,
            args: argparse.Namespace) -> tuple[str | None, acl.Population | None]:
    """(login, None) or (None, population) from the holder options."""
    parts = (args.group, args.profile, args.subject)
    if args.user is not None:
        if any(p is not None for p in parts) or args.everyone:
            raise BadRequest("--user cannot be combined with --group/--profile/--subject")
        return args.user, None
    if args.everyone and any(p is not None for p in parts):
        raise BadRequest("--everyone cannot be combined with --group/--profile/--subject")
    if not args.everyone and all(p is None for p in parts):
        if args.action == "revoke":
            return None, None
        raise BadRequest("say who: --user, --group/--profile/--subject, or --everyone")
    return None, acl.population(s, rubric.school_id, group=args.group,
                                profile=args.profile, subject=args.subject)


def _space(app: Application, rubric: acl.RubricInfo) -> SpaceInfo:
    return app.store.ensure_space("rubric", rubric_id=rubric.id)


def _folder_id(app: Application, rubric: acl.RubricInfo, path: str | None) -> int | None:
    if path is None:
        return None
    rel = "/" + path.strip("/") if path.strip("/") else ""
    node = app.store.resolve(_space(app, rubric).id, rel)
    if node is None or not node.is_collection:
        raise NotFound(f"no folder {path!r} in rubric {rubric.slug!r}")
    return node.id


def cmd_rubric(config: Config, args: argparse.Namespace) -> int:
    """Run one ``rubric`` action; returns the exit status."""
    from davserver.app import create_app
    from web import notify_invitation

    app = create_app(config)
    try:
        if args.action in ("add", "set", "list"):
            return _tree(app, args)
        with app.db.transaction(write=False) as s:
            rubric = acl.get_rubric(s, args.slug)
        if args.action == "show":
            return _show(app, rubric)
        if args.action == "publish":
            return _publish(app, rubric, args)
        folder = _folder_id(app, rubric, getattr(args, "folder", None))
        with app.db.transaction() as s:
            if args.action == "invite":
                inv = acl.invite(s, rubric.slug, args.role, args.login, invited_by=args.by,
                                 validity=timedelta(days=args.days))
                notify_invitation(s, inv, args.by)  # create_app set the e-mail switch
                print(f"invitation #{inv.id}: {inv.login} as {inv.role.value} on "
                      f"{rubric.slug}, until {inv.expires:%Y-%m-%d %H:%M} UTC")
                return 0
            login, pop = _holder(s, rubric, args)
            if args.action == "grant":
                done = acl.grant(s, rubric.slug, args.role, user=login, pop=pop,
                                 folder_node_id=folder)
                print("granted" if done else "already granted")
            else:
                count = acl.revoke(s, rubric.slug, args.role, user=login, pop=pop,
                                   folder_node_id=folder)
                print(f"revoked {count} grant(s)")
        return 0
    finally:
        app.close()


def _tree(app: Application, args: argparse.Namespace) -> int:
    with app.db.transaction() as s:
        if args.action == "list":
            parents = {r.id: r.slug for r in acl.list_rubrics(s)}
            for r in acl.list_rubrics(s):
                under = f" (under {parents[r.parent_id]})" if r.parent_id else ""
                print(f"{r.slug}\t{r.name}{under}\t{','.join(r.services) or '-'}")
            return 0
        if args.action == "add":
            school = None
            if args.school:
                school = acl.find_school(s, args.school)
            services = [] if args.no_shared_folders else [acl.Service.shared_folders.value]
            r = acl.add_rubric(s, args.slug, args.name, parent=args.parent, school_id=school,
                               inherit_grants=not args.no_inherit, services=services)
            print(f"added rubric {r.slug} ({r.name})")
            return 0
        if args.top or args.parent:
            acl.set_parent(s, args.slug, None if args.top else args.parent)
        switched = None
        if args.shared_folders is not None:
            switched = [acl.Service.shared_folders.value] if args.shared_folders else []
        r = acl.configure(s, args.slug, inherit_grants=args.inherit, services=switched)
        print(f"rubric {r.slug}: inherit={'yes' if r.inherit_grants else 'no'}, "
              f"services={','.join(r.services) or '-'}")
    return 0


def _show(app: Application, rubric: acl.RubricInfo) -> int:
    with app.db.transaction(write=False) as s:
        grants = acl.grants_of(s, rubric.slug)
        parent = acl.rubric_by_id(s, rubric.parent_id) if rubric.parent_id else None
    folders: dict[int, str] = {}
    if any(g.folder_node_id for g in grants):
        space = _space(app, rubric)
        root = app.store.resolve(space.id, "")
        if root is not None:
            folders = {n.id: n.written_path for n in app.store.descendants(root)}
    print(f"{rubric.slug}: {rubric.name}")
    if parent is not None:
        print(f"  under {parent.slug}; inherits its grants: "
              f"{'yes' if rubric.inherit_grants else 'no'}")
    print(f"  services: {', '.join(rubric.services) or 'none'}")
    if not grants:
        print("  no grants")
    for g in grants:
        where = ""
        if g.folder_node_id is not None:
            where = f"  on folder {folders.get(g.folder_node_id, '(deleted folder)')}"
        print(f"  {g.role.value:<10} {g.holder}{where}")
    return 0


def _publish(app: Application, rubric: acl.RubricInfo, args: argparse.Namespace) -> int:
    rel = "/" + args.path.strip("/") if args.path.strip("/") else ""
    node = app.store.resolve(_space(app, rubric).id, rel)
    if node is None or rel == "":
        raise NotFound(f"no file or folder {args.path!r} in rubric {rubric.slug!r}")
    app.store.set_published(node, not args.withdraw)
    print(f"{rubric.slug}{rel}: {'pending' if args.withdraw else 'published'}")
    return 0


def cmd_invitation(config: Config, args: argparse.Namespace) -> int:
    """Run one ``invitation`` action; returns the exit status."""
    from davserver.app import create_app

    app = create_app(config)
    try:
        with app.db.transaction() as s:
            if args.action == "list":
                for inv in acl.invitations_for(s, args.login):
                    print(f"#{inv.id}\t{inv.rubric_slug}\t{inv.role.value}\t"
                          f"{inv.status.value}\tuntil {inv.expires:%Y-%m-%d}")
                return 0
            inv = acl.answer(s, args.id, args.login, accept=args.action == "accept")
            print(f"invitation #{inv.id} {inv.status.value}")
        return 0
    finally:
        app.close()
