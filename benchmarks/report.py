"""The table of a run (rich) and its raw JSON."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .plan import SERVER_TITLES, SERVERS, FigureSpec

Results = dict[str, dict[str, float]]


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def _ratio(ours: float | None, ref: float | None) -> str:
    if ours is None or not ref:
        return "—"
    return f"{ours / ref:.2f}×"


def target_status(spec: FigureSpec, results: Results, judged: bool = True) -> str:
    """Each target of the figure with ✔ (met), ✘ (not met) or ? (no figure); with
    ``judged=False`` (a ``--quick`` run, whose tiny sizes mean nothing) the targets are
    listed unmarked, after "not judged:"."""
    if not judged:
        return "not judged: " + ", ".join(target.text() for target in spec.targets) \
            if spec.targets else ""
    parts = []
    for target in spec.targets:
        ours = results.get(target.subject, {}).get(spec.key)
        met = None if ours is None else target.met(ours, results, spec.key)
        mark = "?" if met is None else ("✔" if met else "✘")
        parts.append(f"{mark} {target.text()}")
    return ", ".join(parts)


def _columns(results: Results) -> list[str]:
    """The servers of the run, in table order (ours first)."""
    return ["ours", *(s for s in SERVERS[1:] if s in results)]


def table(specs: list[FigureSpec], results: Results, title: str,
          judged: bool = True) -> Table:
    """Ours, each reference, our ratio to each, and the issue's targets (marked met or
    not unless ``judged`` is false: see :func:`target_status`)."""
    grid = Table(title=title, title_justify="left")
    grid.add_column("figure")
    grid.add_column("unit")
    shown = _columns(results)
    for name in shown:
        grid.add_column(SERVER_TITLES[name], justify="right")
    for name in shown[1:]:
        grid.add_column(f"ours/{SERVER_TITLES[name]}", justify="right")
    grid.add_column("target (issues 21, 22)")
    for spec in specs:
        values = [results.get(s, {}).get(spec.key) if s in spec.servers else None
                  for s in shown]
        ratios = [_ratio(values[0], v) for v in values[1:]]
        arrow = "↑" if spec.higher_is_better else "↓"
        grid.add_row(spec.label, f"{spec.unit} {arrow}", *map(_fmt, values), *ratios,
                     target_status(spec, results, judged))
    return grid


def markdown_table(specs: list[FigureSpec], results: Results, judged: bool = True) -> str:
    """The same table as :func:`table`, as GitHub Markdown (for docs/development.md)."""
    shown = _columns(results)
    head = ["figure", "unit", *(SERVER_TITLES[s] for s in shown),
            *(f"ours/{SERVER_TITLES[s]}" for s in shown[1:]), "target (issues 21, 22)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for spec in specs:
        values = [results.get(s, {}).get(spec.key) if s in spec.servers else None
                  for s in shown]
        cells = [spec.label, f"{spec.unit} {'↑' if spec.higher_is_better else '↓'}",
                 *map(_fmt, values), *(_ratio(values[0], v) for v in values[1:]),
                 target_status(spec, results, judged)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_table(specs: list[FigureSpec], results: Results, title: str,
                console: Console | None = None, judged: bool = True) -> None:
    (console or Console(width=320)).print(table(specs, results, title, judged))


def write_json(path: Path, meta: dict[str, Any], results: Results) -> None:
    path.write_text(json.dumps({"meta": meta, "servers": results}, indent=2) + "\n")


def median_of(runs: list[Results]) -> Results:
    """Per server and figure, the median over several runs' results (over the runs
    that have that figure: see :func:`differences` to warn when they are not all)."""
    merged: Results = {}
    for server in {s for run in runs for s in run}:
        keys = {k for run in runs for k in run.get(server, {})}
        merged[server] = {k: statistics.median(run[server][k] for run in runs
                                               if k in run.get(server, {}))
                          for k in keys}
    return merged


def differences(runs: list[dict[str, Any]]) -> list[str]:
    """What differs between several runs' JSON documents (``{"meta": …, "servers":
    …}``) that a median of them would hide: their plan (quick or full), their phases,
    their servers. Empty when they were run alike."""
    found = []
    for label, of in (("quick", lambda r: r["meta"].get("quick")),
                      ("phases", lambda r: tuple(r["meta"].get("phases", ()))),
                      ("servers", lambda r: tuple(sorted(r["servers"])))):
        values = [of(r) for r in runs]
        if len(set(values)) > 1:
            found.append(f"{label}: " + " / ".join(
                ",".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in values))
    return found
