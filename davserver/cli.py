"""``davserver`` command line: serve, demo, user management, people import, fsck.

Forms (relied on by people and scripts)::

    davserver serve [--config PATH] [--host HOST] [--port N]
    davserver demo [--host HOST] [--port N]
    davserver user add LOGIN --profile PROFILE [--name NAME] [--email E] --password-stdin
    davserver user list
    davserver user passwd LOGIN --password-stdin
    davserver user disable LOGIN
    davserver user signout LOGIN
    davserver auth throttle list [LOGIN] [--json] | reset LOGIN [--address A]
                                                 (see davserver/auth_cli.py)
    davserver app-password add LOGIN --label NAME | list LOGIN [--json] | revoke LOGIN ID
                                                 (see davserver/app_password_cli.py)
    davserver audit [--since D] [--until D] [--user LOGIN] [--place T] [--json]
    davserver audit purge [--older-than DAYS]    (see davserver/audit_cli.py)
    davserver import people FILE… [--school UAI|NAME] [--format F] [--passwords FILE]
        [--partial] [--strict] [--dry-run] [--json]   (see davserver/people_cli.py)
    davserver import timetable FILE [--school UAI] [--format auto|edt|udt|pronote|csv|ics]
        [--week-a DATE] [--partial] [--dry-run] [--json] [--year-start DATE --year-end DATE]
        [--holidays FILE.ics]
    davserver import holidays FILE [--school UAI] [--year LABEL] [--dry-run] [--json]
                                                 (both: davserver/timetable_cli.py)
    davserver fsck [--repair]
    davserver blobs migrate --to s3|local        (see davserver/blobs_cli.py)
    davserver school add|list|set ...           (see davserver/school_cli.py)
    davserver db status|upgrade|revision -m MSG  (see davserver/db_cli.py)
    davserver quota set|show|report ...          (see davserver/quota_cli.py)
    davserver rubric add|set|list|show|grant|revoke|invite|publish ...
    davserver invitation list|accept|decline ... (both: davserver/rubric_cli.py)
    davserver trash list|restore|purge ...       (see davserver/trash_cli.py)
    davserver versions list|restore|purge ...    (see davserver/versions_cli.py)
    davserver lock list|break ...                (see davserver/lock_cli.py)
    davserver uploads list|sweep                 (see davserver/uploads_cli.py)
    davserver notifications send | purge [--older-than DAYS] [--unread-too]
                                                 (davserver/notifications_cli.py)
    davserver archive textbooks --year LABEL [--school NAME] [--before-end] [--output DIR]
                                                 (see davserver/archive_cli.py)

Exit status: 0 success, 1 a finding (fsck) or a refused operation, 2 bad usage or
configuration.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import acl
from davserver import clock, journal
from davserver.config import Config, ConfigError, load_config
from davserver.db import SchemaMismatch, open_database
from davserver.errors import DomainError

if TYPE_CHECKING:
    from davserver.app import Application
    from web.notifications import OutboxSender

log = logging.getLogger("davserver")

def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="YAML configuration file (default: $DAVSERVER_CONFIG "
                        "or ./config.yaml)")
    parser = argparse.ArgumentParser(prog="davserver", description="ENT document server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve until SIGINT/SIGTERM", parents=[common])
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    demo = sub.add_parser("demo", help="create a demo school if absent, then serve",
                          parents=[common])
    demo.add_argument("--host", help="listen address (default 127.0.0.1; 0.0.0.0 to be "
                      "reached from the school's network)")
    demo.add_argument("--port", type=int)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action",
                                                                      required=True)
    add = user.add_parser("add", help="add a user", parents=[common])
    add.add_argument("login")
    add.add_argument("--profile", required=True, choices=[p.value for p in acl.Profile])
    add.add_argument("--name", default="")
    add.add_argument("--email")
    add.add_argument("--password-stdin", action="store_true", required=True)
    user.add_parser("list", help="list users", parents=[common])
    passwd = user.add_parser("passwd", help="change a password", parents=[common])
    passwd.add_argument("login")
    passwd.add_argument("--password-stdin", action="store_true", required=True)
    disable = user.add_parser("disable", help="disable a user (files are kept)",
                              parents=[common])
    disable.add_argument("login")
    signout = user.add_parser("signout", help="end every session of a user (browsers "
                              "and cached drive sign-ins)", parents=[common])
    signout.add_argument("login")

    quota = sub.add_parser("quota", help="space limits and usage").add_subparsers(
        dest="action", required=True)
    qset = quota.add_parser("set", help="set a limit", parents=[common])
    qset.add_argument("target", metavar="LOGIN|rubric:SLUG")
    qset.add_argument("size", metavar="SIZE", help="e.g. 1GiB, 800MB, 750 Mo, or 'default'")
    qshow = quota.add_parser("show", help="show usage and limit", parents=[common])
    qshow.add_argument("target", metavar="LOGIN|rubric:SLUG")
    qreport = quota.add_parser("report", help="table of every space", parents=[common])
    qreport.add_argument("--over", type=float, metavar="PERCENT",
                         help="only spaces filled above PERCENT of their limit")
    qreport.add_argument("--json", action="store_true", help="JSON for scripts")

    imports = sub.add_parser("import", help="bring in data from other software")
    import_actions = imports.add_subparsers(dest="action", required=True)
    people = import_actions.add_parser(
        "people", help="users, classes, groups, subjects, parents from AAF, SIECLE, ONDE, "
        "STS-web or CSV files (docs/admin.md: Importing people)", parents=[common])
    from davserver.people_cli import add_arguments as add_people_arguments
    add_people_arguments(people)
    _timetable_parser(import_actions, common)

    db = sub.add_parser("db", help="schema revision and migrations").add_subparsers(
        dest="action", required=True)
    db.add_parser("status", help="current revision and this version's head", parents=[common])
    db.add_parser("upgrade", help="create or migrate the schema now", parents=[common])
    revision = db.add_parser("revision", help="(developers) autogenerate the next revision",
                             parents=[common])
    revision.add_argument("-m", "--message", required=True)
    fsck = sub.add_parser("fsck", help="check the database against the blob store",
                          parents=[common])
    fsck.add_argument("--repair", action="store_true", help="fix what can be fixed")

    notes = sub.add_parser("notifications", help="e-mail of notifications").add_subparsers(
        dest="action", required=True)
    notes.add_parser("send", help="send the e-mails that are due, once (for a timer)",
                     parents=[common])
    purge = notes.add_parser("purge", help="delete old read notifications and their "
                             "e-mail copies", parents=[common])
    purge.add_argument("--older-than", type=int, default=180, metavar="DAYS",
                       help="created more than DAYS days ago (default 180)")
    purge.add_argument("--unread-too", action="store_true",
                       help="unread ones as well")

    from davserver.school_cli import add_parsers as add_school_parsers
    add_school_parsers(sub, common)
    from davserver.rubric_cli import add_parsers
    add_parsers(sub, common)
    from davserver.trash_cli import add_parsers as add_trash_parsers
    add_trash_parsers(sub, common)
    from davserver.versions_cli import add_parsers as add_versions_parsers
    add_versions_parsers(sub, common)
    from davserver.booking_cli import add_parsers as add_booking_parsers
    add_booking_parsers(sub, common)
    from davserver.archive_cli import add_parsers as add_archive_parsers
    add_archive_parsers(sub, common)
    from davserver.lock_cli import add_parsers as add_lock_parsers
    add_lock_parsers(sub, common)
    from davserver.blobs_cli import add_parsers as add_blobs_parsers
    add_blobs_parsers(sub, common)
    from davserver.uploads_cli import add_parsers as add_uploads_parsers
    add_uploads_parsers(sub, common)
    from davserver.auth_cli import add_parsers as add_auth_parsers
    add_auth_parsers(sub, common)
    from davserver.audit_cli import add_parsers as add_audit_parsers
    add_audit_parsers(sub, common)
    from davserver.app_password_cli import add_parsers as add_app_password_parsers
    add_app_password_parsers(sub, common)
    return parser


def _timetable_parser(imports: argparse._SubParsersAction,  # type: ignore[type-arg]
                      common: argparse.ArgumentParser) -> None:
    """``import timetable`` and ``import holidays`` beside ``import people`` (run by
    davserver/timetable_cli.py; defined here so that parsing imports nothing heavy)."""
    p = imports.add_parser("timetable", help="teaching services and lessons from a "
                           "timetable export (EDT, UDT, PRONOTE, CSV, iCalendar; "
                           "docs/admin.md: Importing the timetable)", parents=[common])
    p.add_argument("file", metavar="FILE")
    p.add_argument("--school", metavar="UAI", help="the school's UAI or name (default: "
                   "the only school)")
    p.add_argument("--format", choices=("auto", "edt", "udt", "pronote", "csv", "ics"),
                   default="auto", help="the file's format (default: detected from its "
                   "content)")
    p.add_argument("--week-a", type=date.fromisoformat, metavar="YYYY-MM-DD",
                   help="a day of a week A (kept for later imports; default: the year's "
                   "first week of classes)")
    p.add_argument("--partial", action="store_true", help="import the good records and "
                   "reject the bad ones (default: any bad record, import nothing)")
    p.add_argument("--strict", action="store_true", help="the default (kept for scripts)")
    p.add_argument("--dry-run", action="store_true", help="report, change nothing")
    p.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    p.add_argument("--year-start", type=date.fromisoformat, metavar="YYYY-MM-DD",
                   help="set the school year's first day (with --year-end)")
    p.add_argument("--year-end", type=date.fromisoformat, metavar="YYYY-MM-DD",
                   help="set the school year's last day")
    p.add_argument("--holidays", metavar="FILE.ics", help="replace the year's holiday "
                   "periods with those of an .ics file (else: `import holidays`)")
    h = imports.add_parser("holidays", help="the school year and its holidays from the "
                           "ministry's calendar (fr-en-calendrier-scolaire, JSON or .ics; "
                           "docs/admin.md: Holidays)", parents=[common])
    h.add_argument("file", metavar="FILE")
    h.add_argument("--school", metavar="UAI", help="the school's UAI or name (default: "
                   "the only school)")
    h.add_argument("--year", metavar="2025-2026", help="the school year to take (default: "
                   "the current one, or the next one once the current one is over)")
    h.add_argument("--dry-run", action="store_true", help="report, change nothing")
    h.add_argument("--json", action="store_true", help="the report as JSON on stdout")


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise DomainError("no password on standard input")
    return password


def cmd_user(config: Config, args: argparse.Namespace) -> int:
    """Run one ``user`` action; every change is journaled (``davserver audit``)."""
    db = open_database(config)
    try:
        with db.transaction() as s:
            if args.action == "add":
                p = acl.create_user(s, args.login, _read_password(), args.profile,
                                    display_name=args.name, email=args.email)
                print(f"added {p.login} ({p.profile.value})")
            elif args.action == "list":
                for p, disabled in acl.list_users(s):
                    state = "disabled" if disabled else "active"
                    print(f"{p.login}\t{p.profile.value}\t{state}\t{p.display_name}")
            elif args.action == "passwd":
                acl.set_password(s, args.login, _read_password())
                print(f"password changed for {args.login}; their sessions are ended")
            elif args.action == "disable":
                acl.disable_user(s, args.login)
                print(f"disabled {args.login}; their sessions are ended")
            elif args.action == "signout":
                count = acl.sign_out_everywhere(s, args.login)
                print(f"signed {args.login} out everywhere ({count} web session(s); "
                      "drives must sign in again)")
            if args.action != "list":
                found = acl.find_user(s, args.login)
                journal.record(s, journal.Kind.user_changed, target=args.login,
                               school_id=acl.school_of_user(s, found.id) if found else None,
                               details={"action": args.action})
    finally:
        db.dispose()
    return 0


def cmd_fsck(config: Config, args: argparse.Namespace) -> int:
    from davserver.app import create_app
    from providers import fsck

    app = create_app(config)
    try:
        report = fsck(app.store, repair=args.repair)
    finally:
        app.close()
    for line in report.lines():
        print(line)
    if report.clean:
        print("fsck: clean")
        return 0
    if report.bad_names:
        print("fsck: rename the files listed with a name no client can use (over WebDAV or "
              "in the browser); --repair cannot choose their new names")
    if report.needs_restore:
        print("fsck: restore the missing or damaged blob files from a backup "
              "(--repair leaves them as they are)")
    print("fsck: repaired" if args.repair else "fsck: problems found (run with --repair)")
    return 0 if args.repair and not (report.needs_restore or report.bad_names) else 1


# Blocks of this many bytes and more are mapped on their own and given back at free.
MMAP_THRESHOLD = 4 * 2**20
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def fix_mmap_threshold(nbytes: int = MMAP_THRESHOLD) -> bool:
    """Make glibc's malloc map blocks of ``nbytes`` and more on their own, so that
    ``free`` gives them back to the system. By default glibc raises that threshold to
    the largest block freed (up to 32 MiB): after the first password check, argon2's
    19 MiB buffers (OWASP's parameters, :mod:`acl.people`) came from malloc's
    arenas, which kept them, one per arena that ever served a check; a school
    morning's burst of sign-ins left three to five of them resident (issue 22,
    docs/development.md). Setting it turns that adjustment off. Returns False where
    the C library has no ``mallopt`` (not glibc) or refuses."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, nbytes))


