"""The recipe's `deploy:` block as a typed value, with variant references checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner.core.errors import OvrunError, suggest
from runner.recipe.load import RecipeDoc
from runner.recipe.model_sources import Source


@dataclass(frozen=True)
class DeploySpec:
    """The deploy: section, resolved."""

    variants: list[str]
    formats: list[str]
    device: str
    hint: str
    plugin_config: dict[str, Any]  # PERFORMANCE_HINT + targets.properties + deploy.properties
    model_name: str
    allow_failed: bool = False  # deploy variants that failed a gate or an assert: anyway
    # text-generation: OVMS LLM calculator options (cache_size, max_num_seqs,
    # enable_prefix_caching), schema defaults filled in; empty for other tasks
    llm: dict[str, Any] = field(default_factory=dict)

    def served_name(self, variant: str) -> str:
        return f"{self.model_name}-{variant}"


def parse_deploy(
    doc: RecipeDoc, data: dict[str, Any], variants: list[str], source: Source | None = None
) -> DeploySpec | None:
    raw = data.get("deploy")
    if raw is None:
        return None
    for i, name in enumerate(raw["variants"]):
        if name not in variants:
            raise OvrunError(
                f"unknown variant '{name}' in deploy.variants",
                hint=suggest(name, variants, otherwise=f"defined variants: {', '.join(variants)}"),
                location=doc.location(("deploy", "variants", i)),
            )
    formats = [f for f in ("optimum", "ovms", "bundle") if f in raw["formats"]]
    if source is not None and {"optimum", "bundle"} & set(formats):  # a bundle holds optimum/
        _check_optimum_config(doc, source)
    task = data["model"].get("task")
    if task != "text-generation" and ("deploy", "llm") in doc.positions:
        raise OvrunError(
            f"deploy.llm configures OVMS's LLM pipeline, and this recipe's task is {task}",
            hint="remove deploy.llm, or set model.task: text-generation",
            location=doc.location(("deploy", "llm"), key=True),
        )
    # The recipe's benchmark properties (streams, threads, precision) carry over to serving;
    # deploy.properties can override them for the served configuration.
    plugin = {
        **data.get("targets", {}).get("properties", {}),
        **raw["properties"],
        "PERFORMANCE_HINT": raw["hint"],
    }
    return DeploySpec(
        variants=list(raw["variants"]),
        formats=formats,
        device=raw["device"],
        hint=raw["hint"],
        plugin_config=dict(sorted(plugin.items())),
        model_name=raw.get("model_name") or data["name"],
        allow_failed=bool(raw.get("allow_failed", False)),
        llm=dict(sorted(raw.get("llm", {}).items())) if task == "text-generation" else {},
    )


def _check_optimum_config(doc: RecipeDoc, source: Source) -> None:
    """OVModelFor*.from_pretrained needs a transformers config.json beside the IR. Hugging
    Face sources bring theirs; an ONNX file or an IR has none, so it must come from the
    tokenizer dir or from a model_type in the recipe, or the optimum dir cannot be built."""
    if source.kind not in ("onnx", "ir") or source.options.get("model_type"):
        return
    tokenizer = source.files.get("tokenizer")
    if tokenizer is not None and (tokenizer / "config.json").is_file():
        return
    raise OvrunError(
        f"deploy: an optimum dir needs the model's transformers config, and this {source.kind}: "
        "source has none",
        hint="add model_type: <its transformers type, e.g. bert> to model.source, point "
        "tokenizer: at a dir with the model's config.json, or deploy to OVMS only "
        "(formats: [ovms])",
        location=doc.location(("deploy", "formats")),
    )
