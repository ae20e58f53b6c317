"""`ovrun compare RUN_A RUN_B`: per-cell deltas between two runs, with the reasons a delta may
mean nothing said out loud.

1. What differs between the runs (`comparable.py`): model, host hardware, shapes, IR digests,
   properties, library versions; one line each, naming both values. A different model, host
   or shape withholds the cells' verdicts ("not comparable (different model)") unless the user
   allows that kind.
2. The host's run-to-run noise floor (`runner/host/noise.py`), memoized per host fingerprint,
   measured on first need when the runs came from this host.
3. Per cell and figure, the verdict of `cross_run.py`: significant only beyond the floor and
   both runs' own spreads.
Text and `--json` are two renderings of one `comparison()` document."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.report import comparable, cross_run
from runner.report.load import load_results  # noqa: F401  (cli.report reads runs through here)

METRICS = ("throughput", "latency_median")


@dataclass(frozen=True)
class NoiseFloor:
    status: str  # memo | measured | missing
    source: str  # where it came from, or why there is none
    floor: dict[str, dict[str, float]] | None = None
    method: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "source": self.source,
            "floor": self.floor,
            "method": self.method,
        }


def resolve_floor(
    a: dict[str, Any],
    cache_root: Path,
    measure: str = "auto",
    log: Callable[[str], None] | None = None,
    turn: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> NoiseFloor:
    """The floor of the host run A measured on. ``measure``: ``auto`` (the memo, else measure
    when A came from this host), ``never`` (the memo or nothing), ``force`` (measure again)."""
    from runner.core.errors import OvrunError
    from runner.host import devices, noise

    identity = noise.host_identity(a.get("host"))
    if identity is None:
        return NoiseFloor(
            "missing", "run A records no probed host, so no floor can be matched to it"
        )
    entry = None if measure == "force" else noise.lookup(cache_root, identity)
    if entry is not None:
        return _from_entry("memo", noise.memo_file(cache_root), entry)
    if measure == "never":
        return NoiseFloor(
            "missing",
            "not measured for this host yet (`ovrun compare --measure-noise` measures it)",
        )
    here = devices.memoized(cache_root) or devices.probe_in_child(cache_root)
    if noise.host_identity(here) != identity:
        why = "the runs were measured on another host (or another OpenVINO build)"
        if measure == "force":
            raise OvrunError(
                f"cannot measure the noise floor of run A's host here: {why}",
                hint="run `ovrun compare --measure-noise` on the machine that measured the runs",
            )
        return NoiseFloor("missing", f"none memoized for run A's host, and {why}")
    try:
        entry = noise.measure(cache_root, identity, log=log, turn=turn)
    except (RuntimeError, OSError, ValueError) as exc:  # the probe could not run here
        return NoiseFloor("missing", f"measuring it failed ({exc})")
    return _from_entry("measured", noise.memo_file(cache_root), entry)


def _from_entry(status: str, path: Path, entry: dict[str, Any]) -> NoiseFloor:
    when = datetime.datetime.fromtimestamp(entry["measured"], datetime.UTC).strftime(
        "%Y-%m-%d %H:%M UTC"
    )
    runs = entry["method"]["runs"]
    verb = "measured now" if status == "measured" else f"memoized in {path}, measured {when}"
    return NoiseFloor(
        status,
        f"{verb}: {runs} A/A runs of a tiny BERT-shaped IR in separate processes",
        entry["floor"],
        entry["method"],
    )


def comparison(
    a: dict[str, Any],
    b: dict[str, Any],
    floor: NoiseFloor,
    allowed: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Everything `compare` says about B against A, as one JSON-ready document."""
    run_diffs = comparable.run_differences(a, b)
    models_known = bool(a.get("model") and b.get("model"))
    rows_b = {row["task"]: row for row in b.get("benchmarks", [])}
    cells, differences = [], [d.as_json(set(allowed)) for d in run_diffs]
    for ra in a.get("benchmarks", []):
        rb = rows_b.get(ra["task"])
        if rb is None:
            continue
        cell_diffs = comparable.cell_differences(ra, rb, models_known)
        differences += [d.as_json(set(allowed)) for d in cell_diffs]
        blocked = comparable.blocking_kinds(run_diffs + cell_diffs, set(allowed))
        cells.append(_cell(a, b, ra, floor, blocked))
    blocked_run = comparable.blocking_kinds(run_diffs, set(allowed))
    return {
        "differences": differences,
        "not_comparable": comparable.not_comparable(blocked_run) if blocked_run else None,
        "allowed": sorted(allowed),
        "noise_floor": floor.as_json(),
        "cells": cells,
        "only_in_a": only_in(a, b),
        "only_in_b": only_in(b, a),
        "accuracy": [{"variant": v, "a": va, "b": vb} for v, va, vb in accuracy_deltas(a, b)],
    }