def _serve(config: Config, *, banner: str = "") -> int:
    from davserver.app import create_app  # heavy
    from davserver.listener import Limits, Server

    if clock.shift():
        log.warning("the clock reads %s, %s from the wall clock (%s): for tests only",
                    clock.now().isoformat(timespec="seconds"), clock.shift(),
                    clock.SHIFT_VARIABLE)
    app = create_app(config)
    # What start-up made lives as long as the process: out of the collector's sight,
    # so that a full collection (a few ms with all of it) scans only request objects.
    gc.freeze()
    fix_mmap_threshold()
    server = Server((config.server.host, config.server.port), app.wsgi,
                    numthreads=config.server.threads, timeout=config.server.socket_timeout,
                    request_queue_size=config.server.listen_backlog,
                    shutdown_timeout=config.server.shutdown_timeout,
                    server_name="davserver",
                    limits=Limits(header_timeout=config.server.header_timeout,
                                  body_idle_timeout=config.server.body_idle_timeout,
                                  max_per_address=config.server.connection_cap))
    from davserver.drain import Drain

    Drain(server, app.health, config.server.drain_delay).install()
    try:
        server.prepare()
    except OSError as exc:
        app.close()
        print(f"davserver: cannot listen on {config.server.host}:{config.server.port}: "
              f"{exc.strerror or exc} (another server running? choose --port)", file=sys.stderr)
        return 1
    leftovers = _start_sweeper(app)
    host, port = server.bind_addr[:2]
    if host in ("0.0.0.0", "::"):  # every address: name one a client can type
        host = "<this machine's address>"
    print(f"davserver: serving on http://{host}:{port}/ (WebDAV: http://{host}:{port}/dav/)",
          flush=True)
    if banner:
        print(banner.replace("{url}", f"http://{host}:{port}/dav/"), flush=True)
    sender = _start_mail_sender(config, app)
    sweeper = _start_upload_sweeper(config, app)
    _resume_imports(app)
    try:
        server.serve()
    finally:
        leftovers.set()
        if sender is not None:
            sender.stop()
        if sweeper is not None:
            sweeper.stop()
        app.close()
        print("davserver: stopped", flush=True)
    return 0


