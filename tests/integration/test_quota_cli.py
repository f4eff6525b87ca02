"""``davserver quota set|show|report`` and ``davserver fsck``, as IT staff run them
next to a running server (issue 3, "Limits" and "Consistency").

Every command runs in a separate process on the server's own data (database and blob
directory), and what it changes is checked where clients see it: the RFC 4331
properties over HTTP, and 507 on PUT. Each test uses its own users, so that the
order of the tests does not matter (``alice``, of the ``server`` fixture, is only used
by the two tests that set and reset her limit).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from sqlalchemy import text

import acl
from davserver.db import Database
from tests.conftest import Server

DAV = "{DAV:}"
MIB = 2**20
GIB = 2**30
DEFAULT_LIMIT = 500 * MIB  # config.yaml `quotas.documents: 500MiB` ("500 Mo")
QUOTA_PROPFIND = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
                  "<D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>")


# --- helpers -------------------------------------------------------------------------


def new_user(server: Server, prefix: str, profile: str = "teacher") -> str:
    login = f"{prefix}.{uuid.uuid4().hex[:6]}"
    server.add_user(login, profile=profile)
    return login


def quota_cli(server: Server, *args: str) -> Any:
    """``davserver quota ...`` that must succeed; returns the completed process."""
    done = server.cli("quota", *args, check=False)
    assert done.returncode == 0, (args, done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def refused(server: Server, *args: str) -> Any:
    """A command that must fail cleanly: non-zero status, a message, no traceback."""
    done = server.cli(*args, check=False)
    assert done.returncode != 0, (args, done.stdout)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip(), f"{args}: no message on stderr"
    return done


def report(server: Server, *extra: str) -> dict[str, dict[str, Any]]:
    """``quota report --json`` as label → row (labels: ``LOGIN (documents)``)."""
    done = quota_cli(server, "report", "--json", *extra)
    rows = json.loads(done.stdout)
    assert isinstance(rows, list)
    return {row["space"]: row for row in rows}


def row_of(server: Server, login: str) -> dict[str, Any]:
    rows = report(server)
    assert f"{login} (documents)" in rows, sorted(rows)
    return rows[f"{login} (documents)"]


def quota_props(server: Server, login: str) -> tuple[int, int]:
    """(quota-used-bytes, quota-available-bytes) of the user's porte-documents."""
    response = server.session(login).request(
        "PROPFIND", server.documents_url + "/", data=QUOTA_PROPFIND,
        headers={"Depth": "0", "Content-Type": "application/xml"}, timeout=30)
    assert response.status_code == 207, (response.status_code, response.text[:300])
    values = {}
    root = ET.fromstring(response.content)
    for name in ("quota-used-bytes", "quota-available-bytes"):
        found = root.findtext(f".//{DAV}prop/{DAV}{name}")
        assert found is not None and re.fullmatch(r"\d+", found.strip()), (name, found)
        values[name] = int(found)
    return values["quota-used-bytes"], values["quota-available-bytes"]


def put(server: Server, login: str, name: str, nbytes: int) -> int:
    """PUT ``nbytes`` (Content-Length known) at the top of the user's porte-documents."""
    response = server.session(login).put(f"{server.documents_url}/{name}",
                                         data=b"q" * nbytes, timeout=60)
    return response.status_code


def database(server: Server) -> Database:
    """The server's own database, opened beside it (SQLite file or PostgreSQL)."""
    url = server.env.get("DAVSERVER_DATABASE_URL") or (
        f"sqlite:///{(server.data_dir / 'davserver.sqlite3').resolve()}")
    return Database(url)


# --- quota set / show ------------------------------------------------------------------


def test_set_then_show_the_limit(server: Server) -> None:
    login = "alice"
    done = quota_cli(server, "set", login, "1GiB")
    assert login in done.stdout and "1.0 GiB" in done.stdout
    shown = quota_cli(server, "show", login).stdout
    assert login in shown and "1.0 GiB" in shown and "(set)" in shown
    row = row_of(server, login)
    assert (row["limit"], row["used"], row["explicit_limit"]) == (GIB, 0, True)
    # the running server answers with the new limit at once
    assert quota_props(server, login) == (0, GIB)


