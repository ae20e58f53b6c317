"""Devices a recipe needs on this host, checked before anything runs.

Benchmark cells on an absent device are skipped with the reason (one recipe serves many
hosts). The evaluation and the deployment name one device each; without it they cannot
produce anything, so an absent one is a recipe/host mismatch: exit 2 at that line, not a
failure after minutes of export and compression."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runner.core.errors import OvrunError
from runner.host.devices import unavailable_reason

if TYPE_CHECKING:
    from runner.recipe.spec import Recipe


def check_required_devices(recipe: Recipe, host: dict[str, Any] | None) -> None:
    if not host or host.get("available_devices") is None:
        return  # not probed (plan without a memo): checked at run time
    available = list(host["available_devices"])
    needs = []
    if recipe.evaluate is not None:
        needs.append((("evaluate", "device"), recipe.evaluate.device, "evaluation"))
    deploy = getattr(recipe, "deploy", None)
    if deploy is not None and getattr(deploy, "device", None):
        needs.append((("deploy", "device"), deploy.device, "deployment"))
    for path, device, what in needs:
        reason = unavailable_reason(device, available)
        if reason:
            raise OvrunError(
                f"{'.'.join(path)}: {reason} — the {what} cannot run here",
                hint=f"set {'.'.join(path)}: to one of {', '.join(available) or 'none'}, or run "
                "on a host with the device (and its driver: check `ovrun plan` after installing)",
                location=recipe.location(*path),
            )
