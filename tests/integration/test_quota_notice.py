"""One notification when a porte-documents crosses 80 % of its quota (issue 8), over
WebDAV as in the browser: none below the line, one on crossing it, none for writes
that stay above, one again after it went below and crossed again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

import acl
from tests.conftest import running_server
from web.notifications import Notification


def test_crossing_80_percent_notifies_once(tmp_path: Path) -> None:
    with running_server(tmp_path, users={"zoe": "student"}) as srv:
        srv.cli("quota", "set", "zoe", "100000B")
        dav = srv.session("zoe")
        url = srv.documents_url

        def warnings() -> list[str]:
            with srv.transaction() as s:
                zoe = acl.find_user(s, "zoe")
                assert zoe is not None
                return [n.subject for n in s.scalars(select(Notification).where(
                    Notification.user_id == zoe.id).order_by(Notification.id))]

        assert dav.put(url + "/a.bin", data=b"a" * 50_000).status_code == 201
        assert warnings() == []
        assert dav.put(url + "/b.bin", data=b"b" * 35_000).status_code == 201
        assert warnings() == ["Porte-documents rempli à 85 %"]
        assert dav.put(url + "/c.bin", data=b"c" * 5_000).status_code == 201
        assert len(warnings()) == 1
        # Below the line again (a delete frees space at once), then over it: told again.
        assert dav.delete(url + "/b.bin").status_code == 204
        assert dav.put(url + "/d.bin", data=b"d" * 30_000).status_code == 201
        assert warnings() == ["Porte-documents rempli à 85 %", "Porte-documents rempli à 85 %"]
