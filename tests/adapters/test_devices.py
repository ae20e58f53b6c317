"""Device probe and host fingerprint, against the real OpenVINO runtime of this host."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openvino as ov
import pytest

from runner.adapters import devices
from runner.core.errors import OvrunError
from runner.host import cpu


def test_probe_lists_cpu_with_capabilities() -> None:
    result = devices.probe()
    assert result["openvino"] == ov.get_version()
    assert "CPU" in result["available_devices"]
    assert set(result["devices"]) == set(result["available_devices"])
    caps = result["devices"]["CPU"]["OPTIMIZATION_CAPABILITIES"]
    assert isinstance(caps, list) and "FP32" in caps
    assert result["devices"]["CPU"]["FULL_DEVICE_NAME"]
    assert result["host"]["cpu_model"]


def test_fingerprint_matches_proc_cpuinfo() -> None:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("needs /proc/cpuinfo")
    flag_lines = [line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")]
    flags = set(flag_lines[0].partition(":")[2].split())
    fingerprint = cpu.fingerprint_without_openvino()
    expected = [flag for flag in cpu.RELEVANT_FLAGS if flag in flags]
    assert fingerprint["cpu_flags_relevant"] == expected
    assert fingerprint["cores"] >= 1
    assert fingerprint["os"] and fingerprint["python"]


def test_fingerprint_does_not_import_openvino() -> None:
    code = (
        "import sys; from runner.host.cpu import fingerprint_without_openvino as f; "
        "assert f()['cpu_model']; assert 'openvino' not in sys.modules, 'openvino imported'"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def _host(**overrides: object) -> dict:
    return {"cpu_model": "Test CPU", "machine": "x86_64"} | overrides


def test_int8_note_when_cpu_lacks_vnni_and_amx() -> None:
    note = cpu.int8_acceleration(_host(cpu_flags_relevant=["avx2", "avx512f"]))
    assert note is not None and "Test CPU" in note and "INT8" in note


@pytest.mark.parametrize("flag", ["avx512_vnni", "avx_vnni", "amx_int8"])
def test_no_int8_note_with_vnni_or_amx(flag: str) -> None:
    assert cpu.int8_acceleration(_host(cpu_flags_relevant=["avx2", flag])) is None


def test_no_int8_note_when_flags_unknown_or_not_x86() -> None:
    assert cpu.int8_acceleration(_host(cpu_flags_relevant=None)) is None
    assert cpu.int8_acceleration(_host(machine="aarch64", cpu_flags_relevant=[])) is None


def test_int8_note_for_this_host_agrees_with_its_flags() -> None:
    fingerprint = cpu.fingerprint_without_openvino()
    flags = fingerprint["cpu_flags_relevant"]
    if flags is None or fingerprint["machine"].lower() not in ("x86_64", "amd64"):
        pytest.skip("needs an x86 host with /proc/cpuinfo")
    has_int8 = any(f in flags for f in ("avx512_vnni", "avx_vnni", "amx_int8"))
    assert (cpu.int8_acceleration(fingerprint) is None) == has_int8


@pytest.mark.parametrize("device", ["CPU", "AUTO", "AUTO:CPU", "AUTO:NPU,CPU"])
def test_require_device_accepts_runnable_devices(device: str) -> None:
    devices.require_device(ov.Core(), device)


@pytest.mark.parametrize("device", ["NPU", "AUTO:NPU"])
def test_require_device_rejects_missing_devices(device: str) -> None:
    available = ov.Core().available_devices
    if any(d.startswith("NPU") for d in available):
        pytest.skip("this host has an NPU")
    with pytest.raises(devices.DeviceUnavailable) as info:
        devices.require_device(ov.Core(), device)
    shown = ", ".join(available)
    if device.startswith("AUTO:"):
        assert info.value.message == (
            f"device {device}: no listed device is available (available: {shown})"
        )
    else:
        assert info.value.message == f"device {device} not available (available: {shown})"
    assert isinstance(info.value, OvrunError) and info.value.hint


def test_memo_copied_from_another_cpu_with_the_same_host_name_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo is the fingerprint measurements are keyed on: a cache copied between two
    machines that share a host name (containers) must re-probe, not reuse the other CPU's."""
    from runner.host import devices as host_devices

    found = {"available_devices": ["CPU"], "host": {"cpu_model": "x"}}
    host_devices.remember(tmp_path, found)
    assert host_devices.memoized(tmp_path) == found
    real = cpu.cpu_identity()
    monkeypatch.setattr(host_devices, "cpu_identity", lambda: {**real, "model": "Another CPU"})
    assert host_devices.memoized(tmp_path) is None