def test_default_restores_500_mib(server: Server) -> None:
    login = "alice"
    quota_cli(server, "set", login, "1GiB")
    done = quota_cli(server, "set", login, "default")
    assert "500.0 MiB" in done.stdout
    shown = quota_cli(server, "show", login).stdout
    assert "500.0 MiB" in shown and "(set)" not in shown
    row = row_of(server, login)
    assert (row["limit"], row["explicit_limit"]) == (DEFAULT_LIMIT, False)
    assert quota_props(server, login) == (0, DEFAULT_LIMIT)


@pytest.mark.parametrize(("size", "limit"), [
    ("800MB", 800_000_000),          # decimal
    ("750 Mo", 750 * MIB),           # French school practice: Mo = MiB
    ("1048576", 1_048_576),          # plain bytes
    ("2GiB", 2 * GIB),
    ("500MiB", DEFAULT_LIMIT),       # the default's value, but explicit
])
def test_sizes_with_units(server: Server, size: str, limit: int) -> None:
    login = new_user(server, "size")
    quota_cli(server, "set", login, size)
    row = row_of(server, login)
    assert (row["limit"], row["explicit_limit"]) == (limit, True)
    assert quota_props(server, login) == (0, limit)


BAD_SIZES = ["12 parsecs", "", "GiB", "1,5 Go", "-5MiB", "many"]


def test_bad_sizes_are_refused_and_change_nothing(server: Server) -> None:
    login = new_user(server, "bad")
    quota_cli(server, "set", login, "3MiB")
    for size in BAD_SIZES:
        done = refused(server, "quota", "set", login, "--", size)  # "--": "-5MiB" is no option
        assert done.returncode == 1, (size, done.returncode)
        message = done.stderr
        assert "not a size" in message and repr(size) in message, (size, message)
        assert "MiB" in message, f"no example of a valid size: {message}"
    row = row_of(server, login)
    assert (row["limit"], row["explicit_limit"]) == (3 * MIB, True)


@pytest.mark.parametrize("size", ["99999999TiB", "10000000000000000000"])
def test_size_beyond_what_the_ledger_holds_is_refused_cleanly(server: Server, size: str) -> None:
    """A limit above the ledger's 64-bit column (2**63 - 1 bytes, 8 EiB) cannot be
    stored: a message, not a traceback, and the limit unchanged."""
    login = new_user(server, "huge")
    quota_cli(server, "set", login, "3MiB")
    done = server.cli("quota", "set", login, size, check=False)
    assert done.returncode == 1, (done.returncode, done.stdout)
    assert "Traceback" not in done.stderr, done.stderr[-600:]
    assert size in done.stderr, done.stderr
    row = row_of(server, login)
    assert (row["limit"], row["explicit_limit"]) == (3 * MIB, True)


@pytest.mark.parametrize("size", ["12 parsecs", "99999999TiB"])
def test_bad_default_size_in_the_configuration_is_refused(server: Server, size: str) -> None:
    """A default limit that is no size, or that no ledger row can hold, stops every
    command at start-up with a configuration error naming the key (exit 2), instead
    of failing later on every quota query."""
    env = {**server.env, "DAVSERVER_QUOTAS__DOCUMENTS": size}
    done = subprocess.run([sys.executable, "-m", "davserver.cli", "quota", "show", "alice"],
                          env=env, text=True, capture_output=True, timeout=120, check=False)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr[-600:])
    assert "Traceback" not in done.stderr, done.stderr[-600:]
    assert "quotas.documents" in done.stderr and "configuration error" in done.stderr


def test_unknown_login_is_refused(server: Server) -> None:
    for args in (("set", "nobody.here", "1GiB"), ("show", "nobody.here")):
        done = refused(server, "quota", *args)
        assert done.returncode == 1
        assert "nobody.here" in done.stderr and "no user" in done.stderr, done.stderr
    assert "nobody.here (documents)" not in report(server)


def test_unknown_rubric_is_refused_with_a_clear_message(server: Server) -> None:
    before = report(server)
    for args in (("set", "rubric:cdi", "1GiB"), ("show", "rubric:cdi")):
        done = refused(server, "quota", *args)
        assert done.returncode == 1
        assert "no rubric 'cdi'" in done.stderr, done.stderr
    assert report(server) == before  # nothing was created


