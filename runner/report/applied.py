"""What a compression really applied, condensed from the compress task's measured summary,
and the one-line form the terminal prints per variant."""

from __future__ import annotations

from typing import Any

_KEPT = (
    "algorithm",
    "mode",
    "weight_bits",
    "fake_quantize_nodes",
    "fake_convert_nodes",
    "quantized_weight_ops",
    "float_weight_ops",
    "float_layers",
    "size_bytes",
    "accuracy_control",
    "ignored_params",
    "algorithms",
)
# What was asked of NNCF; what it did is under "algorithms" (measured), not here.
_REQUESTED_ONLY = ("awq", "scale_estimation", "gptq", "lora_correction")


def applied(summary: dict[str, Any]) -> dict[str, Any]:
    out = {key: summary[key] for key in _KEPT if key in summary}
    if "qat" in summary:  # the training run, without its per-step curve (the task's output has it)
        out["qat"] = {k: v for k, v in summary["qat"].items() if k != "losses"}
    nncf_params = summary.get("nncf_params") or {}
    # NNCF's resolved configuration: the defaults it chose are part of what was applied
    out["nncf"] = {
        k: v
        for k, v in nncf_params.items()
        if v not in (None, [], {}) and not (k in _REQUESTED_ONLY and "algorithms" in summary)
    }
    return out


def compact_line(variant: str, info: dict[str, Any]) -> str:
    """e.g. `int4: compress_weights int4_sym · int4 78.1% int8 21.9% · 3 float layers · 1.2 MB`"""
    parts = [info.get("algorithm", "?")]
    nncf = info.get("nncf", {})
    mode = info.get("mode") or nncf.get("mode")
    if mode:
        parts[0] += f" {mode}"
    for key in ("ratio", "group_size"):
        if key in nncf and info.get("algorithm") == "compress_weights":
            parts[0] += f" {key} {nncf[key]}"
    shares = info.get("weight_bits") or {}
    bits = " ".join(f"{bucket} {share:.1%}" for bucket, share in shares.items() if share > 0)
    if bits:
        parts.append(bits)
    for key, label in (
        ("fake_quantize_nodes", "FakeQuantize"),
        ("fake_convert_nodes", "FakeConvert"),
    ):
        if info.get(key):
            parts.append(f"{info[key]} {label}")
    kept = info.get("float_weight_ops", len(info.get("float_layers") or []))
    if kept:
        parts.append(f"{kept} float layer(s)")
    for name, did in (info.get("algorithms") or {}).items():
        if did.get("applied"):
            parts.append(f"{name} on {did['layers']} layer(s)")
        else:
            parts.append(f"{name} skipped ({did.get('reason', 'no reason given')})")
    control = info.get("accuracy_control")
    if control:
        parts.append(
            f"accuracy control: drop {control['accuracy_drop']:.4f} <= {control['max_drop']}"
        )
    if info.get("size_bytes"):
        parts.append(f"{info['size_bytes'] / 1e6:.1f} MB")
    return f"{variant}: " + " · ".join(parts)


def applied_lines(results: dict[str, Any]) -> list[str]:
    return [
        compact_line(name, v["applied"])
        for name, v in results.get("variants", {}).items()
        if isinstance(v, dict) and v.get("applied")
    ]
