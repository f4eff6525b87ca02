"""A browser-like client of the file manager (``/documents/``): the page's forms with
their CSRF token, and uploads as the page's script sends them (a raw PUT body with
the token in ``X-CSRFToken``). Shared by the file manager's tests."""

from __future__ import annotations

from urllib.parse import quote

import requests
from lxml import html

from tests.conftest import PASSWORD, Server
from tests.web import WebClient, csrf_token


class Documents(WebClient):
    """One signed-in browser on the file manager."""

    def __init__(self, server: Server, login: str) -> None:
        super().__init__(server)
        answer = self.login(login, server.users.get(login, PASSWORD))
        assert answer.status_code == 302, answer.text

    @staticmethod
    def path(where: str) -> str:
        return "/documents/" + quote(where.strip("/")) + "/"

    def page(self, where: str, **params: str) -> requests.Response:
        return self.get(self.path(where), params=params)

    def names(self, where: str) -> list[str]:
        """The names listed on a folder's page, in the page's order."""
        answer = self.page(where)
        assert answer.status_code == 200, answer.text
        return [str(n) for n in html.fromstring(answer.text).xpath(
            '//table[@id="listing"]//a[@class="name"]/text()')]

    def act(self, where: str, action: str, items: tuple[str, ...] = (),
            token: bool = True, **fields: str) -> requests.Response:
        """POST one action on a folder's page, as its form does."""
        data: list[tuple[str, str]] = [("action", action)]
        if token:
            data.append(("csrf_token", csrf_token(self.page(where).text)))
        data += [("items", name) for name in items] + list(fields.items())
        return self.http.post(self.url(self.path(where)), data=data, allow_redirects=False,
                               timeout=60)

    def token(self, where: str) -> str:
        tree = html.fromstring(self.page(where).text)
        return str(tree.xpath('//div[@id="dropzone"]/@data-csrf')[0])

    def upload(self, where: str, name: str, body: bytes, *, replace: bool = False,
               token: str | None = None) -> requests.Response:
        """PUT one file as the page's script does."""
        url = self.url("/documents/api/fichiers/" + quote(where.strip("/") + "/" + name))
        headers = {"Content-Type": "application/octet-stream",
                   "X-CSRFToken": token if token is not None else self.token(where)}
        return self.http.put(url, data=body, headers=headers, timeout=60,
                             params={"remplacer": "1"} if replace else None)


def error_of(answer: requests.Response) -> str:
    """The refusal shown on a folder's page (or the error page's reason)."""
    tree = html.fromstring(answer.text)
    found = tree.xpath('//*[@id="action-error"]/text()') or tree.xpath(
        '//*[@class="error-reason"]/text()')
    return str(found[0]) if found else ""
