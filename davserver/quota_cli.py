"""``davserver quota set|show|report``: limits and usage of spaces, for IT staff.

Sizes are bytes or ``500MiB``/``2GiB``/``500MB``/``500 Mo`` (see ``config.parse_size``);
``default`` removes an explicit limit. Percentages are of the limit in force.
"""

from __future__ import annotations

import argparse
import json

import acl
from davserver import journal
from davserver.app import create_app
from davserver.config import Config, parse_size
from davserver.errors import BadRequest, NotFound
from providers import SpaceInfo, Store
from quotas import Usage


def _human(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _space_of(store: Store, target: str) -> tuple[SpaceInfo, str]:
    """The documents space of LOGIN, or the space of rubric:SLUG."""
    if target.startswith("rubric:"):
        with store.db.transaction(write=False) as s:
            rubric = acl.get_rubric(s, target[7:])
        return store.ensure_space("rubric", rubric_id=rubric.id), f"{target} (dossiers partagés)"
    with store.db.transaction(write=False) as s:
        principal = acl.find_user(s, target)
    if principal is None:
        raise NotFound(f"no user {target!r}")
    space = store.ensure_space("documents", owner_id=principal.id,
                               profile=principal.profile.value)
    return space, f"{target} (porte-documents)"


def _row(label: str, space: SpaceInfo, figures: Usage) -> dict[str, object]:
    percent = 100.0 * figures.used / figures.limit if figures.limit else 100.0
    return {"space": label, "space_id": space.id, "kind": space.kind, "used": figures.used,
            "limit": figures.limit, "available": figures.available,
            "percent": round(percent, 1), "explicit_limit": figures.explicit}


def _print(row: dict[str, object], width: int = 40) -> None:
    """One space's line: its label left-aligned in ``width`` characters (the longest
    label of a report, so that its columns line up), used / limit, percent."""
    print(f"{str(row['space']):<{width}} {_human(int(row['used'])):>11} / "  # type: ignore[call-overload]
          f"{_human(int(row['limit'])):>11}"  # type: ignore[call-overload]
          f" {row['percent']:>6}%{'  (set)' if row['explicit_limit'] else ''}")


def cmd_quota(config: Config, args: argparse.Namespace) -> int:
    """Run one ``quota`` action; returns the exit status."""
    app = create_app(config)
    try:
        store = app.store
        if args.action == "report":
            return _report(store, args)
        space, label = _space_of(store, args.target)
        if args.action == "set":
            if args.size.strip().lower() == "default":
                limit = None
            else:
                try:
                    limit = parse_size(args.size)
                except ValueError as exc:
                    raise BadRequest(str(exc)) from exc
            store.set_limit(space.id, limit)
            journal.record_apart(store.db, journal.Kind.quota_changed, target=label,
                                 details={"limit_bytes": limit if limit is not None
                                          else "default"})
        figures = store.usage(space.id)
        if figures is None:
            raise NotFound(f"no usage ledger for {label}: run davserver fsck --repair")
        _print(_row(label, space, figures))
        return 0
    finally:
        app.close()


def _report(store: Store, args: argparse.Namespace) -> int:
    with store.db.transaction(write=False) as s:
        logins = {p.id: p.login for p, _disabled in acl.list_users(s)}
        slugs = {r.id: r.slug for r in acl.list_rubrics(s)}
    figures = store.all_usage()
    rows = []
    for space in store.spaces():
        if space.id not in figures:
            continue
        if space.kind == "rubric":
            label = f"rubric:{slugs.get(space.rubric_id or -1, '?')} (dossiers partagés)"
        else:
            label = f"{logins.get(space.owner_id or -1, '?')} ({space.kind})"
        usage = figures[space.id]
        exact = 100.0 * usage.used / usage.limit if usage.limit else 100.0
        if args.over is None or exact > args.over:
            rows.append(_row(label, space, usage))
    rows.sort(key=lambda r: -float(r["percent"]))  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        width = max([40, *(len(str(row["space"])) for row in rows)])
        print(f"{'space':<{width}} {'used':>11} / {'limit':>11} {'%':>7}")
        for row in rows:
            _print(row, width)
    return 0
