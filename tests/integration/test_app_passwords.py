"""App passwords against a real server (issue 19, "App passwords"): made by the CLI
and the account page, shown once, stored hashed; they open ``/dav/`` with Basic auth
(curl-like requests, rclone, litmus's basic suite), never the web sign-in; a wrong
one counts in the throttle; revoking one stops it at once on a running server; each
step is journaled; the last use and address are shown."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import acl
from tests.conftest import PASSWORD, Server, running_server, wait_until
from tests.integration.test_litmus import LITMUS, _normalise, _require_litmus
from tests.integration.test_rclone import Rclone, _require_rclone
from tests.web import WebClient, csrf_token, from_address

SHAPE = re.compile(r"^[a-z2-9]{5}(-[a-z2-9]{5}){4}$")
REVOKE_BOUND = 3.0  # seconds: GENERATION_EVERY (1 s) and a request's round trip


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("apppw"),
                        users={"alice": "teacher", "bob": "student", "carol": "parent",
                               "dan": "teacher", "erin": "teacher"}) as server:
        with server.transaction() as s:
            school = acl.add_school(s, "Collège Jean Moulin", uai="0330001X")
            for login in ("alice", "bob"):
                user = acl.find_user(s, login)
                assert user is not None
                acl.join_school(s, user.id, school.id, user.profile)
        yield server


def add(server: Server, login: str, label: str) -> tuple[int, str]:
    """``app-password add --json``: the new id and secret."""
    made = json.loads(server.cli("app-password", "add", login, "--label", label,
                                 "--json").stdout)
    return int(made["id"]), str(made["secret"])


def listed(server: Server, login: str) -> list[dict[str, Any]]:
    return json.loads(server.cli("app-password", "list", login, "--json").stdout)  # type: ignore[no-any-return]


def propfind(server: Server, login: str, password: str) -> int:
    return requests.request("PROPFIND", server.dav_url + "/", auth=(login, password),
                            headers={"Depth": "0"}, timeout=30).status_code


def audit(server: Server, *args: str) -> list[dict[str, Any]]:
    return json.loads(server.cli("audit", "--json", *args).stdout)  # type: ignore[no-any-return]


def test_cli_makes_one_shown_once_and_stored_hashed(srv: Server) -> None:
    out = srv.cli("app-password", "add", "alice", "--label", "Explorateur au collège")
    secret = out.stdout.strip().splitlines()[-1]
    assert SHAPE.match(secret), out.stdout
    assert propfind(srv, "alice", secret) == 207
    assert propfind(srv, "alice", secret.upper()) == 207  # typed in capitals
    rows = listed(srv, "alice")
    assert [r["label"] for r in rows] == ["Explorateur au collège"]
    assert rows[0]["last_address"] == "127.0.0.1" and rows[0]["last_used"]
    assert "secret" not in rows[0]
    with srv.transaction() as s:  # only the hash is kept
        stored = s.query(acl.AppPassword).filter_by(id=rows[0]["id"]).one()
        assert stored.secret_hash == acl.secret_hash(secret) and secret not in \
            stored.secret_hash
    events = audit(srv, "--user", "alice", "--kind", "app_password_created")
    assert events and events[0]["target"] == "alice" and events[0]["via"] == "cli"


def test_cli_refusals_are_clear(srv: Server) -> None:
    add(srv, "dan", "rclone maison")
    again = srv.cli("app-password", "add", "dan", "--label", "rclone maison", check=False)
    assert again.returncode == 1 and "already has an app password named" in again.stderr
    empty = srv.cli("app-password", "add", "dan", "--label", "  ", check=False)
    assert empty.returncode == 1 and "needs a label" in empty.stderr
    unknown = srv.cli("app-password", "add", "nobody", "--label", "x", check=False)
    assert unknown.returncode == 1 and "no user 'nobody'" in unknown.stderr
    other = srv.cli("app-password", "revoke", "dan", "999999", check=False)
    assert other.returncode == 1 and "no app password 999999" in other.stderr
    assert srv.cli("app-password", "list", "erin").stdout.strip() == "no app passwords"


def test_it_is_refused_by_the_web_sign_in(srv: Server) -> None:
    _, secret = add(srv, "bob", "tablette")
    assert propfind(srv, "bob", secret) == 207
    answer = WebClient(srv).login("bob", secret)
    assert answer.status_code == 200 and "Identifiant ou mot de passe incorrect" in \
        answer.text


def test_it_belongs_to_its_user_only(srv: Server) -> None:
    _, secret = add(srv, "carol", "ordinateur")
    assert propfind(srv, "carol", secret) == 207
    assert propfind(srv, "dan", secret) == 401


def test_wrong_ones_count_in_the_throttle(srv: Server) -> None:
    http = from_address(requests.Session(), "127.0.0.7")
    wrong = "abcde-fghjk-mnpqr-stuvw-xyz23"
    codes = [http.request("PROPFIND", srv.dav_url + "/", auth=("erin", wrong),
                          headers={"Depth": "0"}, timeout=30).status_code
             for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    srv.cli("auth", "throttle", "reset", "erin")


def test_revoking_stops_it_at_once_on_a_running_server(srv: Server) -> None:
    ident, secret = add(srv, "dan", "ordinateur portable")
    http = requests.Session()
    http.auth = ("dan", secret)
    assert http.request("PROPFIND", srv.dav_url + "/", headers={"Depth": "0"},
                        timeout=30).status_code == 207  # now remembered by the server
    srv.cli("app-password", "revoke", "dan", str(ident))
    assert wait_until(lambda: http.request("PROPFIND", srv.dav_url + "/",
                                           headers={"Depth": "0"},
                                           timeout=30).status_code == 401,
                      timeout=REVOKE_BOUND)
    assert ident not in [r["id"] for r in listed(srv, "dan")]
    events = audit(srv, "--user", "dan", "--kind", "app_password_revoked")
    assert events and events[0]["details"]["id"] == ident


def test_disabling_the_user_stops_them(tmp_path: Path) -> None:
    with running_server(tmp_path, users={"frank": "teacher"}) as server:
        _, secret = add(server, "frank", "clé")
        assert propfind(server, "frank", secret) == 207
        server.cli("user", "disable", "frank")
        assert wait_until(lambda: propfind(server, "frank", secret) == 401,
                          timeout=REVOKE_BOUND)
        refused = server.cli("app-password", "add", "frank", "--label", "autre",
                             check=False)
        assert refused.returncode == 1 and "disabled" in refused.stderr


def test_the_account_page_makes_lists_and_revokes(srv: Server) -> None:
    alice = WebClient(srv)
    assert alice.login("alice", PASSWORD).status_code == 302
    page = alice.get("/account/")
    assert page.status_code == 200 and "Explorateur au collège" in page.text
    made = alice.post("/account/app-passwords", {"csrf_token": csrf_token(page.text),
                                                 "label": "Téléphone"})
    assert made.status_code == 200
    secret = re.search(r'<code class="secret">([^<]+)</code>', made.text)
    assert secret and SHAPE.match(secret.group(1))
    assert propfind(srv, "alice", secret.group(1)) == 207
    again = alice.get("/account/")
    assert secret.group(1) not in again.text  # shown once
    assert "Téléphone" in again.text
    same = alice.post("/account/app-passwords", {"csrf_token": csrf_token(again.text),
                                                 "label": "Téléphone"})
    assert same.status_code == 409 and "avez déjà un mot de passe" in same.text
    ident = next(r["id"] for r in listed(srv, "alice") if r["label"] == "Téléphone")
    bob_id = next(r["id"] for r in listed(srv, "bob"))
    theirs = alice.post(f"/account/app-passwords/{bob_id}/revoke",
                        {"csrf_token": csrf_token(again.text)})
    assert theirs.status_code == 404 and bob_id in [r["id"] for r in listed(srv, "bob")]
    gone = alice.post(f"/account/app-passwords/{ident}/revoke",
                      {"csrf_token": csrf_token(again.text)})
    assert gone.status_code == 302
    after = alice.get("/account/")
    assert "Téléphone" in after.text and "est révoqué" in after.text  # the flash
    assert "Téléphone" not in alice.get("/account/").text
    assert wait_until(lambda: propfind(srv, "alice", secret.group(1)) == 401,
                      timeout=REVOKE_BOUND)
    kinds = [e["kind"] for e in audit(srv, "--user", "alice")]
    assert "app_password_created" in kinds and "app_password_revoked" in kinds
    signins = [e for e in audit(srv, "--user", "alice", "--kind", "sign_in")
               if e["method"] == "app_password"]
    assert signins and signins[0]["via"] == "dav"


@pytest.mark.clients
@pytest.mark.one_database
def test_rclone_and_litmus_with_an_app_password(srv: Server, tmp_path: Path) -> None:
    """rclone copies a file up and back; litmus's basic suite passes (a second client
    on the same app password)."""
    _require_rclone()
    _require_litmus()
    _, secret = add(srv, "erin", "rclone maison")
    rclone = Rclone(tmp_path / "rclone")
    rclone.add_webdav_remote("ent", srv.documents_url, "erin", secret, "other")
    source = tmp_path / "src"
    source.mkdir()
    (source / "cours.txt").write_text("Chapitre 1 : les fractions\n", encoding="utf-8")
    rclone.run("copy", str(source), "ent:rclone-test")
    back = tmp_path / "back"
    rclone.run("copy", "ent:rclone-test", str(back))
    assert (back / "cours.txt").read_text(encoding="utf-8") == \
        "Chapitre 1 : les fractions\n"
    workdir = tmp_path / "litmus"
    workdir.mkdir()
    proc = subprocess.run([shutil.which("litmus") or LITMUS, srv.documents_url + "/",
                           "erin", secret], cwd=workdir, capture_output=True,
                          timeout=120, env={"TESTS": "basic", "PATH": "/usr/bin:/bin"})
    lines = _normalise(proc.stdout.decode(errors="replace"))
    summary = [line for line in lines if "<- summary for" in line]
    assert proc.returncode == 0 and summary and " 0 failed." in summary[0], \
        "\n".join(lines)
