"""« Mes rubriques » (``web/documents/rubric_news.py``): a new file in a rubric notifies
its followers who may read it, in the writer's transaction, with a bounded number of
SQL statements whatever the number of followers.

The whole application runs in-process (WSGI, no socket) on this run's database
(SQLite, or PostgreSQL when ``DAVSERVER_DATABASE_URL`` points at one: the bulk insert
of the notifications is the database's); the file is written by a real PUT with Basic
credentials; statements are counted with SQLAlchemy's ``before_cursor_execute`` event
(:func:`tests.unit.conftest.count_queries`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.test import Client

import acl
from davserver import auth
from davserver.app import Application, create_app
from davserver.config import Config
from tests.conftest import BACKENDS, drop_database, fresh_database_url
from tests.unit.conftest import count_queries
from web.notifications import Notification, NotificationKind

PASSWORD = "password-of-the-test-42"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"pub:{PASSWORD}".encode()).decode()}


@pytest.fixture(params=BACKENDS)
def apps(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[list[Application]]:
    """A list that the test fills with apps (each on a fresh database of this run's
    kind: :func:`_app`), disposed of and dropped afterwards."""
    # The credential generation is read again once a second: on a loaded machine one
    # request of a measured pair would pay that statement. Read once, at the start.
    monkeypatch.setattr(auth, "GENERATION_EVERY", 3600.0)
    made: list[Application] = []
    yield made
    for app in made:
        app.db.dispose()
        drop_database(getattr(app, "_test_dbname", None))


def _app(apps: list[Application], where: Path) -> Application:
    url, dbname = fresh_database_url(where)
    app = create_app(Config(data_dir=where / "data", database_url=url))
    app._test_dbname = dbname  # type: ignore[attr-defined]
    apps.append(app)
    return app


def _club(app: Application, followers: int) -> tuple[set[int], set[int]]:
    """A school's rubric « club » where ``pub`` publishes, read by group 4B (a
    population grant) and by one user named on it; ``followers`` follow it: three in
    four may read it (in 4B, or named), the others may not (in no group). Returns the
    followers who may read and those who may not."""
    readers, strangers = set(), set()
    with app.db.transaction() as s:
        school = acl.ensure_school(s, "Collège Jean Moulin")
        acl.create_user(s, "pub", PASSWORD, "teacher", school_id=school)
        club = acl.add_rubric(s, "club", "Club théâtre", school_id=school).id
        group = acl.ensure_group(s, school, "4B")
        acl.grant(s, "club", "publisher", user="pub")
        acl.grant(s, "club", "visitor", pop=acl.Population(group_id=group))
        for i in range(followers):
            uid = acl.create_user(s, f"f{i:02d}", PASSWORD, "student", school_id=school).id
            if i == 0:
                acl.grant(s, "club", "visitor", user=f"f{i:02d}")
                readers.add(uid)
            elif i % 4:
                acl.add_member(s, group, uid)
                readers.add(uid)
            else:
                strangers.add(uid)
            acl.set_subscriptions(s, uid, {club}, {club})
    return readers, strangers


def _told(app: Application) -> dict[int, int]:
    with app.db.transaction(write=False) as s:
        told: dict[int, int] = {}
        for uid in s.scalars(select(Notification.user_id).where(
                Notification.kind == NotificationKind.rubric_contribution)):
            told[uid] = told.get(uid, 0) + 1
        return told


def test_a_new_file_notifies_its_followers_in_the_same_statements_for_2_and_20(
        apps: list[Application], tmp_path: Path) -> None:
    counts = {}
    for followers in (2, 20):
        app = _app(apps, tmp_path / str(followers))
        readers, strangers = _club(app, followers)
        assert readers and (strangers or followers < 4)
        client = Client(app.wsgi)
        # a first file: what a process does once (settings, the space's row) is done
        assert client.put("/dav/rubriques/club/premier.txt", data=b"1",
                          headers=BASIC).status_code == 201
        with count_queries(app.db) as counter:
            answer = client.put("/dav/rubriques/club/affiche.pdf", data=b"%PDF",
                                headers=BASIC)
        assert answer.status_code == 201
        counts[followers] = counter.count
        assert _told(app) == {uid: 2 for uid in readers}  # not the others
    assert counts[2] == counts[20], counts
