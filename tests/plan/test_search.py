"""Auto-search: candidate expansion and order, pruning, Pareto set, pinned snippet, caching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from recipes_util import ovrun

from runner.plan.search import at_least_as_aggressive, candidates
from runner.report.search import _dominates, mark_pareto
from runner.report.search_table import front_line


def test_candidates_cover_the_product_once_each_in_cheap_then_gentle_order() -> None:
    base = {"mode": "int4_sym", "dataset": "calib"}
    search = {"mode": ["int8_asym", "int4_sym"], "ratio": [1.0, 0.5], "group_size": [64, 16]}
    found = candidates("v", base, search)
    # int8 ignores ratio and group size: its four combinations are one candidate.
    assert [c.id for c in found] == [
        "int8_asym",
        "int4_sym-r0.5-g16",
        "int4_sym-r0.5-g64",
        "int4_sym-r1.0-g16",
        "int4_sym-r1.0-g64",
    ]
    assert found[1].settings == {
        "mode": "int4_sym",
        "dataset": "calib",
        "ratio": 0.5,
        "group_size": 16,
    }
    with_awq = candidates("v", base, {"ratio": [0.5], "awq": [True, False]})
    assert [c.id for c in with_awq] == ["r0.5", "r0.5-awq-on"]  # data-aware costs more: last


def test_aggressiveness_order_used_for_pruning() -> None:
    gentle = {"mode": "int4_sym", "ratio": 0.5, "group_size": 32}
    assert at_least_as_aggressive({**gentle, "ratio": 0.8}, gentle)
    assert at_least_as_aggressive({**gentle, "group_size": -1}, gentle)
    assert at_least_as_aggressive({**gentle, "mode": "int2_sym"}, gentle)
    assert not at_least_as_aggressive({**gentle, "ratio": 0.8, "group_size": 16}, gentle)
    assert not at_least_as_aggressive({**gentle, "mode": "int4_asym"}, gentle)  # other family
    assert not at_least_as_aggressive({**gentle, "mode": "int8_asym"}, gentle)


def test_pareto_dominance() -> None:
    a = {"size_bytes": 10, "accuracy_drop": 0.01}
    assert _dominates(a, {"size_bytes": 12, "accuracy_drop": 0.01})
    assert not _dominates(a, {"size_bytes": 8, "accuracy_drop": 0.02})
    assert not _dominates(a, dict(a))


def test_only_feasible_candidates_are_starred() -> None:
    # the case: int4_sym-r0.8-g64 (drop 0.0266 > max_drop 0.02) is smallest, so it
    # dominates nothing feasible-wise but is on the unconstrained front; it must not be starred
    rows = [
        {"candidate": "int8_asym", "size_bytes": 30, "accuracy_drop": 0.002, "feasible": True},
        {"candidate": "r0.6-g64", "size_bytes": 20, "accuracy_drop": 0.015, "feasible": True},
        {"candidate": "r0.6-g128", "size_bytes": 21, "accuracy_drop": 0.016, "feasible": True},
        {"candidate": "r0.8-g64", "size_bytes": 15, "accuracy_drop": 0.0266, "feasible": False},
        {"candidate": "r1.0-g64", "size_bytes": 14, "accuracy_drop": 0.04, "feasible": False},
    ]
    starred, apart = mark_pareto(rows)
    assert starred == ["int8_asym", "r0.6-g64"]
    assert [r["candidate"] for r in rows if r["pareto"]] == starred
    assert apart == ["r0.8-g64", "r1.0-g64"]
    line = front_line({"infeasible_front": apart})
    assert "among feasible" in line and "not options: r0.8-g64, r1.0-g64" in line


CORPUS = {"calib.txt": (24, 1), "eval.txt": (12, 2)}


def _recipe(search: str) -> str:
    return f"""
        version: 1
        name: s
        model:
          source: {{path: model}}
        data:
          calib: {{text: calib.txt, samples: 24, max_length: 32}}
          eval: {{text: eval.txt, samples: 12, max_length: 32}}
        variants:
          fp32: {{}}
          auto:
            compress_weights: {{dataset: calib, subset_size: 24}}
            search: {search}
        benchmark: {{duration_s: 0.2, warmup: 1, seq_len: 16, repeats: 1}}
        evaluate: {{dataset: eval, reference: fp32}}
        """


@pytest.mark.slow  # two tiny runs with five candidates (~1 min on a busy box)
def test_search_reports_pareto_and_choice_then_reruns_cached(tiny_project, tmp_path: Path) -> None:
    project = tiny_project(
        _recipe(
            "{mode: [int8_asym, int4_sym], ratio: [0.5, 1.0], group_size: [16, 32], "
            "max_drop: 0.5, min_speedup: 0.01}"
        ),
        CORPUS,
        dir=tmp_path,
    )
    recipe, cache = project.recipe, str(project.cache)
    first = ovrun(str(recipe), "--cache-dir", cache)
    assert first.returncode == 0, first.stdout + first.stderr
    search = project.results()["search"]["auto"]
    rows = {r["candidate"]: r for r in search["candidates"]}
    assert set(rows) == {
        "int8_asym",
        "int4_sym-r0.5-g16",
        "int4_sym-r0.5-g32",
        "int4_sym-r1.0-g16",
        "int4_sym-r1.0-g32",
    }
    assert all(r["status"] == "evaluated" and r["speedup"] > 0 for r in rows.values())
    # measured, not assumed: more 4-bit weights -> smaller IR
    assert (
        rows["int4_sym-r1.0-g16"]["size_bytes"]
        < rows["int4_sym-r0.5-g16"]["size_bytes"]
        < rows["int8_asym"]["size_bytes"]
    )
    chosen = rows[search["chosen"]]
    assert chosen["size_bytes"] == min(r["size_bytes"] for r in rows.values() if r["feasible"])
    assert search["chosen"] in search["pareto"]
    assert all(rows[name]["feasible"] for name in search["pareto"])
    for name in search["pareto"]:  # nothing on the front is dominated by a measured candidate
        assert not any(
            _dominates(other, rows[name]) for other in rows.values() if other is not rows[name]
        )
    assert (
        "search · auto" in first.stdout
        and f"search auto: chosen {search['chosen']}" in first.stdout
    )

    # The pinned snippet is a valid variant that reproduces the chosen compression task.
    pin = yaml.safe_load((project.out / "search-auto.yaml").read_text())
    settings = pin["variants"]["auto"]["compress_weights"]
    assert settings["dataset"] == "calib" and settings["mode"] == chosen["settings"]["mode"]
    doc = yaml.safe_load(recipe.read_text())
    doc["variants"]["auto"] = pin["variants"]["auto"]
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(yaml.safe_dump(doc))
    plan = ovrun("plan", str(pinned), "--cache-dir", cache)
    assert plan.returncode == 0, plan.stderr
    compress_line = next(line for line in plan.stdout.splitlines() if " compress:auto " in line)
    assert "cached" in compress_line  # same key as the candidate the search built

    again = ovrun("plan", str(recipe), "--cache-dir", cache)
    assert " 0 will run" in again.stdout, again.stdout


def test_candidates_more_aggressive_than_a_failure_are_pruned(tiny_project, tmp_path: Path) -> None:
    # max_drop 0: the gentlest candidate already misses it, so every more aggressive one
    # (fewer bits, same or larger ratio/group) is skipped without being built.
    project = tiny_project(
        _recipe("{mode: [int8_asym, int4_sym], ratio: [0.5, 1.0], group_size: [16], max_drop: 0}"),
        CORPUS,
        dir=tmp_path,
    )
    result = ovrun(str(project.recipe), "--cache-dir", str(project.cache))
    assert result.returncode == 0, result.stdout + result.stderr
    doc = project.results()
    rows = {r["candidate"]: r for r in doc["search"]["auto"]["candidates"]}
    assert rows["int8_asym"]["status"] == "evaluated" and rows["int8_asym"]["accuracy_drop"] > 0
    for name in ("int4_sym-r0.5-g16", "int4_sym-r1.0-g16"):
        assert rows[name]["status"] == "skipped"
        assert rows[name]["reason"].startswith("pruned: at least as aggressive as int8_asym")
        assert doc["run"]["tasks"][f"compress:auto@{name}"]["state"] == "skipped"
    assert doc["search"]["auto"]["chosen"] is None
    assert "no candidate met the constraint" in result.stdout
    # the one measured candidate is infeasible: listed apart, never starred
    assert doc["search"]["auto"]["pareto"] == [] and rows["int8_asym"]["pareto"] is False
    assert doc["search"]["auto"]["infeasible_front"] == ["int8_asym"]
    assert "not options: int8_asym" in result.stdout


@pytest.mark.slow  # exports MiniLM and builds up to seven candidates (~1-3 min)
def test_search_int4_recipe_runs_offline(tmp_path: Path) -> None:
    from recipes_util import REPO

    recipe = REPO / "recipes" / "search-int4.yaml"
    out = tmp_path / "out"
    result = ovrun(str(recipe), "--cache-dir", str(tmp_path / "cache"), "--out", str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    search = json.loads((out / "results.json").read_text())["search"]["int4"]
    assert "search · int4 · max_drop 0.02" in result.stdout
    assert (
        search["chosen"] is not None and f"search int4: chosen {search['chosen']}" in result.stdout
    )
    rows = {r["candidate"]: r for r in search["candidates"]}
    assert rows[search["chosen"]]["accuracy_drop"] <= 0.02
    assert (out / "search-int4.yaml").read_text() == search["pin"]
