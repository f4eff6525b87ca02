"""A person of two schools, through a real server: the AAF delivery of
``tests/data/people/aaf/`` imported for both collèges, then Cécile Bernard (teaching in
both) signs in once — one porte-documents, one binder, the rubrics of each school
granted to its teachers — and the web shows each rubric's school and lets her choose
the school of the school-wide pages; a school that is not hers is refused."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from lxml import html

from tests.conftest import Server, running_server
from tests.web import WebClient

AAF = Path(__file__).resolve().parent.parent / "data" / "people" / "aaf"
A, B = "0759990B", "0759991C"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("two")
    with running_server(tmp, {"DAVSERVER_AUTH__CACHE_TTL": "0"}) as server:
        for uai in (A, B):
            secret = tmp / f"passwords-{uai}.csv"
            server.cli("import", "people", str(AAF), "--school", uai, "--passwords",
                       str(secret))
            for row in csv.DictReader(secret.open(encoding="utf-8"), delimiter=";"):
                server.users[row["login"]] = row["password"]
        for uai, slug in ((A, "profs-hugo"), (B, "profs-ferry")):
            server.cli("rubric", "add", slug, "--name", f"Salle des profs {uai}",
                       "--school", uai)
            server.cli("rubric", "grant", slug, "visitor", "--profile", "teacher")
        yield server


def propfind(srv: Server, login: str, path: str) -> requests.Response:
    return requests.request("PROPFIND", srv.base_url + path, timeout=30,
                            auth=(login, srv.users[login]), headers={"Depth": "1"})


def test_one_account_sees_both_schools_rubrics(srv: Server) -> None:
    schools = json.loads(srv.cli("school", "list", "--json").stdout)
    assert sorted(s["uai"] for s in schools) == [A, B]  # both added from EtabEducNat
    root = propfind(srv, "cecile.bernard", "/dav/")
    assert root.status_code == 207
    assert "/dav/porte-documents/" in root.text and "/dav/classeur/" in root.text
    rubrics = propfind(srv, "cecile.bernard", "/dav/rubriques/")
    assert "/dav/rubriques/profs-hugo/" in rubrics.text
    assert "/dav/rubriques/profs-ferry/" in rubrics.text
    # a teacher of school A only sees A's
    only_a = propfind(srv, "marc.dupont", "/dav/rubriques/")
    assert "/dav/rubriques/profs-hugo/" in only_a.text
    assert "/dav/rubriques/profs-ferry/" not in only_a.text


def test_the_web_names_each_rubric_s_school_and_switches_school(srv: Server) -> None:
    web = WebClient(srv)
    assert web.login("cecile.bernard", srv.users["cecile.bernard"]).status_code == 302
    page = html.fromstring(web.get("/rubriques/").text)
    labels = [" ".join(td.text_content().split()) for td in page.xpath("//td[@class='name']")]
    assert "Salle des profs 0759990B CLG-VICTOR HUGO" in labels
    assert "Salle des profs 0759991C CLG-JULES FERRY-CŒUR DE VILLE" in labels
    options = {o.text: o.get("value") for o in page.xpath("//select[@name='school']/option")}
    assert set(options) == {"CLG-VICTOR HUGO", "CLG-JULES FERRY-CŒUR DE VILLE"}
    token = page.xpath("//form[@class='school-switch']//input[@name='csrf_token']/@value")[0]
    moved = web.post("/etablissement", {"csrf_token": token, "next": "/rubriques/",
                                        "school": options["CLG-JULES FERRY-CŒUR DE VILLE"]})
    assert (moved.status_code, moved.headers["Location"]) == (303, "/rubriques/")
    chosen = html.fromstring(web.get("/rubriques/").text).xpath(
        "//select[@name='school']/option[@selected]")
    assert [o.text for o in chosen] == ["CLG-JULES FERRY-CŒUR DE VILLE"]
    other = web.post("/etablissement", {"csrf_token": token, "school": "999999"})
    assert other.status_code == 404

    one = WebClient(srv)  # a person of one school has nothing to choose
    assert one.login("marc.dupont", srv.users["marc.dupont"]).status_code == 302
    assert 'class="school-switch"' not in one.get("/rubriques/").text
