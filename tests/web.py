"""A browser-like HTTP client for the web layer (requests, real cookies): reads the
CSRF token from the page's form as a browser would submit it, signs in and out.

Shared by the web tests; the real-browser tests drive Chromium instead, in contexts
opened by :func:`browser_context`, which fail the test on any Content-Security-Policy
violation of our pages.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import requests
from lxml import html
from requests.adapters import HTTPAdapter

from tests.conftest import Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

# Forwards every ``securitypolicyviolation`` event of a page (scripts, styles, frames,
# forms...) to the test; added to every page of the context before its own scripts.
_REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
                        + ` at ${e.sourceFile || document.location.href}:${e.lineNumber}`);
});
"""
_VIOLATIONS: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


@contextmanager
def browser_context(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    """A new browser context (no cookies) on ``base_url`` that records every Content
    Security Policy violation of its pages, both as the ``securitypolicyviolation``
    event and as Chromium's console message; when the block ends without another
    error, any violation recorded (and not taken by :func:`take_csp_violations`) fails
    the test. The one place the browser tests watch the policy."""
    context = browser.new_context(base_url=base_url)
    violations: list[str] = []
    _VIOLATIONS[context] = violations

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    context.expose_binding("__cspViolation", lambda _source, text: violations.append(text))
    context.add_init_script(_REPORT_VIOLATIONS)
    context.on("console", on_console)
    try:
        yield context
    finally:
        context.close()
    assert not violations, f"Content Security Policy violations: {violations}"


def take_csp_violations(page: Page) -> list[str]:
    """The violations recorded so far in ``page``'s context, forgotten (for a test
    that provokes one on purpose)."""
    violations = _VIOLATIONS[page.context]
    taken = list(violations)
    violations.clear()
    return taken


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
