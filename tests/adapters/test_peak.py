"""The host's peak: measured once per device fingerprint (in a child process), reused from the
memo, measured again for another fingerprint. The tiny size keeps each measurement short."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.adapters import peak
from runner.adapters.devices import probe_memoized
from runner.host import peak as memo
from runner.host.devices import _memo_file as device_memo_file
from runner.host.fingerprint import device_fingerprint


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Spy on the child-process measurement (it still runs)."""
    calls: list[str] = []
    real = peak._measure_in_child

    def spy(cache_root: Path, device: str, size: str) -> None:
        calls.append(device)
        real(cache_root, device, size)

    monkeypatch.setattr(peak, "_measure_in_child", spy)
    return calls


def test_peak_measured_once_per_fingerprint(tmp_path: Path, children: list[str]) -> None:
    first = peak.host_peak(tmp_path, "CPU", size="tiny", in_child=True)
    assert children == ["CPU"]
    assert first is not None and first["size"] == "tiny"
    assert first["gflops"]["f32"] > 0 and first["bandwidth_gbps"] > 0
    assert set(first["gflops"]) <= {"f32", "bf16", "f16", "int8"}
    fingerprint = device_fingerprint("CPU", probe_memoized(tmp_path))
    assert memo.memo_file(tmp_path, fingerprint, "tiny").is_file()

    # the memo answers: no second measurement, the same figures
    assert peak.host_peak(tmp_path, "CPU", size="tiny", in_child=True) == first
    assert children == ["CPU"]
    # another size is another memo (test figures never stand in for real ones)
    assert memo.memoized(tmp_path, fingerprint, "full") is None

    # the same cache on another machine (the probe's CPU differs): measured again there
    probe_file = device_memo_file(tmp_path)
    saved = json.loads(probe_file.read_text())
    saved["probe"]["host"]["cpu_model"] = "Another CPU @ 9 GHz"
    probe_file.write_text(json.dumps(saved))
    second = peak.host_peak(tmp_path, "CPU", size="tiny", in_child=True)
    assert children == ["CPU", "CPU"]
    assert second is not None and second["measured_at"] >= first["measured_at"]
    assert len(list((tmp_path / "memo").glob("peak-*.json"))) == 2


def test_tiny_size_measures_in_process(tmp_path: Path, children: list[str]) -> None:
    found = peak.host_peak(tmp_path, "CPU", size="tiny")
    assert children == [] and found is not None and found["gflops"]["f32"] > 0
    assert peak.host_peak(tmp_path, "CPU", size="tiny") == found


def test_memo_refuses_a_file_for_another_fingerprint(tmp_path: Path) -> None:
    mine = {"cpu_model": "A", "cores": 2}
    other = {"cpu_model": "B", "cores": 2}
    path = memo.remember(tmp_path, mine, "tiny", {"gflops": {"f32": 1.0}})
    # a memo copied under another fingerprint's name is not believed
    path.rename(memo.memo_file(tmp_path, other, "tiny"))
    assert memo.memoized(tmp_path, other, "tiny") is None
    memo.remember(tmp_path, mine, "tiny", {"gflops": {"f32": 1.0}})
    assert memo.memoized(tmp_path, mine, "tiny") == {"gflops": {"f32": 1.0}}


def test_size_switch_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(memo.SIZE_ENV, "tiny")
    assert memo.size() == "tiny"
    monkeypatch.delenv(memo.SIZE_ENV)
    assert memo.size() == "full"
    monkeypatch.setenv(memo.SIZE_ENV, "bogus")
    assert memo.size() == "full"
