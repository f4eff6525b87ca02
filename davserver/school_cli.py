"""``davserver school …``: the schools (établissements) a deployment serves.

Forms::

    davserver school add NAME --uai UAI [--zone A|B|C] [--time-zone TZ]
    davserver school list [--json]
    davserver school set UAI|NAME [--name NAME] [--uai UAI] [--zone A|B|C|none]
                                  [--time-zone TZ]

The UAI is checked (seven digits and its check letter, :mod:`acl.schools`). Other
commands (``import``, ``rubric add``, ``booking domain add``...) name a school by its
UAI or its name with ``--school``. Each action is one transaction: an error (bad UAI,
zone or time zone, a UAI or name already taken, an unknown school) changes nothing
and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

import acl
from davserver.config import Config
from davserver.db import open_database


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``school`` command to the top-level subparsers."""
    school = sub.add_parser("school", help="the schools this server serves").add_subparsers(
        dest="action", required=True)
    add = school.add_parser("add", help="add a school", parents=[common])
    add.add_argument("name")
    add.add_argument("--uai", required=True, help="the school's national code "
                     "(7 digits and a check letter, e.g. 0750654D)")
    add.add_argument("--zone", metavar="A|B|C", help="holiday zone (mainland France)")
    add.add_argument("--time-zone", default=acl.schools.DEFAULT_TIME_ZONE,
                     help="IANA time zone (default Europe/Paris)")
    listing = school.add_parser("list", help="every school", parents=[common])
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    change = school.add_parser("set", help="change a school", parents=[common])
    change.add_argument("school", metavar="UAI|NAME")
    change.add_argument("--name")
    change.add_argument("--uai", help="a corrected UAI")
    change.add_argument("--zone", metavar="A|B|C|none")
    change.add_argument("--time-zone")


def _line(info: acl.SchoolInfo) -> str:
    return (f"{info.uai or '-'}\t{info.name}\tzone {info.holiday_zone or '-'}\t"
            f"{info.time_zone}")


def cmd_school(config: Config, args: argparse.Namespace) -> int:
    """Run one ``school`` action; returns the exit status (module docstring)."""
    db = open_database(config)
    try:
        with db.transaction(write=args.action != "list") as s:
            if args.action == "list":
                schools = acl.list_schools(s)
                if args.json:
                    print(json.dumps([asdict(i) for i in schools], ensure_ascii=False,
                                     indent=2))
                else:
                    for info in schools:
                        print(_line(info))
                return 0
            if args.action == "add":
                info = acl.add_school(s, args.name, uai=args.uai, zone=args.zone,
                                      time_zone=args.time_zone)
                print(f"added school {info.label()}")
                return 0
            clear = args.zone is not None and args.zone.strip().lower() == "none"
            info = acl.set_school(s, args.school, name=args.name, uai=args.uai,
                                  zone=None if clear else args.zone, clear_zone=clear,
                                  time_zone=args.time_zone)
            print(f"school {info.label()}: zone {info.holiday_zone or 'none'}, "
                  f"time zone {info.time_zone}")
            return 0
    finally:
        db.dispose()
