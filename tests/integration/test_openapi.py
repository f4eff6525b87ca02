"""``GET /api/openapi.json``: a valid OpenAPI 3.1 document that lists every JSON API
route the running server has, with its body schema, and whose documented body is the
one the API accepts."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from openapi_spec_validator import validate

from tests.conftest import Server, running_server
from tests.integration.test_web_booking import Api


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("openapi"), users={"ann": "teacher"}) as s:
        yield s


@pytest.mark.one_database  # the document only
def test_document_is_valid_and_lists_every_api_route(srv: Server) -> None:
    answer = requests.get(srv.base_url + "/api/openapi.json", timeout=30)
    assert answer.status_code == 200
    doc = answer.json()
    validate(doc)  # raises on an invalid OpenAPI document
    operations = {(method.upper(), path) for path, item in doc["paths"].items()
                  for method in item}
    assert {
        ("GET", "/api/booking/session"), ("GET", "/api/booking/domains"),
        ("GET", "/api/booking/resources/{resource_id}/bookings"),
        ("POST", "/api/booking/bookings"), ("GET", "/api/booking/bookings/mine"),
        ("POST", "/api/booking/bookings/{booking_id}/cancel"),
        ("POST", "/api/booking/series/{series_id}/cancel"), ("GET", "/api/booking/pending"),
        ("POST", "/api/booking/bookings/{booking_id}/validate"),
        ("POST", "/api/booking/validate"),
        ("POST", "/api/booking/bookings/{booking_id}/refuse"),
        ("PATCH", "/api/booking/bookings/{booking_id}"),
        ("POST", "/api/booking/lessons/{lesson_id}/bookings"),
        ("GET", "/api/textbook/week"), ("GET", "/api/textbook/lessons/{lesson_id}"),
        ("POST", "/api/textbook/lessons"), ("POST", "/api/textbook/lessons/{lesson_id}/move"),
        ("POST", "/api/textbook/lessons/{lesson_id}/cancel"),
        ("POST", "/api/textbook/lessons/{lesson_id}/activities"),
        ("GET", "/api/textbook/activities/{activity_id}/handins"),
        ("PUT", "/api/textbook/activities/{activity_id}/handin/{name}"),
        ("DELETE", "/api/textbook/handin-files/{file_id}"),
        ("PUT", "/api/textbook/activities/{activity_id}/corrections/{student_id}/{name}"),
        ("POST", "/api/textbook/activities/{activity_id}/close"),
        ("POST", "/api/textbook/activities/{activity_id}/reopen"),
    } <= operations

    create = doc["paths"]["/api/booking/bookings"]["post"]
    assert "201" in create["responses"] and "422" in create["responses"]
    body = doc["components"]["schemas"]["NewBooking"]
    assert sorted(body["required"]) == ["end", "resource_id", "start"]
    assert "Repeat" in doc["components"]["schemas"]
    week = doc["paths"]["/api/booking/resources/{resource_id}/bookings"]["get"]
    assert [p["name"] for p in week["parameters"]] == ["resource_id", "week"]
    update = doc["paths"]["/api/booking/bookings/{booking_id}"]["patch"]
    assert update["requestBody"]["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/BookingEdit"
    edit = doc["components"]["schemas"]["BookingEdit"]["properties"]
    assert {"start", "end", "quantity", "purpose", "scope", "on_conflict"} <= set(edit)


def test_every_documented_route_answers_on_the_running_server(srv: Server) -> None:
    """No documented path is a 404 or a 405: signed in, GETs answer, POSTs (and PUTs,
    DELETEs) with an empty body answer 400 (not 404/405), path parameters filled with 1."""
    doc = requests.get(srv.base_url + "/api/openapi.json", timeout=30).json()
    api = Api(srv, "ann")
    for path, item in doc["paths"].items():
        url = srv.base_url + re.sub(r"\{\w+_id\}", "1", path)
        for method in item:
            answer = (api.http.get(url, timeout=30) if method == "get" else
                      api.http.request(method.upper(), url, json={}, timeout=30,
                                       headers={"X-CSRFToken": api.token}))
            assert answer.status_code not in (405, 500), (method, path, answer.text)
            assert answer.headers["Content-Type"].startswith("application/json"), path
