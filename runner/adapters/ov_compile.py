"""OpenVINO helpers of the benchmark: read, reshape, compile cold and cached, first
inference, and reading back what the compiled model settled on. Used by the OpenVINO cell
(`runner.adapters.ov_cell`) and the benchmark op; openvino itself is imported by callers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from runner.core.errors import OvrunError

# Inputs shaped [batch, seq_len]; beam_idx (stateful LMs) is shaped [batch].
_TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids")


_BATCH_INPUTS = ("beam_idx",)


# What the compiled model actually decided; read back so the result records the truth.
RESOLVED_PROPERTIES = (
    "PERFORMANCE_HINT",
    "NUM_STREAMS",
    "INFERENCE_NUM_THREADS",
    "INFERENCE_PRECISION_HINT",
    "OPTIMAL_NUMBER_OF_INFER_REQUESTS",
)


DEFAULT_VOCAB = 1000


def cached_compile_times(core: Any, model: Any, device: str, config: dict) -> dict[str, Any]:
    """Compile twice with a fresh CACHE_DIR: the first writes the blob, the second is the
    warm start a deployment with a model cache sees. None where the device cannot cache."""
    import shutil
    import tempfile

    tmp = tempfile.mkdtemp(prefix="ovrun-cache-")
    try:
        cached = {**config, "CACHE_DIR": tmp}
        start = time.perf_counter()
        first = core.compile_model(model, device, cached)
        write_s = time.perf_counter() - start
        del first
        start = time.perf_counter()
        second = core.compile_model(model, device, cached)
        warm_s = time.perf_counter() - start
        del second
        blob = any(Path(tmp).rglob("*.blob"))
    except RuntimeError:
        return {"compile_cache_write_s": None, "compile_warm_s": None}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"compile_cache_write_s": write_s, "compile_warm_s": warm_s if blob else None}


def read_config(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "config.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise OvrunError(f"{path}: invalid JSON ({exc.msg})", hint="re-run the export") from exc


def takes_tokens(model: Any) -> bool:
    return any(port.get_any_name() in _TOKEN_INPUTS + _BATCH_INPUTS for port in model.inputs)


def _tensor_shapes(model: Any, batch: int) -> dict[str, list[int]]:
    """A non-token model's own input shapes; only a dynamic first (batch) dim is filled."""
    shapes: dict[str, list[int]] = {}
    for port in model.inputs:
        name, dims = port.get_any_name(), port.get_partial_shape()
        if dims.rank.is_dynamic:
            shape = None
        else:
            shape = [
                batch
                if i == 0 and dim.is_dynamic
                else (dim.get_length() if dim.is_static else None)
                for i, dim in enumerate(dims)
            ]
        if shape is None or None in shape:
            raise OvrunError(
                f"model input {name} has the dynamic shape {dims}; the benchmark needs it static",
                hint=f"set model.shapes: {{{name}: [...]}} (every dimension, batch first)",
            )
        shapes[name] = shape
    return shapes


def static_shapes(model: Any, batch: int, seq_len: int) -> dict[str, list[int]]:
    if not takes_tokens(model):
        return _tensor_shapes(model, batch)
    shapes: dict[str, list[int]] = {}
    for port in model.inputs:
        name = port.get_any_name()  # the name make_feed keys on
        if name in _TOKEN_INPUTS:
            shapes[name] = [batch, seq_len]
        elif name in _BATCH_INPUTS:
            shapes[name] = [batch]
        else:
            # Caught here, before a compile that would be wasted.
            raise OvrunError(
                f"model input {name} is not a text input this benchmark can feed",
                hint=f"benchmark supports models whose inputs are among "
                f"{', '.join(_TOKEN_INPUTS + _BATCH_INPUTS)}; export a stateful model for LLMs",
            )
    return shapes


def reshape(model: Any, shapes: dict[str, list[int]]) -> None:
    try:
        model.reshape(shapes)
    except RuntimeError as exc:
        raise OvrunError(
            f"cannot reshape the model to {shapes}: {_last_line(exc)}",
            hint="pick benchmark.batch / seq_len the model accepts",
        ) from exc


def compile_model(core: Any, model: Any, device: str, config: dict[str, Any]) -> Any:
    try:
        return core.compile_model(model, device, config)
    except RuntimeError as exc:
        # OpenVINO's message is a stack of "Exception from file:line" frames: the cell
        # fails with its last line, never with the raw exception
        message = _last_line(exc)
        if any(name in str(exc) for name in config):
            raise OvrunError(
                f"compile on {device} rejected the config: {message}",
                hint="fix targets.properties",
            ) from exc
        raise OvrunError(
            f"compile on {device} failed: {message}",
            hint="check the device's driver and plugin (`ovrun plan` lists what this host has)",
        ) from exc


def _last_line(exc: BaseException) -> str:
    """OpenVINO errors nest 'Exception from file:line' frames; the last line says why."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def optimal_nireq(compiled: Any) -> int:
    try:
        return max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    except RuntimeError:  # a plugin that does not report it: run one request at a time
        return 1


def first_inference_ms(request: Any, feed: dict[str, np.ndarray] | None) -> float:
    began = time.perf_counter()
    request.infer(feed) if feed is not None else request.infer()
    return (time.perf_counter() - began) * 1000.0


def resolved_properties(compiled: Any) -> dict[str, Any]:
    """The values the compiled model settled on, for those the device reports.

    A meta-device (AUTO, HETERO, MULTI) reports few of its own; what its one executing
    device settled on (streams, threads, precision) is read from DEVICE_PROPERTIES."""
    supported = compiled.get_property("SUPPORTED_PROPERTIES")
    member = _single_member_properties(compiled, supported)
    resolved: dict[str, Any] = {}
    for name in RESOLVED_PROPERTIES:
        if name in supported:
            resolved[name] = _jsonable(compiled.get_property(name))
        elif name in member:
            resolved[name] = _jsonable(member[name])
    return resolved


def _single_member_properties(compiled: Any, supported: Any) -> dict[str, Any]:
    if "DEVICE_PROPERTIES" not in supported:
        return {}
    try:
        members = dict(compiled.get_property("DEVICE_PROPERTIES"))
    except RuntimeError:
        return {}
    return dict(next(iter(members.values()))) if len(members) == 1 else {}


def execution_devices(compiled: Any) -> list[str] | None:
    """The devices the compiled model runs on (AUTO:GPU,CPU may settle on CPU)."""
    try:
        return [str(d) for d in compiled.get_property("EXECUTION_DEVICES")]
    except RuntimeError:
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_string"):  # ov.Type: "bf16" rather than "<Type: 'bfloat16'>"
        return value.to_string()
    return str(value)


def size_of(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0
