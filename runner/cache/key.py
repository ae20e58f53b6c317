"""Task keys: sha256 of a canonical JSON preimage. The preimage is stored beside each cache
entry so `ovrun explain` can say exactly which field changed."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from functools import cache
from typing import Any

from runner.plan.ops import Op

KEY_SCHEMA = 1


def canonical(obj: Any) -> bytes:
    """Sorted keys, no whitespace, no NaN: the same data always gives the same bytes."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


@cache
def lib_version(dist: str) -> str:
    """The installed version of ``dist`` (``absent`` when it is not installed).

    Read from the ``NAME-VERSION.dist-info`` directory names on sys.path, first match wins as
    in importlib.metadata, which is consulted only for other layouts (egg-info, odd names):
    importing it and searching per name cost a fully cached run a third of its time."""
    found = _dist_info_versions().get(_normalized(dist))
    if found is not None:
        return found
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@cache
def _dist_info_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            dist, sep, version = name[: -len(".dist-info")].partition("-")
            if sep and version[:1].isdigit() and "-" not in version:
                versions.setdefault(_normalized(dist), version)
    return versions


def preimage(
    op: Op,
    params: dict[str, Any],
    upstream: dict[str, str],
    files: dict[str, str],
    device: str | None,
    machine: dict[str, Any] | None = None,
    capabilities: list[Any] | None = None,
) -> dict[str, Any]:
    """``machine``: the fingerprint of the measured device, for ops whose output is a
    measurement (`Op.measures`); ``capabilities``: the precisions the device offers, for ops
    whose figures follow its default precision (`Op.precision_dependent`). Other ops never
    carry either field, so their keys are shared between machines."""
    pre = {
        "key_schema": KEY_SCHEMA,
        "op": op.name,
        "op_version": op.version,
        "params": params,
        "upstream": dict(sorted(upstream.items())),
        "files": dict(sorted(files.items())),
        "libs": {name: lib_version(name) for name in sorted(op.libs)},
        "device": device if op.device_dependent else None,
    }
    if op.measures:
        pre["machine"] = machine  # None: this host not probed yet (`plan` before any run)
    if op.precision_dependent:
        pre["capabilities"] = capabilities
    return pre


def key_of(pre: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(pre)).hexdigest()


def diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two preimages, one line per changed leaf."""
    lines: list[str] = []
    for name in sorted(set(old) | set(new)):
        path = f"{prefix}{name}"
        if name not in old:
            lines.append(f"{path}: added {json.dumps(new[name])}")
        elif name not in new:
            lines.append(f"{path}: removed (was {json.dumps(old[name])})")
        elif isinstance(old[name], dict) and isinstance(new[name], dict):
            lines.extend(diff(old[name], new[name], f"{path}."))
        elif old[name] != new[name]:
            lines.append(f"{path}: {json.dumps(old[name])} -> {json.dumps(new[name])}")
    return lines