def test_a_rubric_space_has_the_rubric_default_and_takes_a_limit(server: Server) -> None:
    server.cli("user", "add", "cdi.manager", "--profile", "staff", "--password-stdin",
               stdin="long-password-1\n")
    with server.transaction() as s:
        acl.add_rubric(s, "cdi-quota", "CDI", school_id=acl.ensure_school(s, "Collège"))
    shown = server.cli("quota", "show", "rubric:cdi-quota").stdout
    assert "rubric:cdi-quota" in shown and "2.0 GiB" in shown, shown
    server.cli("quota", "set", "rubric:cdi-quota", "3GiB")
    shown = server.cli("quota", "show", "rubric:cdi-quota").stdout
    assert "3.0 GiB" in shown and "(set)" in shown, shown
    assert "rubric:cdi-quota (dossiers partagés)" in report(server)


# --- quota report ------------------------------------------------------------------------


def test_report_lists_spaces_with_used_limit_and_percent(server: Server) -> None:
    half = new_user(server, "half")
    full = new_user(server, "full", profile="student")
    for login in (half, full):
        quota_cli(server, "set", login, "100000")
    assert put(server, half, "a.bin", 30_000) == 201
    assert put(server, half, "b.bin", 20_000) == 201
    assert put(server, full, "big.bin", 95_000) == 201

    rows = report(server)
    assert {k: rows[f"{half} (documents)"][k] for k in
            ("used", "limit", "available", "percent", "explicit_limit", "kind")} == {
        "used": 50_000, "limit": 100_000, "available": 50_000, "percent": 50.0,
        "explicit_limit": True, "kind": "documents"}
    assert {k: rows[f"{full} (documents)"][k] for k in ("used", "limit", "available",
                                                         "percent")} == {
        "used": 95_000, "limit": 100_000, "available": 5_000, "percent": 95.0}
    # the same figures as the RFC 4331 properties
    assert quota_props(server, half) == (50_000, 50_000)
    assert quota_props(server, full) == (95_000, 5_000)
    # every space, with an id, most filled first
    assert all(isinstance(r["space_id"], int) for r in rows.values())
    percents = [r["percent"] for r in json.loads(quota_cli(server, "report", "--json").stdout)]
    assert percents == sorted(percents, reverse=True)

    table = quota_cli(server, "report").stdout
    lines = table.splitlines()
    assert "used" in lines[0] and "limit" in lines[0] and "%" in lines[0]
    half_line = next(line for line in lines if line.startswith(half + " "))
    full_line = next(line for line in lines if line.startswith(full + " "))
    assert "48.8 KiB" in half_line and "97.7 KiB" in half_line and "50.0%" in half_line
    assert "95.0%" in full_line
    assert lines.index(full_line) < lines.index(half_line)

    over = quota_cli(server, "report", "--over", "90").stdout
    assert full in over and half not in over
    over_rows = report(server, "--over", "90")
    assert f"{full} (documents)" in over_rows and f"{half} (documents)" not in over_rows
    assert all(r["percent"] > 90 for r in over_rows.values())
    assert f"{half} (documents)" in report(server, "--over", "49.9")


def test_report_columns_line_up_past_long_names(server: Server) -> None:
    """A label longer than the usual 40 characters (a long login, a rubric's slug)
    widens the label column instead of pushing its line's figures out of line."""
    long_login = new_user(server, "marie-charlotte.de-la-fontaine-dupont")
    short_login = new_user(server, "li")
    for login in (long_login, short_login):
        assert put(server, login, "a.bin", 1_000) == 201
    lines = quota_cli(server, "report").stdout.splitlines()
    shown = [line for line in lines[1:] if line.startswith((long_login, short_login))]
    assert len(shown) == 2 and len(f"{long_login} (documents)") > 40
    assert len({line.index(" / ") for line in [lines[0], *shown]}) == 1, lines


def test_over_compares_the_exact_percentage(server: Server) -> None:
    """900 400 bytes of 1 000 000 is 90.04%: above 90, even if shown as 90.0."""
    login = new_user(server, "edge")
    quota_cli(server, "set", login, "1000000")
    assert put(server, login, "edge.bin", 900_400) == 201
    assert row_of(server, login)["used"] == 900_400
    assert f"{login} (documents)" in report(server, "--over", "90")
    assert login in quota_cli(server, "report", "--over", "90").stdout


