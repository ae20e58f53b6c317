"""Terminal output of an auto-search: the candidates table (Pareto set marked), the chosen
configuration and the variant snippet to pin; the snippet is also written to the run dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.core.atomic import write_text_atomic


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else f"{value:{spec}}"


def search_table(name: str, info: dict[str, Any]):
    from rich.table import Table

    c = info["constraint"]
    title = f"search · {name} · max_drop {c['max_drop']}"
    if c.get("min_speedup"):
        title += f" · min_speedup {c['min_speedup']}× on {c['device']}"
    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("candidate", "left"),
        ("status", "left"),
        ("size MB", "right"),
        ("<8-bit share", "right"),
        ("accuracy drop", "right"),
        ("speedup", "right"),
        ("feasible", "left"),
        ("pareto", "left"),
    ):
        table.add_column(column, justify=justify)
    for row in info["candidates"]:
        if row["status"] != "evaluated":
            reason = row.get("reason", "")
            if reason.startswith("pruned"):
                # "pruned: at least as aggressive as X, which missed ..." -> "pruned (>= X)"
                other = reason.split("as aggressive as ", 1)[-1].split(",", 1)[0]
                status = f"[yellow]pruned[/] (≥ {other})"
            else:
                status = f"[yellow]{row['status']}[/] {reason[:60]}"
            table.add_row(row["candidate"], status, *[""] * 6)
            continue
        bits = row.get("weight_bits") or {}
        low = sum(
            share for bucket, share in bits.items() if bucket not in ("int8", "f32/f16", "fp8")
        )
        chosen = row["candidate"] == info["chosen"]
        table.add_row(
            f"[bold]{row['candidate']}[/]" if chosen else row["candidate"],
            "chosen" if chosen else "evaluated",
            _fmt(row["size_bytes"] / 1e6 if row.get("size_bytes") else None, ".3f"),
            f"{low:.1%}",
            _fmt(row.get("accuracy_drop"), ".4f"),
            _fmt(row.get("speedup"), ".2f"),
            "yes" if row["feasible"] else "no",
            "★" if row.get("pareto") else "",
        )
    return table


def front_line(info: dict[str, Any]) -> str:
    """What the stars mean, and the infeasible front shown apart (never starred)."""
    line = "★ Pareto-optimal among feasible candidates (size, accuracy drop, speed)"
    apart = info.get("infeasible_front") or []
    if apart:
        line += f"; front of the infeasible ones, not options: {', '.join(apart)}"
    return line


def print_search(search: dict[str, Any], console, out_dir: Path) -> None:
    for name, info in search.items():
        console.print(search_table(name, info))
        console.print(front_line(info), highlight=False, markup=False)
        if info["chosen"] is None:
            console.print(
                f"search {name}: no candidate met the constraint; relax max_drop or add "
                "less aggressive candidates",
                style="bold red",
                highlight=False,
            )
            continue
        path = out_dir / f"search-{name}.yaml"
        write_text_atomic(path, info["pin"])
        console.print(f"search {name}: chosen {info['chosen']} — pin it ({path}):", highlight=False)
        console.print(info["pin"].rstrip(), highlight=False, markup=False)
