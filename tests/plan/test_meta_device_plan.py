"""Meta-devices with lists at plan time: availability from the listed devices, properties
checked against what the meta plugin and its present members accept (from the memoized
real probe of this host), skips with reasons, exit 2 for a recipe error."""

from __future__ import annotations

from pathlib import Path

import pytest
from recipes_util import minimal_recipe, ovrun

from runner.host.devices import compile_name, unavailable_reason
from runner.recipe.matrix import accepted_properties

BODY = """
version: 1
name: meta
model:
  source: {{path: model}}
variants:
  fp32: {{}}
targets:
{targets}
benchmark: {{duration_s: 1, seq_len: 16}}
"""


@pytest.fixture(scope="module")
def probed_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from runner.adapters.devices import probe_memoized

    cache = tmp_path_factory.mktemp("meta") / "cache"
    probe_memoized(cache)  # the real OpenVINO probe, memoized as `ovrun run` does
    return cache


@pytest.fixture(scope="module")
def probe(probed_cache: Path) -> dict:
    from runner.host.devices import memoized

    found = memoized(probed_cache)
    assert found is not None
    if any(d.startswith("GPU") for d in found["available_devices"]):
        pytest.skip("this host has a GPU")
    return found


def _recipe(tmp_path: Path, targets: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return minimal_recipe(tmp_path, BODY.format(targets=targets))


@pytest.mark.parametrize(
    "device, reason, compiled",
    [
        ("AUTO:CPU", None, "AUTO:CPU"),
        ("AUTO:GPU,CPU", None, "AUTO:CPU"),
        ("AUTO:GPU,NPU", "device AUTO:GPU,NPU: no listed device is available", None),
        ("HETERO:CPU", None, "HETERO:CPU"),
        ("HETERO:GPU,CPU", "device HETERO:GPU,CPU needs GPU, not available", None),
        ("MULTI:CPU", None, "MULTI:CPU"),
        ("MULTI:CPU,NPU", "device MULTI:CPU,NPU needs NPU, not available", None),
        ("GPU.1", "device GPU.1 not available", None),
    ],
)
def test_availability_of_lists_on_a_cpu_only_host(
    device: str, reason: str | None, compiled: str | None
) -> None:
    found = unavailable_reason(device, ["CPU"])
    if reason is None:
        assert found is None and compile_name(device, ["CPU"]) == compiled
    else:
        assert found == f"{reason} (available: CPU)"


def test_availability_with_a_mock_gpu_present() -> None:
    """A GPU cannot exist here: its presence is a made-up available-devices list."""
    available = ["CPU", "GPU.0"]
    assert unavailable_reason("HETERO:GPU,CPU", available) is None
    assert compile_name("AUTO:GPU,CPU", available) == "AUTO:GPU,CPU"
    assert unavailable_reason("GPU.1", available) is not None
    assert unavailable_reason("AUTO:GPU.1,CPU", available) is None
    assert compile_name("AUTO:GPU.1,CPU", available) == "AUTO:CPU"


def test_accepted_properties_with_a_mock_gpu_need_every_member() -> None:
    """Made-up probe of a GPU + CPU host: MULTI forwards a property to both, so only
    what both accept passes; AUTO's own properties pass whatever the members say."""
    probe = {
        "available_devices": ["CPU", "GPU"],
        "devices": {
            "CPU": {"SUPPORTED_PROPERTIES": {"NUM_STREAMS": "RW", "INFERENCE_NUM_THREADS": "RW"}},
            "GPU": {"SUPPORTED_PROPERTIES": {"NUM_STREAMS": "RW", "GPU_HOST_TASK_PRIORITY": "RW"}},
        },
        "meta_devices": {
            "MULTI": {"SUPPORTED_PROPERTIES": {"MODEL_PRIORITY": "RW"}},
        },
    }
    multi = accepted_properties("MULTI:GPU,CPU", probe)
    assert multi is not None
    assert {n for n, m in multi.items() if m == "RW"} == {"MODEL_PRIORITY", "NUM_STREAMS"}
    assert multi["INFERENCE_NUM_THREADS"] == "RO"  # the GPU does not take it
    assert accepted_properties("AUTO:GPU,CPU", probe) is None  # AUTO not probed: unknown


def test_plan_skips_unavailable_lists_and_accepts_forwarded_properties(
    tmp_path: Path, probed_cache: Path, probe: dict
) -> None:
    """threads (INFERENCE_NUM_THREADS) is not AUTO's own property; the CPU takes it."""
    path = _recipe(
        tmp_path,
        '  devices: [CPU, "AUTO:CPU", "AUTO:GPU,CPU", "HETERO:CPU", "MULTI:CPU",'
        ' "HETERO:GPU,CPU", "AUTO:GPU,NPU"]\n  threads: [1]',
    )
    result = ovrun("plan", str(path), "--cache-dir", str(probed_cache))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if "bench:" in line}
    for device in ("CPU", "AUTO:CPU", "AUTO:GPU,CPU", "HETERO:CPU", "MULTI:CPU"):
        assert "will run" in lines[f"bench:fp32:{device}:LATENCY"]
    hetero = lines["bench:fp32:HETERO:GPU,CPU:LATENCY"]
    assert "skipped (device HETERO:GPU,CPU needs GPU, not available" in hetero
    assert (
        "skipped (device AUTO:GPU,NPU: no listed device" in lines["bench:fp32:AUTO:GPU,NPU:LATENCY"]
    )


