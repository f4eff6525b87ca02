"""``davserver booking …``: set up resource booking (domains, resources, managers,
unavailability) for the school's IT staff and scripts.

Forms::

    davserver booking domain add NAME [--school NAME] [--opens HH:MM] [--closes HH:MM]
                                      [--weekdays 01234] [--slot MINUTES]
                                      [--profile P ...] [--manager LOGIN ...]
    davserver booking domain managers DOMAIN [--add LOGIN ...] [--remove LOGIN ...]
    davserver booking domain list
    davserver booking resource add DOMAIN NAME --kind place|equipment [--quantity N]
                                  [--capacity N] [--location TEXT] [--description TEXT]
                                  [--validation] [--max-duration MIN] [--min-notice MIN]
                                  [--max-notice DAYS] [--max-bookings N]
    davserver booking resource list [DOMAIN]
    davserver booking resource disable|enable ID
    davserver booking unavailable ID --from 'YYYY-MM-DD HH:MM' --until '…' [--reason T]
                                     --by LOGIN

``DOMAIN`` is a domain's number or exact name. Times are wall-clock in the school's
time zone. Every action is one transaction: an error changes nothing and exits 1 with
a message naming the wrong value.
"""

from __future__ import annotations

import argparse
from datetime import datetime, time
from typing import Any

import acl
from davserver.config import Config
from davserver.errors import BadRequest, NotFound


