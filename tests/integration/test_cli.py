"""``davserver`` command line: user management seen over HTTP, and configuration errors.

Password changes and disabling are checked against a server started with
``auth.cache_ttl = 0``: with the default 60 s cache of successful logins, an old
password keeps working for up to a minute (documented in config.yaml).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, Server, running_server


def status(server: Server, login: str, password: str) -> int:
    """Status of a PROPFIND on the user's documents space with these credentials."""
    with requests.Session() as s:
        return s.request("PROPFIND", server.documents_url + "/", auth=(login, password),
                         headers={"Depth": "0"}, timeout=30).status_code


def users(server: Server) -> dict[str, tuple[str, str]]:
    """``user list`` parsed: login → (profile, state)."""
    done = server.cli("user", "list")
    out = {}
    for line in done.stdout.splitlines():
        login, profile, state, *_ = line.split("\t")
        out[login] = (profile, state)
    return out


@pytest.fixture(scope="module")
def nocache_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that checks every request's password against the database."""
    with running_server(tmp_path_factory.mktemp("nocache"),
                        {"DAVSERVER_AUTH__CACHE_TTL": "0"}, {"admin1": "admin"}) as srv:
        yield srv


# --- user add / list -------------------------------------------------------------


def test_user_add_then_list_and_sign_in(server: Server) -> None:
    done = server.cli("user", "add", "m.curie", "--profile", "teacher", "--name",
                      "Mme Marie Curie", "--email", "marie.curie@example.org",
                      "--password-stdin", stdin="radium-1898\n")
    assert done.returncode == 0
    assert "m.curie" in done.stdout
    listed = users(server)
    assert listed["m.curie"] == ("teacher", "active")
    assert listed["alice"] == ("teacher", "active")
    assert listed["bob"] == ("student", "active")
    assert "Mme Marie Curie" in server.cli("user", "list").stdout
    # the running server accepts the new user at once
    assert status(server, "m.curie", "radium-1898") == 207
    assert status(server, "m.curie", "wrong-password") == 401


def test_duplicate_login_is_refused(server: Server) -> None:
    done = server.cli("user", "add", "alice", "--profile", "teacher", "--password-stdin",
                      stdin="another-password\n", check=False)
    assert done.returncode == 1
    assert "alice" in done.stderr and "already exists" in done.stderr
    assert "Traceback" not in done.stderr
    # alice's password is unchanged
    assert status(server, "alice", PASSWORD) == 207
    assert status(server, "alice", "another-password") == 401


@pytest.mark.one_database  # refused by the argument parser
def test_unknown_profile_is_refused(server: Server) -> None:
    done = server.cli("user", "add", "zorro", "--profile", "wizard", "--password-stdin",
                      stdin="long-enough-pw\n", check=False)
    assert done.returncode == 2
    assert "wizard" in done.stderr and "--profile" in done.stderr
    for profile in ("student", "teacher", "parent", "staff", "head", "admin", "inspector"):
        assert profile in done.stderr  # the message lists what is accepted
    assert "Traceback" not in done.stderr
    assert "zorro" not in users(server)


@pytest.mark.one_database  # refused by validation before any SQL
@pytest.mark.parametrize(("login", "password", "message"), [
    ("short.pw", "short", "password too short"),
    ("bad login", "long-enough-pw", "invalid login"),
    ("bad:login", "long-enough-pw", "invalid login"),
    ("no.password", "", "no password"),
])
def test_invalid_user_is_refused_with_a_message(server: Server, login: str, password: str,
                                                message: str) -> None:
    done = server.cli("user", "add", login, "--profile", "student", "--password-stdin",
                      stdin=password + "\n", check=False)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert login not in users(server)


# --- passwd / disable, seen over HTTP ----------------------------------------------


def test_passwd_changes_the_password_over_http(nocache_server: Server) -> None:
    srv = nocache_server
    srv.add_user("j.ferry", profile="teacher", password="old-password-1")
    assert status(srv, "j.ferry", "old-password-1") == 207
    done = srv.cli("user", "passwd", "j.ferry", "--password-stdin",
                   stdin="new-password-2\n")
    assert done.returncode == 0
    assert "j.ferry" in done.stdout
    assert status(srv, "j.ferry", "new-password-2") == 207
    assert status(srv, "j.ferry", "old-password-1") == 401


