"""Login Flow v2 (issue 25, "Login Flow v2") against real server processes: an app
starts the flow over HTTP as the Nextcloud desktop app does, the user signs in,
accepts the charter and grants the device in a browser, the app's poll receives an
app password once, which opens the files to a real sync client until it is revoked in
"Mon compte". And the refusals: an unknown token (counted by the throttle), a flow
cancelled, polled twice, expired (a second process whose clock is 21 minutes on), an
address that is no flow's; any step answered by any of several processes.

Run on both databases but for the Chromium test: the claim of a granted flow (one
conditional UPDATE) and the row locks of grant and cancel are the database's.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

import acl
from davserver import clock
from tests.conftest import PASSWORD, Server, running_server, wait_until
from tests.web import WebClient, csrf_token, from_address

from .test_sync_clients import NEXTCLOUDCMD, _require, tree

DESKTOP_UA = ("Mozilla/5.0 (Linux) mirall/3.7.3git (Nextcloud, debian-6.1.0-13-amd64 "
              "ClientArchitecture: x86_64 OsArchitecture: x86_64)")
DESKTOP_LABEL = "Nextcloud sur ordinateur (Linux)"
ANDROID_UA = "Mozilla/5.0 (Android) Nextcloud-android/3.26.0"
REVOKE_BOUND = 3.0  # seconds: the credential generation's once a second, and a round trip


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("login-flow"),
                        users={"prof": "teacher", "eleve": "student",
                               "parent": "parent"}) as server:
        yield server


@contextmanager
def other_process(srv: Server, ahead: float = 0.0) -> Iterator[Server]:
    """A second ``davserver serve`` on ``srv``'s data and database, its clock ``ahead``
    seconds further on."""
    env = {**srv.env, clock.SHIFT_VARIABLE:
           clock.format_shift(clock.shift() + timedelta(seconds=ahead))}
    second = Server(data_dir=srv.data_dir, env=env, users=dict(srv.users))
    second.start()
    try:
        yield second
    finally:
        second.stop()


def start(server: Server, user_agent: str = DESKTOP_UA) -> dict[str, Any]:
    """``POST /index.php/login/v2`` as the desktop app sends it."""
    answer = requests.post(server.base_url + "/index.php/login/v2",
                           headers={"User-Agent": user_agent}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer.json()  # type: ignore[no-any-return]


def poll(server: Server, flow: dict[str, Any], token: str | None = None,
         http: requests.Session | None = None) -> requests.Response:
    """The app's poll (a form, as the desktop app posts it), sent to ``server``."""
    path = urlsplit(flow["poll"]["endpoint"]).path
    return (http or requests.Session()).post(
        server.base_url + path, data={"token": token or flow["poll"]["token"]}, timeout=30)


def flow_path(flow: dict[str, Any]) -> str:
    return urlsplit(flow["login"]).path


def signed_in(server: Server, login: str, next_path: str) -> WebClient:
    client = WebClient(server)
    answer = client.login(login, PASSWORD, next_path)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(next_path), \
        answer.text
    return client


def answer_flow(client: WebClient, flow: dict[str, Any], button: str
                ) -> requests.Response:
    """Open the grant page and press ``button`` (``grant`` or ``cancel``)."""
    page = client.get(flow_path(flow))
    assert page.status_code == 200, page.text
    return client.post(flow_path(flow) + "/" + button, {"csrf_token": csrf_token(page.text)})


def app_passwords(server: Server, login: str) -> list[dict[str, Any]]:
    return json.loads(server.cli("app-password", "list", login, "--json").stdout)  # type: ignore[no-any-return]


def audit(server: Server, *args: str) -> list[dict[str, Any]]:
    return json.loads(server.cli("audit", "--json", *args).stdout)  # type: ignore[no-any-return]


def propfind(server: Server, login: str, password: str) -> int:
    return requests.request("PROPFIND", server.base_url + f"/remote.php/dav/files/{login}/",
                            auth=(login, password), headers={"Depth": "0"},
                            timeout=30).status_code


# --- the API ---------------------------------------------------------------------------

