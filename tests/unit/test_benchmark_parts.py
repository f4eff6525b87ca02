"""The benchmark's own parts that decide what its figures mean (issue 22): the school
mix of small files is the same in every run and each file is a valid file of its
kind (libmagic recognises it as a school's server would); the morning's percentiles
are nearest-rank; the profile summary counts request threads only; a run checks the
programs its servers need before it starts; a median says when its runs differ; a
quick run's table does not judge the targets."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from benchmarks.morning import _percentile
from benchmarks.plan import FULL, figure_specs
from benchmarks.profile import summarise
from benchmarks.report import differences, target_status
from benchmarks.run import missing_tools
from benchmarks.school_files import KINDS, school_mix
from providers.content_types import sniff

pytestmark = pytest.mark.one_database  # no database at all

EXPECTED = {"txt": "text/plain", "pdf": "application/pdf", "png": "image/png",
            "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "odt": "application/vnd.oasis.opendocument.text", "csv": "text/csv"}


def test_the_mix_is_the_same_in_every_run_and_holds_every_kind() -> None:
    first, again = school_mix(60), school_mix(60)
    assert [(f.kind, f.body) for f in first] == [(f.kind, f.body) for f in again]
    assert {f.kind for f in first[: len(KINDS)]} == set(KINDS)
    assert len({f.body for f in first}) == 60  # no two files alike
    assert all(500 <= len(f.body) <= 64 * 1024 for f in first)


def test_each_file_is_recognised_as_its_kind() -> None:
    for index, item in enumerate(school_mix(2 * len(KINDS))):
        name = item.name(index)
        assert sniff(item.body[:2048], name) == EXPECTED[item.kind], name
        if item.kind in ("docx", "odt"):
            with zipfile.ZipFile(io.BytesIO(item.body)) as archive:
                assert archive.testzip() is None
        if item.kind == "txt":
            assert "é" in item.body.decode()  # French, in UTF-8


def test_percentiles_are_nearest_rank_in_ms() -> None:
    values = [i / 1000 for i in range(1, 101)]  # 1 … 100 ms
    assert (_percentile(values, 0.5), _percentile(values, 0.95),
            _percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert _percentile([0.2], 0.99) == 200.0


def test_the_profile_summary_counts_request_threads_only() -> None:
    raw = ("run (threading.py:1);communicate (cheroot/server.py:1);"
           "finish (providers/blobs.py:9) 30\n"
           "run (threading.py:1);communicate (cheroot/server.py:1);"
           "commit_write (providers/store.py:5) 10\n"
           "run (threading.py:1);tick (davserver/leases.py:3) 60\n")
    text = summarise(raw)
    assert text.startswith("40 samples in request threads")
    assert "75.0 %  blobs.finish" in text and "25.0 %  store.commit_write" in text
    assert "leases" not in text


def test_a_run_names_the_programs_its_servers_lack(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    wrk = tmp_path / "wrk"
    wrk.write_text("#!/bin/sh\n")
    wrk.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert missing_tools(["ours", "bare"]) == []
    assert missing_tools(["ours", "apache", "rclone", "cluster", "nginx"]) == [
        "apache2", "rclone", "nginx"]
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    assert missing_tools(["ours"]) == ["wrk"]


def test_a_median_says_what_its_runs_do_not_share() -> None:
    def run(quick: bool, phases: list[str], servers: list[str]) -> dict[str, object]:
        return {"meta": {"quick": quick, "phases": phases}, "servers": dict.fromkeys(servers, {})}

    alike = [run(False, ["latency"], ["ours", "bare"]) for _ in range(3)]
    assert differences(alike) == []
    mixed = [run(False, ["latency", "collections"], ["ours", "bare"]),
             run(False, ["collections"], ["ours"])]
    assert differences(mixed) == ["phases: latency,collections / collections",
                                  "servers: bare,ours / ours"]
    assert differences([run(True, [], ["ours"]), run(False, [], ["ours"])]) == [
        "quick: True / False"]


def test_a_quick_table_lists_the_targets_without_judging_them() -> None:
    spec = next(s for s in figure_specs(FULL) if s.targets)
    results = {"ours": {spec.key: 1.0}, "bare": {spec.key: 1.0}, "apache": {spec.key: 1.0},
               "wsgidav": {spec.key: 1.0}, "nginx": {spec.key: 1.0}}
    judged = target_status(spec, results)
    assert judged[0] in "✔✘?"
    unjudged = target_status(spec, results, judged=False)
    assert unjudged.startswith("not judged: ") and not any(m in unjudged for m in "✔✘")
