"""A browser-like HTTP client for the web layer (requests, real cookies): reads the
CSRF token from the page's form as a browser would submit it, signs in and out.

Shared by the web tests; the real-browser tests drive Chromium instead.
"""

from __future__ import annotations

import requests
from lxml import html

from tests.conftest import Server


def csrf_token(page: str) -> str:
    """The value of the first ``csrf_token`` hidden field of an HTML page."""
    values = html.fromstring(page).xpath('//input[@name="csrf_token"]/@value')
    assert values, "no csrf_token field in the page"
    return str(values[0])


class WebClient:
    """One browser's worth of cookies against ``server``; never follows redirects
    unless asked, so tests see each status."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = requests.Session()

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