def _cell(
    a: dict[str, Any],
    b: dict[str, Any],
    ra: dict[str, Any],
    floor: NoiseFloor,
    blocked: list[str],
) -> dict[str, Any]:
    task = ra["task"]
    entry: dict[str, Any] = {"task": task}
    for metric in METRICS:
        fa, fb = cross_run.own_interval(a, task, metric), cross_run.own_interval(b, task, metric)
        if isinstance(fa, str) or isinstance(fb, str):
            entry[metric] = {"missing": fa if isinstance(fa, str) else fb}
            continue
        found = cross_run.verdict(
            fa, fb, cross_run.floor_for(floor.floor, ra.get("hint", ""), metric)
        )
        if blocked:  # the rule's answer is kept for the record; the verdict is withheld
            found["rule_verdict"] = found["verdict"]
            found["verdict"] = comparable.not_comparable(blocked)
        entry[metric] = found
    return entry


def cell_deltas(
    a: dict[str, Any],
    b: dict[str, Any],
    floor: NoiseFloor | None = None,
    allowed: set[str] | frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Throughput and median latency of every cell present in both runs, B relative to A."""
    return comparison(a, b, floor or NoiseFloor("missing", "not looked up"), allowed)["cells"]


def only_in(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    tasks_b = {row["task"] for row in b.get("benchmarks", [])}
    return [row["task"] for row in a.get("benchmarks", []) if row["task"] not in tasks_b]


def accuracy_deltas(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, float, float]]:
    ea, eb = a.get("evaluations") or {}, b.get("evaluations") or {}
    return [
        (v, ea[v]["value"], eb[v]["value"])
        for v in ea
        if v in eb and ea[v].get("value") is not None and eb[v].get("value") is not None
    ]


def _floor_line(floor: NoiseFloor) -> str:
    if floor.floor is None:
        return f"noise floor: none — {floor.source}; no difference is called significant"
    parts = [
        f"{hint} throughput ±{f['throughput']:.1%} / latency ±{f['latency_median']:.1%}"
        for hint, f in sorted(floor.floor.items())
    ]
    return f"noise floor: {'; '.join(parts)} ({floor.source})"


def table(doc: dict[str, Any], name_a: str, name_b: str):
    from rich.table import Table

    t = Table(title=f"B = {name_b} vs A = {name_a}", title_justify="left")
    for column, justify in (
        ("cell", "left"),
        ("A tput/s", "right"),
        ("B tput/s", "right"),
        ("B/A", "right"),
        ("", "left"),
        ("A p50 ms", "right"),
        ("B p50 ms", "right"),
        ("B/A", "right"),
        ("", "left"),
    ):
        t.add_column(column, justify=justify)
    for d in doc["cells"]:
        cells = [d["task"].removeprefix("bench:")]
        for metric, spec in (("throughput", ".1f"), ("latency_median", ".2f")):
            m = d[metric]
            if "missing" in m:
                cells += ["-", "-", "-", f"[yellow]{m['missing']}[/]"]
                continue
            style = {"significant": "bold"}.get(m["verdict"], "dim")
            if m["verdict"].startswith("not comparable"):
                style = "bold yellow"
            ratio = "-" if m["ratio"] is None else f"{m['ratio']:.2f}×"
            cells += [f"{m['a']:{spec}}", f"{m['b']:{spec}}", ratio, f"[{style}]{m['verdict']}[/]"]
        t.add_row(*cells)
    return t


def print_comparison(
    doc: dict[str, Any], a: dict[str, Any], name_a: str, name_b: str, console
) -> None:
    for d in doc["differences"]:
        style = "bold yellow" if d["blocking"] else "yellow"
        console.print(f"warning: {d['line']}", style=style, highlight=False)
    console.print(_floor_line(_floor_of(doc)), highlight=False)
    console.print(table(doc, name_a, name_b))
    if doc["not_comparable"]:
        kinds = sorted({d["kind"] for d in doc["differences"] if d["blocking"]})
        console.print(
            f"verdicts withheld: {doc['not_comparable']}; "
            f"--allow-different {','.join(kinds)} compares them anyway",
            style="bold yellow",
            highlight=False,
        )
    for task in doc["only_in_a"]:
        console.print(f"only in A: {task}", style="dim", highlight=False)
    for task in doc["only_in_b"]:
        console.print(f"only in B: {task}", style="dim", highlight=False)
    for acc in doc["accuracy"]:
        va, vb = acc["a"], acc["b"]
        console.print(
            f"{acc['variant']} {a.get('metric') or 'accuracy'}: {va:.4f} -> {vb:.4f} ({vb - va:+.4f})",
            highlight=False,
        )


def _floor_of(doc: dict[str, Any]) -> NoiseFloor:
    f = doc["noise_floor"]
    return NoiseFloor(f["status"], f["source"], f["floor"], f["method"])