def test_the_start_answers_nextclouds_shape(srv: Server) -> None:
    """Two different tokens, the poll endpoint and the login URL on the address used;
    only their hashes are stored; the device is named from the User-Agent."""
    flow = start(srv)
    assert set(flow) == {"poll", "login"} and set(flow["poll"]) == {"token", "endpoint"}
    assert flow["poll"]["endpoint"] == srv.base_url + "/index.php/login/v2/poll"
    assert flow["login"].startswith(srv.base_url + "/login/v2/flow/")
    login_token = flow_path(flow).rsplit("/", 1)[-1]
    poll_token = flow["poll"]["token"]
    assert login_token != poll_token and len(poll_token) >= 64
    with srv.transaction() as s:
        row = s.query(acl.LoginFlow).filter_by(
            poll_hash=acl.login_flows.token_hash(poll_token)).one()
        assert row.login_hash == acl.login_flows.token_hash(login_token)
        assert row.label == DESKTOP_LABEL and row.state == "pending"
        stored = " ".join(str(v) for v in vars(row).values())
        assert poll_token not in stored and login_token not in stored
    assert start(srv, ANDROID_UA)["login"]
    with srv.transaction() as s:
        labels = {r.label for r in s.query(acl.LoginFlow)}
    assert "Nextcloud sur Android" in labels
    assert requests.get(srv.base_url + "/index.php/login/v2", timeout=30).status_code == 405
    assert requests.get(flow["poll"]["endpoint"], timeout=30).status_code == 405


def test_poll_waits_then_delivers_once(srv: Server) -> None:
    """404 before the grant; after it, the server, the login and a working app password,
    once; the second poll gets 404. The password is listed, the delivery journaled."""
    flow = start(srv)
    assert poll(srv, flow).status_code == 404
    client = signed_in(srv, "eleve", flow_path(flow))
    assert poll(srv, flow).status_code == 404  # signed in, not granted yet
    granted = answer_flow(client, flow, "grant")
    assert granted.status_code == 200 and "Application connectée" in granted.text
    first = poll(srv, flow)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"server", "loginName", "appPassword"}
    assert body["server"] == srv.base_url and body["loginName"] == "eleve"
    assert acl.looks_like_app_password(body["appPassword"])
    assert poll(srv, flow).status_code == 404  # exactly once
    assert propfind(srv, "eleve", body["appPassword"]) == 207
    labels = [r["label"] for r in app_passwords(srv, "eleve")]
    assert DESKTOP_LABEL in labels
    assert audit(srv, "--kind", "app_password_delivered", "--user", "eleve")
    with srv.transaction() as s:  # nothing of the password kept once delivered
        row = s.query(acl.LoginFlow).filter_by(
            poll_hash=acl.login_flows.token_hash(flow["poll"]["token"])).one()
        assert row.state == "delivered" and row.sealed_secret is None
    # the grant page's address served once
    assert client.get(flow_path(flow)).status_code == 404


def test_a_second_device_of_the_same_kind_gets_its_own_name(srv: Server) -> None:
    names = []
    for _ in range(2):
        flow = start(srv)
        client = signed_in(srv, "parent", flow_path(flow))
        assert answer_flow(client, flow, "grant").status_code == 200
        assert poll(srv, flow).status_code == 200
    names = [r["label"] for r in app_passwords(srv, "parent")]
    assert names == [DESKTOP_LABEL, DESKTOP_LABEL + " (2)"]


def test_a_cancelled_flow_gives_nothing(srv: Server) -> None:
    flow = start(srv)
    client = signed_in(srv, "eleve", flow_path(flow))
    before = len(app_passwords(srv, "eleve"))
    cancelled = answer_flow(client, flow, "cancel")
    assert cancelled.status_code == 200 and "Accès refusé" in cancelled.text
    assert poll(srv, flow).status_code == 404
    gone = client.get(flow_path(flow))
    assert gone.status_code == 404 and "Recommencez" in gone.text
    assert len(app_passwords(srv, "eleve")) == before


