"""Web settings from the configuration: the trusted proxy's scheme, the session
signing key kept under the data directory, the locale."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, drop_database, make_server, running_server
from tests.curl import Curl
from tests.web import WebClient

# One database is enough: configuration of the web layer
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database


def cookie_attributes(curl: Curl, url: str, *headers: str) -> list[str]:
    args = [a for h in headers for a in ("-H", h)]
    cookie = curl(*args, url).headers["set-cookie"]
    return [a.strip().lower() for a in cookie.split(";")]


def test_secure_cookie_and_hsts_behind_a_trusted_proxy(tmp_path: Path) -> None:
    env = {"DAVSERVER_SERVER__TRUST_FORWARDED_PROTO": "true"}
    with running_server(tmp_path, extra_env=env, users={"alice": "teacher"}) as srv:
        curl = Curl(srv, tmp_path)
        login = srv.base_url + "/login"
        assert "secure" in cookie_attributes(curl, login, "X-Forwarded-Proto: https")
        assert "secure" not in cookie_attributes(curl, login, "X-Forwarded-Proto: http")
        assert "secure" not in cookie_attributes(curl, login)
        # HSTS (RFC 6797) only when the proxy says the browser came over HTTPS
        hsts = "strict-transport-security"
        assert curl("-H", "X-Forwarded-Proto: https", login).headers[hsts] == "max-age=31536000"
        assert hsts not in curl("-H", "X-Forwarded-Proto: http", login).headers
        assert hsts not in curl(login).headers


def test_generated_secret_key_is_kept_and_sessions_survive_a_restart(tmp_path: Path) -> None:
    with running_server(tmp_path, users={"alice": "teacher"}) as srv:
        key_file = srv.data_dir / "web-secret-key"
        key = key_file.read_text()
        assert len(key.strip()) == 64
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        browser = WebClient(srv)
        assert browser.login("alice", PASSWORD).status_code == 302
        srv.restart()
        assert key_file.read_text() == key
        assert browser.get("/textbook/").status_code == 200


def test_configured_secret_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    env = {"DAVSERVER_SERVER__SECRET_KEY": "k" * 40}
    with running_server(tmp_path, extra_env=env, users={"alice": "teacher"}) as srv:
        assert WebClient(srv).login("alice", PASSWORD).status_code == 302
        assert not (srv.data_dir / "web-secret-key").exists()


def serve_error(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``davserver serve`` expected to stop at start-up (its PostgreSQL database dropped)."""
    srv, dbname = make_server(tmp_path, env)
    try:
        return subprocess.run([sys.executable, "-m", "davserver.cli", "serve", "--port", "0"],
                              env=srv.env, capture_output=True, text=True, timeout=60,
                              check=False)
    finally:
        drop_database(dbname)


def test_locale_without_catalogue_stops_the_server_naming_the_key(tmp_path: Path) -> None:
    done = serve_error(tmp_path, {"DAVSERVER_WEB__LOCALE": "de"})
    assert done.returncode == 2
    assert "web.locale: no compiled catalogue for 'de' (available: fr" in done.stderr


def test_short_secret_key_is_a_configuration_error(tmp_path: Path) -> None:
    done = serve_error(tmp_path, {"DAVSERVER_SERVER__SECRET_KEY": "short"})
    assert done.returncode == 2
    assert "DAVSERVER_SERVER__SECRET_KEY: server.secret_key" in done.stderr
