"""The measurements, the same for every server. Each returns figures by key (see
:func:`benchmarks.plan.figure_specs`); times in ms, rates per second."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .client import Client, Endpoint, repeated_body, run_wrk
from .memory import RssSampler
from .plan import MiB, Plan, size_label
from .school_files import school_mix

ALLPROP = (b'<?xml version="1.0" encoding="utf-8"?>'
           b'<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>')
# What rclone's WebDAV backend asks when it lists a folder.
RCLONE_PROPS = (b'<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop>'
                b"<d:displayname/><d:getlastmodified/><d:getcontentlength/><d:resourcetype/>"
                b"</d:prop></d:propfind>")
SMALL_FILE = "small.bin"
Figures = dict[str, float]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def big_files(client: Client, plan: Plan) -> Figures:
    """PUT then GET of each big file, ``big_repeats`` times: median MiB/s."""
    block = bytes(range(256)) * 4096  # 1 MiB, not all zeros
    figures: Figures = {}
    for size in plan.big_files:
        name = f"big-{size_label(size)}.bin"
        puts, gets = [], []
        for _ in range(plan.big_repeats):
            started = time.perf_counter()
            client.request("PUT", name, body=repeated_body(size, block),
                           headers={"Content-Length": str(size)}, expect=(200, 201, 204))
            puts.append(size / MiB / (time.perf_counter() - started))
            started = time.perf_counter()
            _status, received = client.request("GET", name, expect=(200,))
            gets.append(size / MiB / (time.perf_counter() - started))
            assert received == size, f"GET {name}: {received} of {size} bytes"
        figures[f"put_{size_label(size)}"] = round(statistics.median(puts), 1)
        figures[f"get_{size_label(size)}"] = round(statistics.median(gets), 1)
        client.request("DELETE", name, expect=(200, 204))
    return figures


def _put_many(endpoint: Endpoint, plan: Plan, folder: str, count: int,
              size: int | None = None) -> float:
    """PUT ``count`` files into ``folder`` with ``put_clients`` concurrent connections;
    returns the seconds it took. ``size``: each file is ``size`` bytes of one letter
    (the PROPFIND folders' filler); None: the files of the school mix
    (:func:`benchmarks.school_files.school_mix`), the same for every server."""
    if size is None:
        files = [(f.name(i), f.body) for i, f in enumerate(school_mix(count))]
    else:
        files = [(f"f{i:05d}.txt", b"s" * size) for i in range(count)]
    clients = [Client(endpoint, plan.request_timeout) for _ in range(plan.put_clients)]

    def work(index: int) -> None:
        client = clients[index]
        for i in range(index, count, plan.put_clients):
            name, body = files[i]
            client.request("PUT", f"{folder}/{name}", body=body, expect=(201, 204))

    started = time.perf_counter()
    with ThreadPoolExecutor(plan.put_clients) as pool:
        list(pool.map(work, range(plan.put_clients)))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return elapsed


def small_puts(client: Client, plan: Plan) -> Figures:
    """``small_puts`` files of the school mix PUT into ``puts/``: files per second."""
    client.request("MKCOL", "puts/", expect=(201,))
    elapsed = _put_many(client.endpoint, plan, "puts", plan.small_puts)
    return {"small_puts": round(plan.small_puts / elapsed, 1)}


def collections(client: Client, plan: Plan, sampler: RssSampler,
                puts_made: bool = True) -> Figures:
    """PROPFIND Depth 1 on each member count, then MOVE and DELETE of ``puts/`` (made
    here, unmeasured, when the ``small_puts`` phase did not run: ``puts_made``)."""
    endpoint = client.endpoint
    figures: Figures = {}
    if not puts_made:
        small_puts(client, plan)
    for members in plan.members:
        folder = f"m{members}"
        client.request("MKCOL", folder + "/", expect=(201,))
        _put_many(endpoint, plan, folder, members, 64)
        for mode, body in (("allprop", ALLPROP), ("rclone", RCLONE_PROPS)):
            figures[f"propfind_{mode}_{members}"] = _propfind(client, folder, body, plan)
        if members == plan.members[-1]:
            with sampler.window() as growth:
                _propfind(client, folder, ALLPROP, plan)
            figures[f"propfind_rss_growth_{members}"] = round(growth["growth"] / MiB, 1)
    # MOVE there, back and there again: the median of three, as for PROPFIND (one
    # MOVE alone measured mostly what a server does the first time after its start).
    # Every server first moves a folder of one file, unmeasured: a server's first MOVE
    # pays its one-time costs (ours: compiling its statements, 3.5 ms), which made the
    # first of the three measured MOVEs about twice the others and moved the median.
    client.request("MKCOL", "warm-up/", expect=(201,))
    client.request("PUT", "warm-up/one.txt", body=b"x", expect=(201,))
    client.request("MOVE", "warm-up/", headers={"Destination": endpoint.url("warmed-up/"),
                                                "Overwrite": "F"}, expect=(201,))
    moves = []
    for source, target in (("puts/", "moved/"), ("moved/", "puts/"), ("puts/", "moved/")):
        started = time.perf_counter()
        client.request("MOVE", source, headers={"Destination": endpoint.url(target),
                                                "Overwrite": "F"}, expect=(201,))
        moves.append(time.perf_counter() - started)
    figures["move_collection"] = _ms(statistics.median(moves))
    started = time.perf_counter()
    client.request("DELETE", "moved/", expect=(200, 204))
    figures["delete_collection"] = _ms(time.perf_counter() - started)
    return figures


def _propfind(client: Client, folder: str, body: bytes, plan: Plan) -> float:
    times = []
    for _ in range(plan.propfind_repeats):
        started = time.perf_counter()
        client.request("PROPFIND", folder + "/", body=body,
                       headers={"Depth": "1", "Content-Type": "application/xml"},
                       expect=(207,))
        times.append(time.perf_counter() - started)
    return _ms(statistics.median(times))


def latency(client: Client, plan: Plan) -> Figures:
    """Median time of a sequential GET of a 4 KiB file at each path depth."""
    figures: Figures = {}
    deepest = max(plan.latency_depths)
    folders = [f"d{i}" for i in range(1, deepest)]
    for i in range(len(folders)):
        client.request("MKCOL", "/".join(folders[: i + 1]) + "/", expect=(201,))
    body = b"l" * 4096
    for depth in plan.latency_depths:
        path = "/".join([*folders[: depth - 1], "file.bin"])
        client.request("PUT", path, body=body, expect=(201, 204))
        times = []
        for _ in range(plan.latency_repeats):
            started = time.perf_counter()
            client.request("GET", path, expect=(200,))
            times.append(time.perf_counter() - started)
        figures[f"get_latency_depth_{depth}"] = _ms(statistics.median(times))
    return figures


def prepare_small_file(client: Client) -> None:
    client.request("PUT", SMALL_FILE, body=b"g" * 4096, expect=(201, 204))


def concurrent_gets(endpoint: Endpoint, plan: Plan, authorization: bool = True) -> Figures:
    """``wrk`` GETs of the 4 KiB file at each connection count: req/s and p99 ms."""
    figures: Figures = {}
    for conns in plan.wrk_connections:
        result = run_wrk(endpoint.url(SMALL_FILE),
                         endpoint.authorization if authorization else None, conns,
                         plan.wrk_seconds)
        figures[f"wrk_rps_{conns}"] = round(result.requests_per_second, 1)
        figures[f"wrk_p99_{conns}"] = round(result.p99_ms, 2)
        figures[f"wrk_errors_{conns}"] = result.errors
    return figures


PHASES = ("big_files", "small_puts", "collections", "latency", "concurrent_gets", "morning")


def dav_server(endpoint: Endpoint, pid: int, plan: Plan,
               phases: tuple[str, ...] = PHASES,
               morning: Callable[[], Figures] | None = None) -> dict[str, Any]:
    """The figures of one DAV server, in run order; ``peak_rss`` over all of it.
    ``phases``: which of :data:`PHASES` to run (all by default); ``morning`` runs the
    school morning (our servers only, :mod:`benchmarks.morning`)."""
    sampler = RssSampler(pid).start()
    client = Client(endpoint, plan.request_timeout)
    figures: Figures = {}

    def small_gets() -> Figures:
        prepare_small_file(client)
        return concurrent_gets(endpoint, plan)

    measures = {"big_files": lambda: big_files(client, plan),
                "small_puts": lambda: small_puts(client, plan),
                "collections": lambda: collections(client, plan, sampler,
                                                   "small_puts" in phases),
                "latency": lambda: latency(client, plan),
                "concurrent_gets": small_gets, "morning": morning}
    try:
        for phase in (p for p in PHASES if p in phases):
            measure = measures[phase]
            if measure is None:
                continue
            # Diagnostics (JSON only): the memory before each phase, and which phase
            # raised the peak.
            figures[f"rss_before_{phase}"] = round(sampler.now() / MiB, 1)
            figures.update(measure())
            figures[f"peak_rss_after_{phase}"] = round(sampler.peak / MiB, 1)
    finally:
        client.close()
        figures["peak_rss"] = round(sampler.stop() / MiB, 1)
    return figures


def bare_server(endpoint: Endpoint, pid: int, plan: Plan,
                phases: tuple[str, ...] = PHASES) -> dict[str, Any]:
    """The bare application's figures: small PUTs (``small_puts``; each a
    durable write and a libmagic call, nothing else) and small GETs."""
    figures: Figures = {}
    if "small_puts" in phases:
        elapsed = _put_many(endpoint, plan, "puts", plan.small_puts)
        figures["small_puts"] = round(plan.small_puts / elapsed, 1)
    if "concurrent_gets" in phases:
        figures.update(concurrent_gets(endpoint, plan))
    return figures