def test_an_address_that_is_no_flows_is_404(srv: Server) -> None:
    client = signed_in(srv, "eleve", "/")
    for token in (secrets.token_urlsafe(48), "short", "x" * 300):
        page = client.get("/login/v2/flow/" + token)
        assert page.status_code == 404 and "Recommencez" in page.text
    stranger = WebClient(srv)  # not signed in: the sign-in page first, as any page
    first = stranger.get("/login/v2/flow/" + secrets.token_urlsafe(48))
    assert first.status_code == 302 and "/login?next=" in first.headers["Location"]


def test_a_grant_needs_its_csrf_token(srv: Server) -> None:
    flow = start(srv)
    client = signed_in(srv, "eleve", flow_path(flow))
    forged = client.post(flow_path(flow) + "/grant", {})
    assert forged.status_code == 403  # every POST's CSRF check (web.errors)
    assert poll(srv, flow).status_code == 404
    assert client.get(flow_path(flow)).status_code == 200  # still pending


def test_unknown_tokens_are_throttled_and_journaled(srv: Server) -> None:
    """Five unknown tokens from one address: the fifth starts a refusal period (429
    with Retry-After), journaled; another address is not refused; an app polling its
    own flow is never counted."""
    flow = start(srv)
    own = from_address(requests.Session(), "127.0.0.31")
    for _ in range(8):
        assert poll(srv, flow, http=own).status_code == 404  # pending: never counted
    guesser = from_address(requests.Session(), "127.0.0.32")
    codes = [poll(srv, flow, secrets.token_urlsafe(48), http=guesser).status_code
             for _ in range(6)]
    assert codes == [404] * 5 + [429]
    refused = poll(srv, flow, secrets.token_urlsafe(48), http=guesser)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert poll(srv, flow, http=own).status_code == 404
    events = audit(srv, "--kind", "throttled")
    assert any(e["address"] == "127.0.0.32" and e["method"] == "login_flow" for e in events)
    assert len([e for e in audit(srv, "--kind", "sign_in_failed")
                if e["address"] == "127.0.0.32"]) == 5


def test_a_blocked_address_still_collects_its_own_flows(srv: Server) -> None:
    """Behind a school's NAT one address is every teacher's: a client guessing tokens
    gets it blocked (429), yet an app at that address polling its own flow is still
    answered (404 while it waits, then its password), never counted; the guesser's
    next unknown token is still 429."""
    nat = from_address(requests.Session(), "127.0.0.33")
    flow = start(srv, ANDROID_UA)  # not prof's desktop account of the Chromium test
    codes = [poll(srv, flow, secrets.token_urlsafe(48), http=nat).status_code
             for _ in range(6)]
    assert codes == [404] * 5 + [429]
    assert poll(srv, flow, http=nat).status_code == 404  # waiting, not refused
    client = signed_in(srv, "eleve", flow_path(flow))
    assert answer_flow(client, flow, "grant").status_code == 200
    delivered = poll(srv, flow, http=nat)
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["loginName"] == "eleve"
    assert poll(srv, flow, http=nat).status_code == 404  # delivered once; still known
    refused = poll(srv, flow, secrets.token_urlsafe(48), http=nat)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert len([e for e in audit(srv, "--kind", "sign_in_failed")
                if e["address"] == "127.0.0.33"]) == 5  # known tokens never counted


def test_one_address_has_a_bound_of_waiting_flows(srv: Server) -> None:
    """Anyone may start a flow: 100 waiting from one address (a school's NAT: a whole
    class), then 429 with Retry-After until one ends; other addresses go on."""
    script = from_address(requests.Session(), "127.0.0.41")
    codes = [script.post(srv.base_url + "/login/v2", timeout=30).status_code
             for _ in range(acl.login_flows.MAX_PENDING_PER_ADDRESS)]
    assert codes == [200] * acl.login_flows.MAX_PENDING_PER_ADDRESS
    refused = script.post(srv.base_url + "/login/v2", timeout=30)
    assert refused.status_code == 429 and "waiting" in refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= 20 * 60
    assert start(srv)["login"]  # from 127.0.0.1


def test_several_processes_answer_any_step(srv: Server) -> None:
    """Started on one process, granted on another, polled on both: delivered once."""
    with other_process(srv) as second:
        flow = start(srv)
        client = signed_in(second, "eleve", flow_path(flow))
        assert answer_flow(client, flow, "grant").status_code == 200
        answers = [poll(second, flow).status_code, poll(srv, flow).status_code]
    assert answers == [200, 404]


