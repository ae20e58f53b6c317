"""What a run measured, recorded in results.json so `ovrun compare` can tell two runs of the
same model from two runs of different ones: the model source (``model``) and, per benchmark
cell, the digest of the IR it compiled (``ir_digest``).

Both are read from what the plan and the cache already know (the source's resolved commit
or content digests, the upstream entry's recorded output digests), so nothing is re-hashed
and a cached cell gets its digest as well as a measured one."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.cache.store import Cache
    from runner.plan.tasks import Plan
    from runner.recipe.spec import Recipe

_IR_FILES = ("model/openvino_model.xml", "model/openvino_model.bin")


def model_identity(recipe: Recipe, plan: Plan) -> dict[str, Any]:
    """kind, ref and what pins the weights: the hf commit, or the content digest of the
    source's files (path / package / onnx / ir), or the settings of a random model."""
    source = recipe.model.source
    found: dict[str, Any] = {"kind": source.kind, "ref": source.ref, "task": recipe.model.task}
    if source.revision:
        found["revision"] = source.revision
    if source.commit:
        found["commit"] = source.commit
    export = plan.tasks.get("export")
    files = ((export.preimage or {}).get("files") if export else None) or {}
    if files:
        found["digest"] = _digest(files)
    elif source.options:
        found["digest"] = _digest(source.options)
    return found


def ir_digests(plan: Plan, cache: Cache) -> dict[str, str]:
    """bench task id -> digest of the IR it compiled (its upstream entry's .xml and .bin)."""
    found: dict[str, str] = {}
    for task in plan.order():
        upstream = (
            plan.tasks.get(task.deps.get("model", "")) if task.id.startswith("bench:") else None
        )
        meta = cache.meta(upstream.key) if upstream and upstream.key else None
        outputs = (meta or {}).get("outputs") or {}
        if all(name in outputs for name in _IR_FILES):
            found[task.id] = _digest({name: outputs[name] for name in _IR_FILES})
    return found


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
