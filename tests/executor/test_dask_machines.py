"""A cluster of two kinds of hardware: a benchmark cell is keyed on one worker's hardware
fingerprint and measured on a worker with exactly that hardware, never on another. One
machine stands in for two kinds of hardware: a test switch makes worker 0 report another
CPU model (only the probe is simulated; the runs are real)."""

from __future__ import annotations

import json

import pytest
from recipes_util import TINY_CORPUS, ovrun, tiny_recipe

from runner.cache.store import Cache
from runner.core.testhooks import SIMULATED_MACHINE_ENV
from runner.host.fingerprint import machine_tag

pytestmark = pytest.mark.slow


def test_simulated_second_machine_gets_no_benchmark_keyed_on_the_other(tmp_path, tiny_project):
    recipe = tiny_project(tiny_recipe(), TINY_CORPUS, dir=tmp_path).recipe
    cache_dir, out = tmp_path / "cache", tmp_path / "out"
    result = ovrun(
        str(recipe),
        "--cache-dir",
        str(cache_dir),
        "--out",
        str(out),
        "--executor",
        "dask",
        "--workers",
        "2",
        env={SIMULATED_MACHINE_ENV: "0=Simulated CPU of another kind"},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    doc = json.loads((out / "results.json").read_text())
    machines = doc["host"]["worker_machines"]
    tags = {address: found["CPU"] for address, found in machines.items()}
    assert len(set(tags.values())) == 2, f"the switch did not make two kinds of hardware: {tags}"

    cache = Cache(cache_dir)
    benches = {
        t: s
        for t, s in doc["run"]["tasks"].items()
        if t.startswith("bench:") and s["state"] != "skipped"  # the GPU cells: no GPU here
    }
    assert len(benches) >= 2
    for task_id, state in benches.items():
        assert state["state"] == "ran", (task_id, state)
        keyed_on = machine_tag(cache.meta(state["key"])["preimage"]["machine"])
        assert tags[state["worker"]] == keyed_on, (
            f"{task_id} keyed on {keyed_on} but measured on {state['worker']} ({tags})"
        )
