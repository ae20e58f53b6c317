"""Parameters of an ``evaluate`` task: the reference precision (``evaluate.properties``, f32 by
default: the compression alone) and the precision-setting properties the variant really runs
with on the evaluation device, in its benchmark cells and its deploy.

Only properties that change numerics are kept, and only distinct sets, with no cell ids, so
adding a hint or a batch size never re-keys an evaluation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runner.recipe.matrix import cells

if TYPE_CHECKING:
    from runner.recipe.spec import Recipe

# The compile properties that decide what arithmetic float layers (and an LLM's KV cache) get.
NUMERIC_PROPERTIES = ("INFERENCE_PRECISION_HINT", "EXECUTION_MODE_HINT", "KV_CACHE_PRECISION")


def numeric(properties: dict[str, Any]) -> dict[str, Any]:
    return {k: properties[k] for k in sorted(properties) if k in NUMERIC_PROPERTIES}


def deployed_properties(recipe: Recipe) -> dict[str, Any]:
    """What a deployment compiles with: the deploy's plugin_config when it targets the
    evaluation device, else the recipe's own properties at the device default precision."""
    ev = recipe.evaluate
    assert ev is not None
    deploy = recipe.deploy
    if deploy is not None and deploy.device == ev.device:
        return numeric(deploy.plugin_config)
    return numeric(recipe.targets.properties)


def runtime_properties(recipe: Recipe) -> list[dict[str, Any]]:
    """Distinct numeric property sets of the deploy and the evaluation device's bench cells."""
    ev = recipe.evaluate
    assert ev is not None
    found = [deployed_properties(recipe)]
    found += [numeric(c.properties) for c in cells(recipe) if c.device == ev.device]
    distinct: list[dict[str, Any]] = []
    for props in found:
        if props not in distinct:
            distinct.append(props)
    return distinct


def evaluation_params(recipe: Recipe) -> dict[str, Any]:
    ev = recipe.evaluate
    assert ev is not None
    return {
        "metric": ev.metric,
        "device": ev.device,
        "properties": ev.properties,
        "task": recipe.model.task,
        "deployed_properties": deployed_properties(recipe),
        "runtime_properties": runtime_properties(recipe),
    }
