"""Origins in the configuration (``server.public_urls``, ``dav.cors_origins``): their
canonical form (RFC 6454 §6.1), and the error that names a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from davserver.config import ConfigError, load_config, parse_origin


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