def test_flows_expire_after_twenty_minutes(srv: Server) -> None:
    """A second process whose clock reads 21 minutes on: the pending flow's page and
    poll answer 404, and so does the poll of a flow granted in time but never
    collected; at 19 minutes the flow is still served."""
    pending = start(srv)
    granted = start(srv)
    client = signed_in(srv, "eleve", flow_path(granted))
    assert answer_flow(client, granted, "grant").status_code == 200
    with other_process(srv, ahead=19 * 60) as early:
        assert signed_in(early, "eleve", flow_path(pending)).get(
            flow_path(pending)).status_code == 200
    with other_process(srv, ahead=21 * 60) as later:
        late_client = signed_in(later, "eleve", flow_path(pending))
        page = late_client.get(flow_path(pending))
        assert page.status_code == 404 and "expiré" in page.text
        assert poll(later, pending).status_code == 404
        assert poll(later, granted).status_code == 404
    assert poll(srv, granted).status_code == 200  # the first process's clock: in time


def test_uncollected_grants_lose_their_password(srv: Server) -> None:
    """A flow granted but never polled: an hour after its end, the next start removes
    it and its app password (nobody can know it), journaled as a revocation."""
    flow = start(srv)
    client = signed_in(srv, "eleve", flow_path(flow))
    before = {r["id"] for r in app_passwords(srv, "eleve")}
    assert answer_flow(client, flow, "grant").status_code == 200
    made = {r["id"] for r in app_passwords(srv, "eleve")} - before
    assert len(made) == 1
    with other_process(srv, ahead=20 * 60 + 3600 + 60) as later:
        start(later)
    assert {r["id"] for r in app_passwords(srv, "eleve")} == before
    revoked = audit(srv, "--kind", "app_password_revoked", "--user", "eleve")
    assert any(json.dumps(e).find(str(next(iter(made)))) >= 0 for e in revoked)


# --- the legacy in-app flow (v1) ------------------------------------------------------

def test_the_legacy_in_app_flow_hands_the_password_to_the_app(srv: Server) -> None:
    """An older mobile app's web view: ``/index.php/login/flow`` (with
    ``OCS-APIREQUEST``), the sign-in, the grant page naming the device, then the
    redirect the app catches, ``nc://login/server:…&user:…&password:…``; the password
    opens the files and is listed. Cancelling makes nothing; a forged POST neither."""
    view = WebClient(srv)
    view.http.headers.update({"User-Agent": ANDROID_UA, "OCS-APIREQUEST": "true"})
    first = view.get("/index.php/login/flow")
    assert first.status_code == 302 and "/login?next=" in first.headers["Location"]
    assert view.login("eleve", PASSWORD, "/index.php/login/flow").status_code == 302
    before = len(app_passwords(srv, "eleve"))
    page = view.get("/index.php/login/flow")
    assert page.status_code == 200
    assert "Autoriser Nextcloud sur Android à accéder à vos fichiers ?" in page.text
    assert view.post("/index.php/login/flow/grant", {}).status_code == 403
    cancelled = view.post("/index.php/login/flow/cancel",
                          {"csrf_token": csrf_token(page.text)})
    assert cancelled.status_code == 200 and "Accès refusé" in cancelled.text
    assert len(app_passwords(srv, "eleve")) == before
    granted = view.post("/index.php/login/flow/grant", {"csrf_token": csrf_token(page.text)})
    assert granted.status_code == 302
    location = granted.headers["Location"]
    prefix = f"nc://login/server:{srv.base_url}&user:eleve&password:"
    assert location.startswith(prefix), location
    password = location[len(prefix):]
    assert acl.looks_like_app_password(password)
    assert propfind(srv, "eleve", password) == 207
    assert "Nextcloud sur Android" in [r["label"] for r in app_passwords(srv, "eleve")]


# --- Chromium and nextcloudcmd -------------------------------------------------------

