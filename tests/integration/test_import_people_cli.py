"""``davserver import people`` as a real command beside a real server.

One server per module (``auth.cache_ttl = 0``: a disabled user is refused at once).
Each test imports into its own school with its own logins (``people(prefix)``):
logins are unique across schools, and leavers are counted per school.
"""

from __future__ import annotations

import csv
import io
import os
import pty
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, Server, running_server

SAMPLE = (Path(__file__).resolve().parent.parent / "data" / "people.csv").read_text("utf-8")
LOGINS = ("lea.girard", "francois.garcon", "m.dupont", "c.bernard", "s.girard", "c.lefevre")
SUMMARY = re.compile(r"created (\d+), updated (\d+), disabled (\d+), unchanged (\d+), "
                     r"rejected (\d+)")


def people(prefix: str, text: str = SAMPLE) -> str:
    """The sample with every login prefixed (``prefix`` + login)."""
    return re.sub(r"(?<![\w.])(" + "|".join(map(re.escape, LOGINS)) + r")(?![\w.@])",
                  lambda m: prefix + m.group(1), text)


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "p.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def summary(done: subprocess.CompletedProcess[str]) -> tuple[int, ...]:
    """(created, updated, disabled, unchanged, rejected) printed by the command."""
    found = SUMMARY.search(done.stdout)
    assert found, done.stdout + done.stderr
    return tuple(int(n) for n in found.groups())


def printed_passwords(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """login → password from the table printed after "new accounts"."""
    table = done.stdout.split("(shown once):\n", 1)[1]
    return {row["login"]: row["password"]
            for row in csv.DictReader(io.StringIO(table), delimiter="\t")}


def status(server: Server, login: str, password: str) -> int:
    return requests.request("PROPFIND", server.documents_url + "/", auth=(login, password),
                            headers={"Depth": "0"}, timeout=30).status_code


def listed(server: Server) -> dict[str, str]:
    """login → the rest of its ``user list`` line."""
    lines = server.cli("user", "list").stdout.splitlines()
    return {line.split("\t", 1)[0]: line.split("\t", 1)[1] for line in lines}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("import"), {"DAVSERVER_AUTH__CACHE_TTL": "0"},
                        {"alice": "teacher"}) as server:
        yield server


def test_utf8_bom_commas_then_sign_in_with_the_printed_password(srv: Server,
                                                                tmp_path: Path) -> None:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(
        csv.reader(io.StringIO(people("a.")), delimiter=";"))
    done = srv.cli("import", "people", write(tmp_path, text.getvalue(), "utf-8-sig"),
                   "--school", "Collège A")
    assert "UTF-8 with BOM, delimiter ','" in done.stdout
    assert summary(done) == (6, 0, 0, 0, 0)
    for output in (done.stdout, done.stderr):  # not a terminal: no bar, no escapes
        assert "\x1b[" not in output and "\r" not in output
    passwords = printed_passwords(done)
    assert sorted(passwords) == sorted("a." + login for login in LOGINS)
    assert status(srv, "a.lea.girard", passwords["a.lea.girard"]) == 207
    assert listed(srv)["a.francois.garcon"] == "student\tactive\tFrançois Garçon"


def test_latin1_semicolons_with_a_passwords_file(srv: Server, tmp_path: Path) -> None:
    csv_path = write(tmp_path, people("b."), "latin-1")
    secret = tmp_path / "passwords.csv"
    done = srv.cli("import", "people", csv_path, "--school", "Collège B",
                   "--passwords", str(secret))
    assert "Windows-1252 (Latin-1), delimiter ';'" in done.stdout
    assert summary(done) == (6, 0, 0, 0, 0)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(secret.read_text("utf-8")), delimiter=";"))
    assert {r["login"]: r["name"] for r in rows}["b.c.lefevre"] == "Claire Lefèvre"
    for row in rows:
        assert row["password"] not in done.stdout
    assert status(srv, "b.m.dupont", rows[2]["password"]) == 207
    # an existing passwords file is never overwritten, and nothing is imported
    more = people("b.") + "b.new;Neuf;Noé;élève;6A;;;;\n"
    refused = srv.cli("import", "people", write(tmp_path, more, "latin-1", "more.csv"),
                      "--school", "Collège B", "--passwords", str(secret), check=False)
    assert refused.returncode == 2 and "never overwritten" in refused.stderr
    assert "b.new" not in listed(srv)
    again = srv.cli("import", "people", csv_path, "--school", "Collège B")
    assert summary(again) == (0, 0, 0, 6, 0)
    assert "password" not in again.stdout