def _clock(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time of day (HH:MM): {text!r}") from None


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``booking`` command to the top-level subparsers."""
    booking = sub.add_parser("booking", help="resource domains and resources").add_subparsers(
        dest="target", required=True)
    domain = booking.add_parser("domain", help="resource domains").add_subparsers(
        dest="action", required=True)
    add = domain.add_parser("add", help="create a domain", parents=[common])
    add.add_argument("name")
    add.add_argument("--school", metavar="NAME", help="needed when there are several")
    add.add_argument("--opens", type=_clock, default=time(8), metavar="HH:MM")
    add.add_argument("--closes", type=_clock, default=time(18), metavar="HH:MM")
    add.add_argument("--weekdays", default="01234", help="0 = Monday … 6 = Sunday")
    add.add_argument("--slot", type=int, default=60, metavar="MINUTES")
    add.add_argument("--profile", action="append", default=[],
                     help=f"who may book: {', '.join(p.value for p in acl.Profile)}")
    add.add_argument("--manager", action="append", default=[], metavar="LOGIN")
    managers = domain.add_parser("managers", help="add or remove managers",
                                 parents=[common])
    managers.add_argument("domain")
    managers.add_argument("--add", action="append", default=[], metavar="LOGIN")
    managers.add_argument("--remove", action="append", default=[], metavar="LOGIN")
    domain.add_parser("list", help="every domain", parents=[common])

    resource = booking.add_parser("resource", help="bookable resources").add_subparsers(
        dest="action", required=True)
    radd = resource.add_parser("add", help="create a resource", parents=[common])
    radd.add_argument("domain")
    radd.add_argument("name")
    radd.add_argument("--kind", required=True, choices=["place", "equipment"])
    radd.add_argument("--quantity", type=int, default=1)
    radd.add_argument("--capacity", type=int)
    radd.add_argument("--location", default="")
    radd.add_argument("--description", default="")
    radd.add_argument("--validation", action="store_true",
                      help="bookings wait for a manager's validation")
    for flag, unit in (("--max-duration", "MIN"), ("--min-notice", "MIN"),
                       ("--max-notice", "DAYS"), ("--max-bookings", "N")):
        radd.add_argument(flag, type=int, metavar=unit)
    rlist = resource.add_parser("list", help="resources", parents=[common])
    rlist.add_argument("domain", nargs="?")
    for name in ("disable", "enable"):
        resource.add_parser(name, help=f"{name} a resource", parents=[common]).add_argument(
            "id", type=int)

    unavailable = booking.add_parser("unavailable", help="make a resource unavailable",
                                     parents=[common])
    unavailable.add_argument("id", type=int)
    unavailable.add_argument("--from", dest="start", required=True)
    unavailable.add_argument("--until", dest="end", required=True)
    unavailable.add_argument("--reason", default="")
    unavailable.add_argument("--by", required=True, metavar="LOGIN",
                             help="a manager of the resource's domain")


def cmd_booking(config: Config, args: argparse.Namespace) -> int:
    """Run one ``booking`` action; returns the exit status."""
    import web.booking  # noqa: F401  (its tables, before the schema check)
    from davserver.db import open_database

    db = open_database(config)
    try:
        with db.transaction() as s:
            if args.target == "domain":
                _domain(s, args)
            elif args.target == "resource":
                _resource(s, args)
            else:
                _unavailable(s, args)
        return 0
    finally:
        db.dispose()


def _school(s: Any, name: str | None) -> int:
    """The named school (``NotFound`` listing the schools: no typo makes a new one), else
    the deployment's only school (made on first use, as imports do)."""
    if name:
        return acl.find_school(s, name)
    return acl.import_school(s)[0]


def _domain(s: Any, args: argparse.Namespace) -> None:
    from web.booking import admin

    if args.action == "list":
        for d in admin.domains(s):
            profiles = ",".join(p.profile.value for p in d.profiles) or "-"
            managers = ",".join(u.login for u in d.managers) or "-"
            print(f"{d.id}\t{d.name}\t{d.opens:%H:%M}-{d.closes:%H:%M} days {d.weekdays}"
                  f"\tprofiles {profiles}\tmanagers {managers}")
        return
    if args.action == "add":
        hours = admin.Hours(args.opens, args.closes, args.weekdays, args.slot)
        d = admin.add_domain(s, _school(s, args.school), args.name, hours,
                             profiles=args.profile, managers=args.manager)
        print(f"added domain {d.id} ({d.name})")
        return
    d = admin.find_domain(s, args.domain)
    admin.set_managers(s, d, add=args.add, remove=args.remove)
    print(f"domain {d.id} managers: {','.join(u.login for u in d.managers) or '-'}")


def _resource(s: Any, args: argparse.Namespace) -> None:
    from web.booking import admin

    if args.action == "add":
        limits = admin.Limits(args.max_duration, args.min_notice, args.max_notice,
                              args.max_bookings)
        r = admin.add_resource(s, admin.find_domain(s, args.domain), args.name, args.kind,
                               quantity=args.quantity, capacity=args.capacity,
                               location=args.location, description=args.description,
                               needs_validation=args.validation, limits=limits)
        print(f"added resource {r.id} ({r.name}, quantity {r.quantity})")
    elif args.action == "list":
        chosen = [admin.find_domain(s, args.domain)] if args.domain else admin.domains(s)
        from web.booking.present import resources_of

        for d in chosen:
            for r in resources_of(s, d.id):
                state = "" if r.active else "\tdisabled"
                print(f"{r.id}\t{d.name}\t{r.name}\t{r.kind.value}\tquantity {r.quantity}"
                      f"{state}")
    else:
        r = admin.set_active(s, args.id, args.action == "enable")
        print(f"resource {r.id} ({r.name}) {'enabled' if r.active else 'disabled'}")


def _unavailable(s: Any, args: argparse.Namespace) -> None:
    from web.booking import Resource, access, add_unavailability

    resource = s.get(Resource, args.id)
    if resource is None:
        raise NotFound(f"no resource {args.id}")
    manager = acl.find_user(s, args.by, enabled_only=True)
    if manager is None:
        raise NotFound(f"no user {args.by!r}")
    tz = access.school_zone(s, resource.domain.school_id)
    try:
        start, end = (datetime.fromisoformat(v).replace(tzinfo=tz)
                      for v in (args.start, args.end))
    except ValueError as exc:
        raise BadRequest(f"not a date and time (YYYY-MM-DD HH:MM): {exc}") from None
    hit = add_unavailability(s, acl.user_context(s, manager.id), resource.id, start, end,
                             args.reason)
    print(f"resource {resource.id} unavailable; {len(hit)} booking(s) suspended")
    for b in hit:
        print(f"  suspended booking {b.id} ({b.start.astimezone(tz):%Y-%m-%d %H:%M})")
