"""A school morning (issue 22): ``morning_users`` pupils arrive within
``morning_spread`` seconds, each mounting the DAV drive as Windows Explorer does, then
working a little.

Each simulated user has one keep-alive connection and does, in order (the steps of
the report):

``sign_in``
    ``OPTIONS /dav/`` with its credentials: the first request of a mount, and the
    one that pays the password check (argon2).
``explorer_burst``
    what Explorer sends after mounting: ``PROPFIND /dav/`` at Depth 0 and 1, a
    ``PROPFIND`` Depth 1 of each space it lists, and its probes of ``desktop.ini``
    (at the root and in each space) and ``Thumbs.db`` (in each space), each answered
    404.
``open_folder``
    ``PROPFIND`` Depth 1 of ``cours/`` (``morning_folder`` files) with Explorer's
    properties, then its ``desktop.ini`` and ``Thumbs.db`` probes.
``download``
    ``GET`` of each of the :data:`DOWNLOADS` files that hold content (one time each).
``upload``
    ``PUT`` of one new file of the school mix.

Users start at evenly spaced instants over the spread; every loop is bounded by the
plan's counts. The result gives, per step, p50, p95 and p99 in ms, and the errors
(any unexpected status or failed request; 0 are allowed).
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .client import Client, Endpoint, HttpError
from .plan import Plan
from .school_files import school_mix

PASSWORD = "matin-password-42"
FOLDER = "cours"
DOWNLOADS = 3
STEPS = ("sign_in", "explorer_burst", "open_folder", "download", "upload")
# The properties Explorer's WebClient reads of a listing: DAV's, and the Win32 ones of
# Microsoft's namespace (a server answers those 404 in the propstat).
EXPLORER_PROPS = (
    b'<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:" '
    b'xmlns:Z="urn:schemas-microsoft-com:"><D:prop><D:getcontentlength/>'
    b"<D:getlastmodified/><D:creationdate/><D:resourcetype/><D:displayname/>"
    b"<D:getcontenttype/><D:getetag/><Z:Win32FileAttributes/><Z:Win32CreationTime/>"
    b"<Z:Win32LastAccessTime/><Z:Win32LastModifiedTime/></D:prop></D:propfind>")
_HREF = re.compile(rb"<(?:[A-Za-z]+:)?href>([^<]+)</(?:[A-Za-z]+:)?href>")


def login(index: int) -> str:
    return f"eleve{index + 1:03d}"


def prepare(env: dict[str, str], plan: Plan, cwd: Path) -> None:
    """Make the users and their folders in the server's store
    (:mod:`benchmarks.morning_setup`, in a process with the server's environment).
    Raises ``RuntimeError`` with the set-up's output if it fails."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.morning_setup",
                           str(plan.morning_users), str(plan.morning_folder)],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"morning set-up failed ({done.returncode}):\n"
                           f"{done.stdout[-2000:]}{done.stderr[-3000:]}")