def _sweep(app: Application) -> None:
    """Reclaim what uploads that died left: their reservations and temporary files
    (``Store.reclaim_leftovers``); logs what it found."""
    try:
        freed, removed = app.store.reclaim_leftovers()
    except Exception:  # the database may be away for a while: try again next time
        log.exception("could not reclaim the leftovers of ended uploads")
        return
    if freed or removed:
        log.info("uploads that ended without finishing: %d bytes of reservations given "
                 "back, %d temporary files removed", freed, removed)


def _start_sweeper(app: Application) -> threading.Event:
    """Sweep once now (before serving: a restart after a crash frees the space at
    once), then every lease's length, on a daemon thread; set the returned event to
    stop it."""
    _sweep(app)
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(app.store.lease_seconds):
            _sweep(app)

    threading.Thread(target=run, name="leftover-sweeper", daemon=True).start()
    return stop


def _start_upload_sweeper(config: Config, app: Application) -> Any:
    """The thread cancelling expired chunked uploads (``sync.upload_expiry``), every
    tenth of the expiry and at most every 10 minutes; None without ``sync.enabled``."""
    if not config.sync.enabled:
        return None
    from providers import uploads

    sweeper = uploads.Sweeper(app.store, min(600.0, config.sync.upload_expiry / 10))
    sweeper.start()
    return sweeper