def test_limit_lowered_below_usage_blocks_growth_and_deletes_nothing(server: Server) -> None:
    login = new_user(server, "lowered")
    assert put(server, login, "keep.bin", 50_000) == 201
    quota_cli(server, "set", login, "40000")
    row = row_of(server, login)
    assert (row["used"], row["limit"], row["available"], row["percent"]) == (
        50_000, 40_000, 0, 125.0)
    assert f"{login} (documents)" in report(server, "--over", "100")
    assert quota_props(server, login) == (50_000, 0)
    assert put(server, login, "more.bin", 1) == 507
    session = server.session(login)
    assert session.get(f"{server.documents_url}/keep.bin").content == b"q" * 50_000
    assert session.delete(f"{server.documents_url}/keep.bin").status_code in (200, 204)
    assert quota_props(server, login) == (0, 40_000)  # freed at once (issue 17)
    assert put(server, login, "more.bin", 40_000) == 201  # exactly the limit fits


# --- fsck -------------------------------------------------------------------------------


def test_fsck_reports_and_repairs_a_usage_drift(server: Server) -> None:
    login = new_user(server, "drift")
    quota_cli(server, "set", login, "1MiB")
    assert put(server, login, "one.bin", 12_345) == 201
    assert put(server, login, "two.bin", 4_321) == 201
    real = 12_345 + 4_321
    space_id = row_of(server, login)["space_id"]
    clean = server.cli("fsck", check=False)
    assert clean.returncode == 0 and "fsck: clean" in clean.stdout, clean.stdout

    db = database(server)  # the drift, made by hand in the server's database
    try:
        with db.transaction() as s:
            changed = s.execute(text("UPDATE space_usage SET used_bytes = 999999 "
                                     "WHERE space_id = :id"), {"id": space_id})
            assert changed.rowcount == 1  # type: ignore[attr-defined]
    finally:
        db.dispose()
    assert quota_props(server, login)[0] == 999_999

    found = server.cli("fsck", check=False)
    assert found.returncode == 1, (found.stdout, found.stderr)
    assert (f"usage drift in space {space_id}: ledger 999999 bytes, "
            f"files and properties {real} bytes" in found.stdout), found.stdout
    assert "--repair" in found.stdout

    repaired = server.cli("fsck", "--repair", check=False)
    assert repaired.returncode == 0, (repaired.stdout, repaired.stderr)
    assert f"usage drift in space {space_id}" in repaired.stdout
    assert "repaired" in repaired.stdout

    again = server.cli("fsck", check=False)
    assert again.returncode == 0 and "fsck: clean" in again.stdout, again.stdout
    assert quota_props(server, login) == (real, MIB - real)
    assert row_of(server, login)["used"] == real


def test_fsck_recreates_a_lost_ledger_row(server: Server) -> None:
    """A space without its ledger row has unknown free space: growth is refused
    (quotas fail closed); fsck reports it (ledger -1) and --repair recreates the row
    with the default limit and the real usage."""
    login = new_user(server, "lost")
    assert put(server, login, "kept.bin", 7_000) == 201
    space_id = row_of(server, login)["space_id"]
    db = database(server)
    try:
        with db.transaction() as s:
            s.execute(text("DELETE FROM space_usage WHERE space_id = :id"), {"id": space_id})
    finally:
        db.dispose()
    assert put(server, login, "more.bin", 10) == 507  # fail closed
    assert quota_props(server, login)[1] == 0  # nothing available
    assert server.session(login).get(f"{server.documents_url}/kept.bin").status_code == 200

    found = server.cli("fsck", check=False)
    assert found.returncode == 1, found.stdout
    assert (f"usage drift in space {space_id}: ledger -1 bytes, "
            "files and properties 7000 bytes" in found.stdout), found.stdout
    assert server.cli("fsck", "--repair", check=False).returncode == 0
    again = server.cli("fsck", check=False)
    assert again.returncode == 0 and "fsck: clean" in again.stdout, again.stdout
    assert quota_props(server, login) == (7_000, DEFAULT_LIMIT - 7_000)
    assert put(server, login, "more.bin", 10) == 201
