"""The student and parent view's JSON API (issue 5, ``/api/textbook/homework…``)
against a real server (the school of :mod:`tests.integration.homework_kit`): the
same rules as the pages — the week's visible homework by due date, ticks by the
student only, a parent reads their own children only, the teacher's counts, the
homework types changed by the head and admins only — and its place in the OpenAPI
document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import IN_TERM, Server, running_server
from tests.integration.homework_kit import PREVIOUS, WEEK, build_school, ticks, type_rows
from tests.integration.test_web_booking import Api
from web import textbook

pytestmark = pytest.mark.clock(IN_TERM)

IDS: dict[str, int] = {}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("homework-api")) as server:
        IDS.update(build_school(server))
        yield server


class TextbookApi(Api):
    def __init__(self, server: Server, login: str) -> None:
        super().__init__(server, login)
        self.base = server.base_url + "/api/textbook"

    def delete(self, path: str) -> requests.Response:
        return self.http.delete(self.base + path, timeout=60,
                                headers={"X-CSRFToken": self.token})


def homework(client: TextbookApi, query: str = f"?week={WEEK}") -> dict[str, Any]:
    answer = client.get("/homework" + query)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def titles(week: dict[str, Any]) -> list[str]:
    return [item["activity"]["title"] for item in week["items"]]


def test_the_weeks_visible_homework_by_due_date(srv: Server) -> None:
    ben = TextbookApi(srv, "ben")
    week = homework(ben)
    assert week["monday"] == WEEK and week["child"] is None and week["children"] == []
    assert titles(week) == ["Exercices 1 p. 10", "Rédaction"]
    assert [i["due"][:16] for i in week["items"]] == ["2026-09-09T10:00", "2026-09-10T09:00"]
    assert week["items"][0]["done"] is False and "private_note" not in week["items"][0][
        "activity"]
    assert titles(homework(ben, f"?week={PREVIOUS}")) == ["Révisions"]
    assert titles(homework(TextbookApi(srv, "dora"))) == ["Exercices 1 p. 10", "Rédaction",
                                                         "Fiche Dora"]
    bad = ben.get("/homework?week=demain")
    assert bad.status_code == 400 and "demain" in bad.json()["error"]
    assert TextbookApi(srv, "ann").get("/homework").status_code == 403
    assert requests.get(ben.base + "/homework", timeout=30).status_code == 401


def test_tick_untick_and_who_may(srv: Server) -> None:
    ben = TextbookApi(srv, "ben")
    done = ben.post(f"/homework/{IDS['H1']}/done")
    assert done.status_code == 200 and done.json()["done"] is True
    assert done.json()["done_at"].endswith("+00:00")
    assert [i["done"] for i in homework(ben)["items"]] == [True, False]

    paul = TextbookApi(srv, "paul")
    week = homework(paul)
    assert week["children"] == ["ben", "zoe"] and week["child"] == "ben"
    assert [i["done"] for i in week["items"]] == [True, False]
    assert titles(homework(paul, f"?week={WEEK}&child=zoe")) == ["Problème 4C"]
    for child in ("eve", "dora", "nobody"):
        refused = paul.get(f"/homework?week={WEEK}&child={child}")
        assert refused.status_code == 403 and "vos enfants" in refused.json()["error"]

    before = ticks(srv)
    assert paul.post(f"/homework/{IDS['H2']}/done").status_code == 403
    assert paul.delete(f"/homework/{IDS['H1']}/done").status_code == 403
    assert TextbookApi(srv, "ann").post(f"/homework/{IDS['H2']}/done").status_code == 403
    for activity in (999_999, IDS["H5"], IDS["H3"], IDS["H4"], IDS["K1"]):
        missing = ben.post(f"/homework/{activity}/done")
        assert missing.status_code == 404, activity
        assert missing.json()["error"] == "Ce travail à faire n'existe pas."
    no_token = ben.http.post(ben.base + f"/homework/{IDS['H2']}/done", timeout=30)
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["error"]
    assert ticks(srv) == before

    ann = TextbookApi(srv, "ann")
    lesson = ann.get(f"/lessons/{IDS['M1']}").json()
    counts = {a["title"]: (a.get("done_count"), a.get("student_count"))
              for a in lesson["activities"]}
    assert counts["Exercices 1 p. 10"] == (1, 2)
    assert counts["Fiche Dora"] == (0, 1)
    assert counts["Cours sur les fractions"] == (None, None)
    assert "done_count" not in str(ben.get(f"/lessons/{IDS['M1']}").json())

    undone = ben.delete(f"/homework/{IDS['H1']}/done")
    assert undone.status_code == 200 and undone.json() == {
        "activity_id": IDS["H1"], "done": False, "done_at": None}
    assert ticks(srv) == [t for t in before if t[0] != IDS["H1"]]


def test_homework_types_through_the_api(srv: Server) -> None:
    ann, hugo = TextbookApi(srv, "ann"), TextbookApi(srv, "hugo")
    assert ann.get("/homework-types").json() == {"types": ["Exercices", "Devoir maison",
                                                           "Autre"]}
    for path, body in (("/homework-types", {"name": "Exposé"}),
                       ("/homework-types/rename", {"old": "Autre", "name": "Divers"}),
                       ("/homework-types/remove", {"name": "Autre"})):
        refused = ann.post(path, body)
        assert refused.status_code == 403 and "direction" in refused.json()["error"]
    assert type_rows(srv) == 0

    added = hugo.post("/homework-types", {"name": "Exposé"})
    assert added.status_code == 201
    assert added.json()["types"] == ["Exercices", "Devoir maison", "Autre", "Exposé"]
    assert hugo.post("/homework-types/rename", {"old": "Exposé", "name": "Oral"}).json()[
        "types"][-1] == "Oral"
    for name in ("Devoir maison", "Autre", "Oral"):
        assert hugo.post("/homework-types/remove", {"name": name}).status_code == 200
    last = hugo.post("/homework-types/remove", {"name": "Exercices"})
    assert last.status_code == 400 and "au moins un" in last.json()["error"]
    for path, body, status in (("/homework-types", {"name": ""}, 400),
                               ("/homework-types", {"name": "EXERCICES"}, 400),
                               ("/homework-types", {}, 400),
                               ("/homework-types/rename", {"old": "Autre", "name": "X"}, 404),
                               ("/homework-types/remove", {"name": "Autre"}, 404)):
        answer = hugo.post(path, body)
        assert answer.status_code == status, (path, body, answer.text)
    assert ann.get("/homework-types").json() == {"types": ["Exercices"]}

    # The API's default type is the school's first; a removed one is refused.
    given = ann.post(f"/lessons/{IDS['M1']}/activities", {"kind": "homework",
                                                          "title": "Sans type"})
    assert given.status_code == 201 and given.json()["homework_type"] == "Exercices"
    old = ann.post(f"/lessons/{IDS['M1']}/activities", {
        "kind": "homework", "title": "Ancien type", "homework_type": "Autre"})
    assert old.status_code == 400 and "Exercices" in old.json()["error"]
    with srv.transaction() as s:  # homework given before keeps its type's text
        assert s.get_one(textbook.Activity, IDS["H2"]).homework_type == "Devoir maison"


def test_documented_in_openapi(srv: Server) -> None:
    paths = requests.get(srv.base_url + "/api/openapi.json", timeout=30).json()["paths"]
    assert set(paths["/api/textbook/homework/{activity_id}/done"]) == {"post", "delete"}
    assert [p["name"] for p in paths["/api/textbook/homework"]["get"]["parameters"]] == \
        ["week", "child"]
    add = paths["/api/textbook/homework-types"]["post"]
    assert add["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/TypeName")