def test_missing_columns_exit_2_and_import_nothing(srv: Server, tmp_path: Path) -> None:
    done = srv.cli("import", "people", write(tmp_path, "login;nom;classe\nc.x;X;4B\n"),
                   "--school", "Collège C", check=False)
    assert done.returncode == 2
    assert "missing required column(s): first_name, profile" in done.stderr
    assert "Traceback" not in done.stderr
    assert "c.x" not in listed(srv)


def test_a_file_with_bad_rows_is_refused_whole_unless_partial(srv: Server,
                                                               tmp_path: Path) -> None:
    bad = (people("d.") + "d.x;X;Y;sorcier;;;;;\n"
           + people("d.").splitlines()[1] + "\n")  # d.lea.girard a second time
    path = write(tmp_path, bad)
    strict = srv.cli("import", "people", path, "--school", "Collège D", "--strict",
                     check=False)
    assert strict.returncode == 1
    assert "strict: 4 row(s) rejected, nothing imported" in strict.stdout
    refused = srv.cli("import", "people", path, "--school", "Collège D", check=False)
    assert refused.returncode == 1
    assert "refused, nothing of it imported: 4 record(s) rejected (--partial imports " \
        "the others)" in refused.stderr
    assert summary(refused) == (0, 0, 0, 0, 4)
    assert not any(login.startswith("d.") for login in listed(srv))
    done = srv.cli("import", "people", path, "--school", "Collège D", "--partial",
                   check=False)
    assert done.returncode == 1
    assert summary(done) == (4, 0, 0, 0, 4)  # s.girard: her child was rejected
    assert "line 8: 'd.x': unknown profile 'sorcier'" in done.stderr
    assert "line 2: 'd.lea.girard': login 'd.lea.girard' appears on lines 2, 9" in done.stderr
    assert "d.lea.girard" not in listed(srv) and "d.c.lefevre" in listed(srv)


def test_leaver_disabled_their_files_kept_hand_made_user_untouched(
        srv: Server, tmp_path: Path) -> None:
    first = srv.cli("import", "people", write(tmp_path, people("e.")),
                    "--school", "Collège E")
    password = printed_passwords(first)["e.francois.garcon"]
    url = srv.documents_url + "/exposé.txt"
    put = requests.put(url, data=b"mon expose", auth=("e.francois.garcon", password),
                       timeout=30)
    assert put.status_code == 201
    without = "\n".join(line for line in people("e.").split("\n") if "francois" not in line)
    done = srv.cli("import", "people", write(tmp_path, without, name="q.csv"),
                   "--school", "Collège E")
    assert "disabled (absent from the file, files kept): e.francois.garcon" in done.stdout
    assert summary(done) == (0, 0, 1, 5, 0)
    assert status(srv, "e.francois.garcon", password) == 401
    assert status(srv, "alice", PASSWORD) == 207  # made by hand: never a leaver
    back = srv.cli("import", "people", write(tmp_path, people("e.")), "--school",
                   "Collège E")
    assert summary(back) == (0, 1, 0, 5, 0)
    got = requests.get(url, auth=("e.francois.garcon", password), timeout=30)
    assert (got.status_code, got.content) == (200, b"mon expose")


def test_dry_run_and_several_schools(srv: Server, tmp_path: Path) -> None:
    path = write(tmp_path, people("f."))
    done = srv.cli("import", "people", path, "--school", "Collège F", "--dry-run")
    assert summary(done) == (6, 0, 0, 0, 0)
    assert "dry run: nothing was changed" in done.stdout
    assert "password" not in done.stdout
    assert not any(login.startswith("f.") for login in listed(srv))
    several = srv.cli("import", "people", path, check=False)
    assert several.returncode == 1 and "several schools" in several.stderr


def test_progress_bar_drawn_on_a_terminal_only(srv: Server, tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    env = {**srv.env, "TERM": "xterm", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "davserver.cli", "import", "people",
         write(tmp_path, people("g.")), "--school", "Collège G"],
        stdout=subprocess.PIPE, stderr=terminal, text=True, env=env)
    os.close(terminal)
    drawn = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    os.close(controller)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert b"importing" in drawn and b"\x1b[" in drawn
    assert SUMMARY.search(stdout) and "\x1b[" not in stdout
