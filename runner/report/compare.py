"""`ovrun compare RUN_A RUN_B`: per-cell deltas between two runs, noise-aware, and a
warning when the two runs come from different hardware or software."""

from __future__ import annotations

from typing import Any

from runner.report.load import load_results
from runner.report.stats import cell_value, verdict


def _identity(doc: dict[str, Any]) -> dict[str, Any]:
    host = doc.get("host") or {}
    cpu = host.get("host") or {}
    out: dict[str, Any] = {
        "CPU": cpu.get("cpu_model"),
        "cores": cpu.get("cores"),
        "ISA flags": ",".join(cpu.get("cpu_flags_relevant") or []),
        "OS": cpu.get("os"),
        "openvino": host.get("openvino"),
    }
    for lib, version in (host.get("versions") or {}).items():
        out[lib] = version
    for name, info in (host.get("devices") or {}).items():
        out[f"{name} capabilities"] = ",".join(info.get("OPTIMIZATION_CAPABILITIES") or [])
    return out


def fingerprint_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """One line per fingerprint field that differs between two results documents."""
    ia, ib = _identity(a), _identity(b)
    return [
        f"{name}: {ia.get(name)!s} vs {ib.get(name)!s}"
        for name in dict.fromkeys([*ia, *ib])
        if ia.get(name) != ib.get(name)
    ]


def cell_deltas(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Throughput and median latency of every cell present in both runs, B relative to A."""
    tasks_b = {row["task"] for row in b.get("benchmarks", [])}
    deltas = []
    for row in a.get("benchmarks", []):
        task = row["task"]
        if task not in tasks_b:
            continue
        entry: dict[str, Any] = {"task": task}
        for metric in ("throughput", "latency_median"):
            fa, fb = cell_value(a, task, metric), cell_value(b, task, metric)
            if isinstance(fa, str) or isinstance(fb, str):
                entry[metric] = {"missing": fa if isinstance(fa, str) else fb}
                continue
            entry[metric] = {
                "a": fa[0],
                "b": fb[0],
                "ratio": fb[0] / fa[0] if fa[0] else None,
                "verdict": verdict(fb, fa),
            }
        deltas.append(entry)
    return deltas


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


def table(a: dict[str, Any], b: dict[str, Any], name_a: str, name_b: str):
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
    for d in cell_deltas(a, b):
        cells = [d["task"].removeprefix("bench:")]
        for metric, spec in (("throughput", ".1f"), ("latency_median", ".2f")):
            m = d[metric]
            if "missing" in m:
                cells += ["-", "-", "-", f"[yellow]{m['missing']}[/]"]
                continue
            style = "bold" if m["verdict"] == "significant" else "dim"
            ratio = "-" if m["ratio"] is None else f"{m['ratio']:.2f}×"
            cells += [f"{m['a']:{spec}}", f"{m['b']:{spec}}", ratio, f"[{style}]{m['verdict']}[/]"]
        t.add_row(*cells)
    return t


def compare(path_a: str, path_b: str, console) -> int:
    a, b = load_results(path_a), load_results(path_b)
    for line in fingerprint_differences(a, b):
        console.print(
            f"warning: fingerprints differ — {line}; figures may not be comparable",
            style="yellow",
            highlight=False,
        )
    console.print(table(a, b, str(path_a), str(path_b)))
    for task in only_in(a, b):
        console.print(f"only in A: {task}", style="dim", highlight=False)
    for task in only_in(b, a):
        console.print(f"only in B: {task}", style="dim", highlight=False)
    for variant, va, vb in accuracy_deltas(a, b):
        console.print(
            f"{variant} {a.get('metric') or 'accuracy'}: {va:.4f} -> {vb:.4f} ({vb - va:+.4f})",
            highlight=False,
        )
    return 0
