"""``davserver demo``, the README's first command: it makes the demo school, prints the
logins with their passwords, and serves them; a second run keeps the data. The people
it prints can mount their drive, see their rubrics and book the demo's resources."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.conftest import Server, drop_database, make_server
from tests.web import WebClient


@contextmanager
def demo(srv: Server) -> Iterator[tuple[str, str]]:
    """Run ``davserver demo --port 0``; yield (base URL, banner), stop it after."""
    proc = subprocess.Popen([sys.executable, "-m", "davserver.cli", "demo", "--port", "0"],
                            env=srv.env, stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert match, first
        lines = []  # the banner ends with the line about rubrics
        while (line := proc.stdout.readline()) and not line.startswith("Rubrics"):
            lines.append(line)
        yield f"http://127.0.0.1:{match.group(1)}", "".join(lines)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_demo_serves_its_school_and_keeps_it(tmp_path: Path) -> None:
    srv, dbname = make_server(tmp_path)
    try:
        with demo(srv) as (base, banner):
            assert "m.dupont" in banner and "m.dupont-demo" in banner, banner
            auth = ("m.dupont", "m.dupont-demo")
            root = requests.request("PROPFIND", base + "/dav/", auth=auth,
                                    headers={"Depth": "1"}, timeout=30)
            assert root.status_code == 207
            for name in ("porte-documents", "rubriques", "classeur"):
                assert f"/dav/{name}/" in root.text
            rubrics = requests.request("PROPFIND", base + "/dav/rubriques/", auth=auth,
                                       headers={"Depth": "1"}, timeout=30)
            assert "/dav/rubriques/ca/" in rubrics.text
            assert requests.put(base + "/dav/porte-documents/cours.txt", data=b"demo",
                                auth=auth, timeout=30).status_code == 201

            web = WebClient(srv)
            web.server.port = int(base.rsplit(":", 1)[1])
            assert web.login(*auth).status_code == 302
            page = web.get("/booking/")
            assert page.status_code == 200
            for resource in ("Salle informatique 1", "Chariot de 15 tablettes",
                             "Vidéoprojecteur mobile"):
                assert resource in page.text
            # the Vie scolaire's home page, with its encadré and the head's file; the
            # CA's « Comptes rendus » readable by a teacher who is not a member
            home = web.get("/rubriques/vie-scolaire/")
            assert home.status_code == 200
            assert "Bienvenue sur la vie scolaire" in home.text
            assert "Calendrier des conseils de classe" in home.text
            report = requests.get(base + "/dav/rubriques/ca/Comptes%20rendus/"
                                  "Compte%20rendu%20du%20CA%20de%20novembre.txt",
                                  auth=auth, timeout=30)
            assert report.status_code == 200 and b"budget" in report.content

        # A second run keeps what was there and makes nothing twice.
        with demo(srv) as (base, banner):
            assert "m.dupont" in banner
            kept = requests.get(base + "/dav/porte-documents/cours.txt", auth=auth,
                                timeout=30)
            assert kept.content == b"demo"
            done = subprocess.run([sys.executable, "-m", "davserver.cli", "booking",
                                   "domain", "list"], env=srv.env, capture_output=True,
                                  text=True, timeout=60, check=True)
            assert len(done.stdout.splitlines()) == 2, done.stdout
            schools = subprocess.run([sys.executable, "-m", "davserver.cli", "school",
                                      "list"], env=srv.env, capture_output=True,
                                     text=True, timeout=60, check=True)
            assert schools.stdout.splitlines() == [
                "0999999F\tCollège Jean Moulin (démo)\tzone C\tEurope/Paris"]
    finally:
        drop_database(dbname)