@pytest.mark.parametrize("device", ["AUTO:GPU,CPU", "HETERO:CPU", "MULTI:CPU"])
def test_property_no_member_accepts_is_exit_2_at_its_position(
    tmp_path: Path, probed_cache: Path, probe: dict, device: str
) -> None:
    path = _recipe(tmp_path, f'  devices: ["{device}"]\n  properties: {{NUM_STREAMZ: 2}}')
    result = ovrun("plan", str(path), "--cache-dir", str(probed_cache))
    assert result.returncode == 2, result.stdout + result.stderr
    first, hint = result.stderr.strip().splitlines()[:2]
    assert first == f"{path}:9:16: error: property NUM_STREAMZ is not supported on device {device}"
    assert hint == "hint: did you mean NUM_STREAMS?"
    assert "Traceback" not in result.stderr


def test_meta_plugin_property_passes_for_auto_only(
    tmp_path: Path, probed_cache: Path, probe: dict
) -> None:
    """MODEL_PRIORITY is AUTO's own (RW on AUTO), not the CPU plugin's."""
    auto = _recipe(
        tmp_path / "auto", '  devices: ["AUTO:CPU"]\n  properties: {MODEL_PRIORITY: HIGH}'
    )
    assert ovrun("plan", str(auto), "--cache-dir", str(probed_cache)).returncode == 0
    cpu = _recipe(tmp_path / "cpu", "  devices: [CPU]\n  properties: {MODEL_PRIORITY: HIGH}")
    result = ovrun("plan", str(cpu), "--cache-dir", str(probed_cache))
    assert (
        result.returncode == 2 and "MODEL_PRIORITY is not supported on device CPU" in result.stderr
    )


def test_plan_with_a_warm_memo_keys_on_the_fingerprint_without_openvino(
    tmp_path: Path, probed_cache: Path
) -> None:
    import subprocess
    import sys

    from recipes_util import REPO

    path = _recipe(tmp_path, '  devices: [CPU, "AUTO:GPU,CPU"]\n  threads: [1]')
    code = (
        "import sys\nfrom runner.cli.main import main\n"
        f"assert main(['plan', {str(path)!r}, '--cache-dir', {str(probed_cache)!r}]) == 0\n"
        "heavy = [m for m in ('openvino', 'nncf', 'torch', 'transformers', 'optimum') "
        "if m in sys.modules]\nprint('HEAVY:' + ','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "HEAVY:"
    assert "not probed" not in out  # the bench cells were keyed on the memo's fingerprint


def test_dask_routes_auto_lists_to_the_members_the_cluster_has() -> None:
    """Cluster device lists are made up here (one with a mock GPU worker)."""
    from runner.executor.dask import device_requirements

    assert device_requirements("AUTO:GPU,CPU", ["CPU"]) == {"device.CPU": 1}
    with_mock_gpu = ["CPU", "GPU"]
    assert device_requirements("AUTO:GPU,CPU", with_mock_gpu) == {"device.GPU": 1, "device.CPU": 1}
    assert device_requirements("HETERO:GPU,CPU", ["CPU"]) == {"device.GPU": 1, "device.CPU": 1}
    assert device_requirements("AUTO", ["CPU"]) == {}
    assert device_requirements("GPU.1", with_mock_gpu) == {"device.GPU": 1}