def nextcloudcmd(server: Server, login: str, password: str, local: Path, home: Path
                 ) -> subprocess.CompletedProcess[str]:
    """One ``nextcloudcmd`` run syncing ``local`` with the porte-documents."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXTCLOUD_")}
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_DATA_HOME": str(home / ".local"), "QT_QPA_PLATFORM": "offscreen"})
    local.mkdir(parents=True, exist_ok=True)
    return subprocess.run([NEXTCLOUDCMD, "--non-interactive", "-u", login, "-p", password,
                           "--path", "/porte-documents", str(local), server.base_url + "/"],
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.clients
@pytest.mark.one_database
def test_chromium_adds_a_desktop_account_then_nextcloudcmd_syncs(srv: Server,
                                                                 tmp_path: Path) -> None:
    """The desktop app's start over HTTP; in Chromium: its login URL, our sign-in page,
    the charter, the grant page naming the device, "Autoriser l'accès"; the app's
    poll gets the password; ``nextcloudcmd`` syncs a file up with it; the password is
    listed in "Mon compte" and revoked there; then the client is refused."""
    from playwright.sync_api import expect, sync_playwright

    from tests.integration.test_web_browser import CHROMIUM, CHROMIUM_FLAGS

    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    _require(NEXTCLOUDCMD, "nextcloud-desktop-cmd")
    with srv.transaction() as s:
        acl.publish_charter(s, None, "Article 1 : respecter les autres.")
    flow = start(srv)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_context(base_url=srv.base_url).new_page()
                page.goto(flow["login"])
                page.wait_for_url(srv.base_url + "/login?next=**")
                page.locator("#login").fill("prof")
                page.locator("#password").fill(PASSWORD)
                page.locator("#password").press("Enter")
                page.wait_for_url(srv.base_url + "/charte?next=**")
                assert poll(srv, flow).status_code == 404
                page.get_by_role("button", name="J'ai lu et j'accepte la charte").click()
                page.wait_for_url(flow["login"])
                expect(page.get_by_role("heading", level=1)).to_have_text(
                    f"Autoriser {DESKTOP_LABEL} à accéder à vos fichiers ?")
                expect(page.locator(".login-flow-details")).to_contain_text("127.0.0.1")
                page.get_by_role("button", name="Autoriser l'accès").click()
                expect(page.get_by_role("heading", level=1)).to_have_text(
                    "Application connectée")

                delivered = poll(srv, flow)
                assert delivered.status_code == 200, delivered.text
                body = delivered.json()
                assert body["loginName"] == "prof" and body["server"] == srv.base_url
                assert poll(srv, flow).status_code == 404

                local = tmp_path / "sync"
                local.mkdir()
                (local / "cours de 6e.txt").write_text("Le théorème de Pythagore\n")
                first = nextcloudcmd(srv, "prof", body["appPassword"], local,
                                     tmp_path / "home")
                assert first.returncode == 0, first.stdout + first.stderr
                on_server = srv.session("prof").get(
                    srv.documents_url + "/cours%20de%206e.txt")
                assert on_server.status_code == 200
                assert on_server.content == "Le théorème de Pythagore\n".encode()

                page.goto("/account/")
                row = page.locator("tr", has_text=DESKTOP_LABEL)
                expect(row).to_have_count(1)
                expect(row).to_contain_text("127.0.0.1")  # its last use, by nextcloudcmd
                row.get_by_role("button", name="Révoquer").click()
                expect(page.locator(".flash, .notice").first).to_contain_text("révoqué")
                expect(page.locator("tr", has_text=DESKTOP_LABEL)).to_have_count(0)
            finally:
                browser.close()
        assert wait_until(lambda: propfind(srv, "prof", body["appPassword"]) == 401,
                          REVOKE_BOUND)
        (local / "après.txt").write_text("refusé\n")
        refused = nextcloudcmd(srv, "prof", body["appPassword"], local, tmp_path / "home")
        assert refused.returncode != 0, refused.stdout + refused.stderr
        assert srv.session("prof").get(srv.documents_url + "/apr%C3%A8s.txt"
                                       ).status_code == 404
        assert "cours de 6e.txt" in tree(local)
    finally:
        shutil.rmtree(tmp_path / "home", ignore_errors=True)
        with srv.transaction() as s:  # the other tests of the module see none
            s.query(acl.Charter).delete()
