"""The recipe's `deploy:` block as a typed value, with variant references checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.core.errors import OvrunError, suggest
from runner.recipe.load import RecipeDoc


@dataclass(frozen=True)
class DeploySpec:
    variants: list[str]
    formats: list[str]
    device: str
    hint: str
    plugin_config: dict[str, Any]  # PERFORMANCE_HINT + targets.properties + deploy.properties
    model_name: str

    def served_name(self, variant: str) -> str:
        return f"{self.model_name}-{variant}"


def parse_deploy(doc: RecipeDoc, data: dict[str, Any], variants: list[str]) -> DeploySpec | None:
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
    # The recipe's benchmark properties (streams, threads, precision) carry over to serving;
    # deploy.properties can override them for the served configuration.
    plugin = {
        **data.get("targets", {}).get("properties", {}),
        **raw["properties"],
        "PERFORMANCE_HINT": raw["hint"],
    }
    return DeploySpec(
        variants=list(raw["variants"]),
        formats=[f for f in ("optimum", "ovms", "bundle") if f in raw["formats"]],
        device=raw["device"],
        hint=raw["hint"],
        plugin_config=dict(sorted(plugin.items())),
        model_name=raw.get("model_name") or data["name"],
    )
