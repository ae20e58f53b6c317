"""Plan pieces for the model side: the export task's params and the text-generation
benchmark cells (openvino-genai). Kept apart from plan.py so each stays small; imports
nothing heavy."""

from __future__ import annotations

from typing import Any

from runner.recipe.spec import ModelSpec, Recipe

GENERATE_TASK = "text-generation"


def export_params(model: ModelSpec) -> dict[str, Any]:
    return {
        "source": model.source.key_params(),
        "task": model.task,
        # An ir: source is used as is, so the requested export precision cannot apply.
        "weight_format": None if model.source.kind == "ir" else model.weight_format,
        "trust_remote_code": model.trust_remote_code,
        "shapes": model.shapes,
    }


def uses_generate(recipe: Recipe) -> bool:
    """Causal LMs are benchmarked as a generation pipeline sees them, not per inference."""
    return recipe.model.task == GENERATE_TASK


def cell_params(recipe: Recipe, cell: Any) -> dict[str, Any]:
    """What every measured cell is keyed on, whether per inference or per generation."""
    b = recipe.benchmark
    return {
        "hint": cell.hint,
        "properties": cell.properties,
        "duration_s": b.duration_s,
        "warmup": b.warmup,
        "batch": cell.dims["batch"],
        "seq_len": cell.dims["seq_len"],
        "seed": b.seed,
    }


def generate_params(recipe: Recipe, cell: Any) -> dict[str, Any]:
    b = recipe.benchmark
    return {
        **cell_params(recipe, cell),
        "max_new_tokens": b.max_new_tokens,
        "prompts": "dataset" if b.prompts else "synthetic",
        "repeats": b.repeats,
    }
