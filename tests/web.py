"""A browser-like HTTP client for the web layer (requests, real cookies): reads the
CSRF token from the page's form as a browser would submit it, signs in and out.

Shared by the web tests; the real-browser tests drive Chromium instead.
"""

from __future__ import annotations

import requests
from lxml import html
from requests.adapters import HTTPAdapter

from tests.conftest import Server


def csrf_token(page: str) -> str:
    """The value of the first ``csrf_token`` hidden field of an HTML page."""
    values = html.fromstring(page).xpath('//input[@name="csrf_token"]/@value')
    assert values, "no csrf_token field in the page"
    return str(values[0])


class SourceAddress(HTTPAdapter):
    """Connections from a chosen loopback address (``127.0.0.2``…: Linux binds any
    127.0.0.0/8 address), to play clients on several machines."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]


def from_address(http: requests.Session, address: str) -> requests.Session:
    """``http`` made to connect from ``address`` (returned for chaining)."""
    http.mount("http://", SourceAddress(address))
    return http


class WebClient:
    """One browser's worth of cookies against ``server``; never follows redirects
    unless asked, so tests see each status. ``source``: the loopback address it
    connects from (default: the system's choice, 127.0.0.1)."""

    def __init__(self, server: Server, source: str | None = None) -> None:
        self.server = server
        self.http = requests.Session()
        if source is not None:
            from_address(self.http, source)

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def get(self, path: str, **kw: object) -> requests.Response:
        return self.http.get(self.url(path), allow_redirects=False, timeout=30, **kw)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str] | list[tuple[str, str]],
             **kw: object) -> requests.Response:
        """POST a form: a dict, or (name, value) pairs for a field sent several times."""
        return self.http.post(self.url(path), data=data, allow_redirects=False, timeout=30,
                              **kw)  # type: ignore[arg-type]

    def login(self, login: str, password: str, next_path: str = "") -> requests.Response:
        """GET the form, POST it with its token; returns the POST's response."""
        form = self.get("/login" + (f"?next={next_path}" if next_path else ""))
        assert form.status_code == 200, form.text
        return self.post("/login", {"csrf_token": csrf_token(form.text), "login": login,
                                    "password": password, "next": next_path})

    def logout(self) -> requests.Response:
        """POST the header's sign-out form with its token."""
        page = self.get("/")
        return self.post("/logout", {"csrf_token": csrf_token(page.text)})