def _resume_imports(app: Application) -> None:
    """Import what the schools' imports folders got while no server ran."""
    from web.imports import resume_drops

    try:
        resume_drops(app.web)
    except Exception:  # the server serves anyway; the files wait for the next start
        log.exception("cannot look for files left in the imports folders")


def _start_mail_sender(config: Config, app: Application) -> OutboxSender | None:
    """The background sender of notification e-mails when ``smtp.enabled`` (else None)."""
    if not config.smtp.enabled:
        return None
    from web.notifications import OutboxSender

    if not config.web.base_url:
        log.warning("smtp.enabled without web.base_url: e-mailed links are bare paths")
    sender = OutboxSender(app.db, config.smtp, config.web.base_url)
    sender.start()
    return sender


def cmd_demo(config: Config, args: argparse.Namespace) -> int:
    from davserver.demo import create_demo, demo_banner

    usable = create_demo(config)
    return _serve(config, banner=demo_banner(usable))


def _lazy(module: str, name: str) -> Callable[[Config, argparse.Namespace], int]:
    """A command whose module is imported only when it runs (start-up stays quick)."""
    def run(config: Config, args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(module), name)(config, args)  # type: ignore[no-any-return]
    return run


COMMANDS: dict[str, Callable[[Config, argparse.Namespace], int]] = {
    "serve": lambda config, _args: _serve(config),
    "demo": cmd_demo,
    "user": cmd_user,
    "fsck": cmd_fsck,
    "db": _lazy("davserver.db_cli", "cmd_db"),
    "quota": _lazy("davserver.quota_cli", "cmd_quota"),
    "school": _lazy("davserver.school_cli", "cmd_school"),
    "rubric": _lazy("davserver.rubric_cli", "cmd_rubric"),
    "invitation": _lazy("davserver.rubric_cli", "cmd_invitation"),
    "trash": _lazy("davserver.trash_cli", "cmd_trash"),
    "versions": _lazy("davserver.versions_cli", "cmd_versions"),
    "booking": _lazy("davserver.booking_cli", "cmd_booking"),
    "notifications": _lazy("davserver.notifications_cli", "cmd_notifications"),
    "archive": _lazy("davserver.archive_cli", "cmd_archive"),
    "lock": _lazy("davserver.lock_cli", "cmd_lock"),
    "blobs": _lazy("davserver.blobs_cli", "cmd_blobs"),
    "uploads": _lazy("davserver.uploads_cli", "cmd_uploads"),
    "auth": _lazy("davserver.auth_cli", "cmd_auth"),
    "audit": _lazy("davserver.audit_cli", "cmd_audit"),
    "app-password": _lazy("davserver.app_password_cli", "cmd_app_password"),
    "import": lambda config, args: IMPORTS[args.action](config, args),
}
IMPORTS: dict[str, Callable[[Config, argparse.Namespace], int]] = {
    "people": _lazy("davserver.people_cli", "cmd_import"),
    "timetable": _lazy("davserver.timetable_cli", "cmd_timetable"),
    "holidays": _lazy("davserver.timetable_cli", "cmd_holidays"),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
        if args.command in ("serve", "demo"):
            config = _override_listener(config, getattr(args, "host", None), args.port)
    except ConfigError as exc:
        print(f"davserver: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.logging.level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command not in ("serve", "demo"):
        journal.bind(via="cli", who=f"cli:{_system_user()}")
    try:
        return COMMANDS[args.command](config, args)
    except ConfigError as exc:  # found while assembling (e.g. web.locale)
        print(f"davserver: configuration error: {exc}", file=sys.stderr)
        return 2
    except SchemaMismatch as exc:
        print(f"davserver: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"davserver: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `davserver quota report | head`: the reader is gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _system_user() -> str:
    """Who runs this command (the journal's actor of administrative commands)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _override_listener(config: Config, host: str | None, port: int | None) -> Config:
    server = config.server.model_copy(update={
        k: v for k, v in (("host", host), ("port", port)) if v is not None
    })
    return config.model_copy(update={"server": server})


if __name__ == "__main__":
    sys.exit(main())
