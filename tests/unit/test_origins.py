"""Origins in the configuration (``server.public_urls``, ``dav.cors_origins``): their
canonical form (RFC 6454 §6.1), and the error that names a bad one; and which COPY or
MOVE ``Destination`` names this server (:class:`davserver.forwarded.Origins`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from davserver.config import ConfigError, load_config, parse_origin
from davserver.forwarded import Origins

# One database is enough: configuration and pure functions
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database


@pytest.mark.parametrize(("given", "canonical"), [
    ("https://ENT.example.fr", "https://ent.example.fr"),
    ("https://ent.example.fr/", "https://ent.example.fr"),
    ("https://ent.example.fr:443", "https://ent.example.fr"),
    ("http://ent.example.fr:80", "http://ent.example.fr"),
    ("https://ent.example.fr:8443", "https://ent.example.fr:8443"),
    ("http://[::1]:8080", "http://[::1]:8080"),
])
def test_web_addresses_take_their_canonical_form(given: str, canonical: str) -> None:
    assert parse_origin(given) == canonical


@pytest.mark.parametrize(("given", "message"), [
    ("ent.example.fr", "not an http:// or https:// address"),
    ("ftp://ent.example.fr", "not an http:// or https:// address"),
    ("app://obsidian.md", "not an http:// or https:// address"),
    ("https://ent.example.fr/dav", "no path"),
    ("https://ent.example.fr?x=1", "no path"),
    ("https://user:pw@ent.example.fr", "user or password"),
    ("https://ent.example.fr:99999", "bad port"),
])
def test_bad_web_addresses_are_refused(given: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_origin(given)


def test_app_origins_may_have_any_scheme() -> None:
    assert parse_origin("app://obsidian.md", web_only=False) == "app://obsidian.md"
    assert parse_origin("capacitor://localhost", web_only=False) == "capacitor://localhost"
    with pytest.raises(ValueError, match="not an origin"):
        parse_origin("*", web_only=False)
    with pytest.raises(ValueError, match="not an origin"):
        parse_origin("null", web_only=False)


def test_origin_lists_come_from_yaml_or_the_environment(tmp_path: Path) -> None:
    assert load_config(environ={"DAVSERVER_SERVER__PUBLIC_URLS": "https://ent.example:443/"}
                       ).server.public_urls == ["https://ent.example"]
    path = tmp_path / "config.yaml"
    path.write_text("dav:\n  cors_origins: [https://App.Keeweb.info, 'app://obsidian.md']\n")
    assert load_config(path, environ={}).dav.cors_origins == ["https://app.keeweb.info",
                                                              "app://obsidian.md"]
    config = load_config(path, environ={
        "DAVSERVER_DAV__CORS_ORIGINS": "https://a.example, https://b.example:8443"})
    assert config.dav.cors_origins == ["https://a.example", "https://b.example:8443"]


def test_a_bad_origin_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("dav:\n  cors_origins: [https://app.example/path]\n")
    with pytest.raises(ConfigError, match=r"config\.yaml: dav\.cors_origins: .*no path"):
        load_config(path, environ={})


# --- a Destination on one of the server's addresses becomes its path ----------------------


def _environ(destination: str, **headers: str) -> dict[str, str]:
    return {"wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1:8080",
            "HTTP_DESTINATION": destination, **headers}


@pytest.mark.parametrize("destination", [
    "https://ent.example/dav/a%20b.txt", "https://ent.example:443/dav/a%20b.txt",
    "https://ENT.example/dav/a%20b.txt", "http://127.0.0.1:8080/dav/a%20b.txt",
])
def test_destinations_on_this_server_become_paths(destination: str) -> None:
    environ = _environ(destination)
    Origins(["https://ent.example"], trust_forwarded=False).localize(environ)
    assert environ["HTTP_DESTINATION"] == "/dav/a%20b.txt"


@pytest.mark.parametrize("destination", [
    "https://other.example/dav/x", "https://ent.example:8443/dav/x", "http://ent.example/dav/x",
    "http://127.0.0.1:1/dav/x", "https://user@ent.example/dav/x", "/dav/x",
])
def test_other_destinations_are_left_alone(destination: str) -> None:
    environ = _environ(destination)
    Origins(["https://ent.example"], trust_forwarded=False).localize(environ)
    assert environ["HTTP_DESTINATION"] == destination


def test_forwarded_headers_count_only_when_trusted() -> None:
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "ent.example"}
    untrusted = _environ("https://ent.example/dav/x", **forwarded)
    Origins([], trust_forwarded=False).localize(untrusted)
    assert untrusted["HTTP_DESTINATION"] == "https://ent.example/dav/x"
    assert "HTTP_X_FORWARDED_HOST" not in untrusted  # WsgiDAV's own check must not see it
    trusted = _environ("https://ent.example:443/dav/x", **forwarded)
    Origins([], trust_forwarded=True).localize(trusted)
    assert trusted["HTTP_DESTINATION"] == "/dav/x"
    # the proto alone: the host is the request's own (Host)
    proto_only = _environ("https://127.0.0.1:8080/dav/x", HTTP_X_FORWARDED_PROTO="https")
    Origins([], trust_forwarded=True).localize(proto_only)
    assert proto_only["HTTP_DESTINATION"] == "/dav/x"
