"""The per-host noise floor `ovrun compare` uses: measured for real (A/A runs of the tiny
BERT-shaped probe model, each in its own process, short durations), memoized once per host
fingerprint, reused, measured again when the fingerprint changes."""

from __future__ import annotations

import json

import pytest

from runner.adapters import devices as probe_devices
from runner.core.errors import OvrunError
from runner.host import devices as host_devices
from runner.host import noise
from runner.report.compare import resolve_floor
from runner.report.finish import fingerprint


@pytest.fixture
def short(monkeypatch):
    """Two runs of 2 x 50 ms per hint: a real measurement that takes seconds, and a count of
    the A/A child processes started."""
    monkeypatch.setattr(noise, "RUNS", 2)
    monkeypatch.setattr(noise, "SECONDS", 0.05)
    monkeypatch.setattr(noise, "REPEATS", 2)
    started = []
    real = noise._one_run

    def counted(seconds: float, repeats: int):
        started.append((seconds, repeats))
        return real(seconds, repeats)

    monkeypatch.setattr(noise, "_one_run", counted)
    return started


def test_floor_is_measured_once_per_fingerprint(tmp_path, short) -> None:
    cache = tmp_path / "cache"
    probe = probe_devices.probe()
    host_devices.remember(cache, probe)
    run_host = fingerprint(probe)  # what results.json records as "host"

    first = resolve_floor({"host": run_host}, cache)
    assert first.status == "measured" and len(short) == 2 and short[0] == (0.05, 2)
    for hint in ("LATENCY", "THROUGHPUT"):
        for metric in noise.METRICS:
            assert 0.0 <= first.floor[hint][metric] < 10.0  # a ratio, not a raw figure
    entry = json.loads(noise.memo_file(cache).read_text())["floors"]
    assert len(entry) == 1
    (saved,) = entry.values()
    assert [len(run["LATENCY"]) for run in saved["runs"]] == [2, 2]
    assert all(r["throughput"] > 0 for run in saved["runs"] for r in run["THROUGHPUT"])

    again = resolve_floor({"host": run_host}, cache)
    assert again.status == "memo" and again.floor == first.floor and len(short) == 2
    assert "memoized in" in again.source

    # another CPU fingerprint (a new probe memo on "another machine"): measured anew, kept apart
    other = json.loads(json.dumps(probe))
    other["host"]["cpu_model"] = other["devices"]["CPU"]["FULL_DEVICE_NAME"] = "Another CPU"
    host_devices.remember(cache, other)
    moved = resolve_floor({"host": fingerprint(other)}, cache)
    assert moved.status == "measured" and len(short) == 4
    assert len(json.loads(noise.memo_file(cache).read_text())["floors"]) == 2


def test_runs_from_another_host_get_no_floor_here(tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    probe = probe_devices.probe()
    host_devices.remember(cache, probe)
    elsewhere = json.loads(json.dumps(probe))
    elsewhere["host"]["cpu_model"] = "Somebody else's CPU"
    monkeypatch.setattr(noise, "_one_run", lambda *a: pytest.fail("measured on the wrong host"))
    found = resolve_floor({"host": fingerprint(elsewhere)}, cache)
    assert found.status == "missing" and "another host" in found.source
    with pytest.raises(OvrunError, match="another host"):
        resolve_floor({"host": fingerprint(elsewhere)}, cache, measure="force")
    never = resolve_floor({"host": fingerprint(probe)}, cache, measure="never")
    assert never.status == "missing" and "--measure-noise" in never.source


def test_floor_is_the_widest_pair() -> None:
    def run(t: float) -> dict:
        return {"LATENCY": [{"throughput": t, "latency_median": 1000 / t}] * 3}

    floor = noise.floor_from_runs([run(100.0), run(104.0), run(110.0)])
    assert floor["LATENCY"]["throughput"] == pytest.approx(0.10)
    assert floor["LATENCY"]["latency_median"] == pytest.approx(0.10)