def test_disable_locks_the_user_out(nocache_server: Server) -> None:
    srv = nocache_server
    srv.add_user("l.michel", profile="student", password="commune-1871")
    assert status(srv, "l.michel", "commune-1871") == 207
    done = srv.cli("user", "disable", "l.michel")
    assert done.returncode == 0
    assert status(srv, "l.michel", "commune-1871") == 401
    assert users(srv)["l.michel"] == ("student", "disabled")
    assert users(srv)["admin1"] == ("admin", "active")
    assert status(srv, "admin1", PASSWORD) == 207  # nobody else is affected


@pytest.mark.parametrize("action", ["passwd", "disable"])
def test_unknown_login_is_refused(server: Server, action: str) -> None:
    args = ["user", action, "nobody.here"]
    stdin = None
    if action == "passwd":
        args.append("--password-stdin")
        stdin = "long-enough-pw\n"
    done = server.cli(*args, stdin=stdin, check=False)
    assert done.returncode == 1
    assert "nobody.here" in done.stderr
    assert "Traceback" not in done.stderr


def test_passwd_too_short_keeps_the_old_password(nocache_server: Server) -> None:
    srv = nocache_server
    srv.add_user("g.sand", profile="teacher", password="indiana-1832")
    done = srv.cli("user", "passwd", "g.sand", "--password-stdin", stdin="short\n",
                   check=False)
    assert done.returncode == 1
    assert "password too short" in done.stderr
    assert status(srv, "g.sand", "indiana-1832") == 207


# --- configuration errors -----------------------------------------------------------


def serve_with(server: Server, config: Path) -> subprocess.CompletedProcess[str]:
    """``davserver serve --config CONFIG``; must exit by itself (a server that starts
    would hang until the timeout)."""
    return subprocess.run(
        [sys.executable, "-m", "davserver.cli", "serve", "--config", str(config),
         "--host", "127.0.0.1", "--port", "0"],
        text=True, capture_output=True, env=server.env, timeout=60,
    )


@pytest.mark.one_database  # configuration, refused before any SQL
def test_unknown_nested_key_exits_2_naming_key_and_file(server: Server,
                                                       tmp_path: Path) -> None:
    bad = tmp_path / "bad-config.yaml"
    bad.write_text("server:\n  host: 127.0.0.1\n  prot: 8081\n", encoding="utf-8")
    done = serve_with(server, bad)
    assert done.returncode == 2
    assert "server.prot" in done.stderr
    assert str(bad) in done.stderr
    assert "Traceback" not in done.stderr
    assert "serving on" not in done.stdout


@pytest.mark.one_database  # configuration, refused before any SQL
def test_unknown_top_level_key_exits_2(server: Server, tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text("data_dri: /tmp/nowhere\n", encoding="utf-8")
    done = serve_with(server, bad)
    assert done.returncode == 2
    assert "data_dri" in done.stderr and str(bad) in done.stderr


@pytest.mark.one_database  # configuration, refused before any SQL
def test_bad_value_exits_2_naming_key(server: Server, tmp_path: Path) -> None:
    bad = tmp_path / "bad-value.yaml"
    bad.write_text("auth:\n  cache_ttl: soon\n", encoding="utf-8")
    done = serve_with(server, bad)
    assert done.returncode == 2
    assert "auth.cache_ttl" in done.stderr and str(bad) in done.stderr


@pytest.mark.one_database  # configuration, refused before any SQL
def test_missing_config_file_exits_2(server: Server, tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist.yaml"
    done = serve_with(server, missing)
    assert done.returncode == 2
    assert str(missing) in done.stderr


@pytest.mark.one_database  # configuration, refused before any SQL
def test_unknown_key_also_refused_by_user_commands(server: Server, tmp_path: Path) -> None:
    bad = tmp_path / "bad-config.yaml"
    bad.write_text("logging:\n  levle: DEBUG\n", encoding="utf-8")
    done = server.cli("user", "list", "--config", str(bad), check=False)
    assert done.returncode == 2
    assert "logging.levle" in done.stderr and str(bad) in done.stderr


@pytest.mark.one_database  # its database is SQLite whatever the run
def test_a_database_from_an_older_version_is_refused_naming_what_is_missing(
        server: Server, tmp_path: Path) -> None:
    import sqlite3

    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as conn:  # the nodes table before authors and publication
        conn.execute("CREATE TABLE nodes (id INTEGER PRIMARY KEY, space_id INTEGER)")
    env = {**server.env, "DAVSERVER_DATABASE_URL": f"sqlite:///{old}"}
    done = subprocess.run(
        [sys.executable, "-m", "davserver.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        text=True, capture_output=True, env=env, timeout=60)
    assert done.returncode == 2
    assert "older version" in done.stderr and "nodes.author_id" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