class _User:
    """One pupil's morning, timed step by step."""

    def __init__(self, origin: str, index: int, plan: Plan, upload: tuple[str, bytes]) -> None:
        self.endpoint = Endpoint(origin + "/dav/", login(index), PASSWORD)
        self.client = Client(self.endpoint, plan.request_timeout)
        self.upload = upload
        self.times: dict[str, list[float]] = {step: [] for step in STEPS}
        self.errors: list[str] = []
        self.spaces = 0  # how many spaces PROPFIND /dav/ listed

    def _propfind(self, path: str, depth: str, body: bytes = EXPLORER_PROPS) -> bytes:
        status, content = self.client.request_body(
            "PROPFIND", path, body=body,
            headers={"Depth": depth, "Content-Type": "text/xml; charset=utf-8"})
        if status != 207:
            raise HttpError(f"PROPFIND {path}: {status}")
        return content

    def _absent(self, method: str, path: str) -> None:
        status, _ = self.client.request(method, path, headers={"Depth": "0"}
                                        if method == "PROPFIND" else None)
        if status != 404:
            raise HttpError(f"{method} {path}: {status}, expected 404")

    def _timed(self, step: str, work: Callable[[], None]) -> bool:
        started = time.perf_counter()
        try:
            work()
        except Exception as error:  # noqa: BLE001 (every failure is the scenario's error)
            self.errors.append(f"{self.endpoint.login} {step}: {error}")
            return False
        self.times[step].append(time.perf_counter() - started)
        return True

    def sign_in(self) -> None:
        self.client.request("OPTIONS", "", expect=(200,))

    def burst(self) -> None:
        self._propfind("", "0")
        listing = self._propfind("", "1")
        root = urlsplit(self.endpoint.base_url).path
        spaces = sorted({unquote(urlsplit(h.decode()).path) for h in _HREF.findall(listing)}
                        - {root})
        if not spaces:
            raise HttpError("PROPFIND /dav/ Depth 1 listed no space")
        self.spaces = len(spaces)
        self._absent("PROPFIND", "desktop.ini")
        for href in spaces:
            space = href[len(root):] if href.startswith(root) else href
            self._propfind(space, "1")
            self._absent("PROPFIND", space.rstrip("/") + "/desktop.ini")
            self._absent("PROPFIND", space.rstrip("/") + "/Thumbs.db")

    def open_folder(self) -> None:
        folder = f"porte-documents/{FOLDER}/"
        self._propfind(folder, "1")
        self._absent("PROPFIND", folder + "desktop.ini")
        self._absent("PROPFIND", folder + "Thumbs.db")

    def download(self, name: str) -> None:
        self.client.request("GET", f"porte-documents/{FOLDER}/{name}", expect=(200,))

    def put(self) -> None:
        name, body = self.upload
        self.client.request("PUT", f"porte-documents/{FOLDER}/{name}", body=body,
                            expect=(201,))

    def run(self) -> None:
        try:
            if not self._timed("sign_in", self.sign_in):
                return
            if not self._timed("explorer_burst", self.burst):
                return
            if not self._timed("open_folder", self.open_folder):
                return
            for i, item in enumerate(school_mix(DOWNLOADS)):
                self._timed("download", lambda n=item.name(i): self.download(n))
            self._timed("upload", self.put)
        finally:
            self.client.close()


def _percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (seconds) in ms."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return round(ordered[int(rank) - 1] * 1000, 1)


def run(origin: str, plan: Plan) -> dict[str, float]:
    """The morning against the server at ``origin`` (``http://host:port``), once
    :func:`prepare` made its users. Returns ``morning_<step>_p50`` (and ``_p95``,
    ``_p99``, ms), ``morning_errors`` and ``morning_seconds`` (the whole scenario)."""
    uploads = school_mix(plan.morning_users + DOWNLOADS)[DOWNLOADS:]
    users = [_User(origin, i, plan, (f"devoir-{login(i)}.{uploads[i].kind}", uploads[i].body))
             for i in range(plan.morning_users)]
    gap = plan.morning_spread / max(1, plan.morning_users - 1)
    threads = [threading.Thread(target=u.run, name=f"morning-{i}") for i, u in
               enumerate(users)]
    started = time.perf_counter()
    for i, thread in enumerate(threads):
        delay = started + i * gap - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread.start()
    for thread in threads:
        thread.join(timeout=plan.request_timeout * 20)
    figures: dict[str, float] = {"morning_seconds": round(time.perf_counter() - started, 1),
                                 "morning_spaces": max((u.spaces for u in users), default=0)}
    errors = [e for u in users for e in u.errors]
    figures["morning_errors"] = len(errors) + sum(t.is_alive() for t in threads)
    for message in errors[:10]:
        print(f"benchmark: morning: {message}", file=sys.stderr, flush=True)
    for step in STEPS:
        values = [t for u in users for t in u.times[step]]
        if not values:
            continue
        for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            figures[f"morning_{step}_{name}"] = _percentile(values, fraction)
    return figures
