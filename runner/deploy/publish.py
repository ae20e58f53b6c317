"""The run dir's deploy/: the deploy tasks' outputs of the variants that passed their gate
and asserts (all of them with ``deploy: {allow_failed: true}``), and what the run says and
records in results.json about the ones held back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.cache.store import Cache
    from runner.plan.tasks import Plan
    from runner.recipe.spec import Recipe


def deploy_passed(
    recipe: Recipe,
    plan: Plan,
    cache: Cache,
    finished: set[str],
    out_dir: Path,
    doc: dict[str, Any],
    console: Any,
) -> None:
    """Copy the deploy outputs of the variants that passed into the run dir (all of them with
    deploy.allow_failed), say which were held back and why, and record both in ``doc``.
    ``finished``: ids of the tasks whose entries exist after the run (ran or cached)."""
    spec = recipe.deploy
    tasks = [t for t in plan.order() if t.op.name == "deploy"]
    if spec is None or not tasks:  # e.g. --only 'compress:*': leave the last deploy dir alone
        return
    from runner.deploy.held_back import failures
    from runner.deploy.materialize import materialize

    failed = failures(recipe, doc)
    built = [t for t in tasks if t.id in finished]
    chosen = [t for t in built if spec.allow_failed or t.labels["variant"] not in failed]
    deploys = [(t.params, cache.out_dir(t.key)) for t in chosen]
    deployed = materialize(out_dir, recipe.name, deploys)
    doc["deploy"] = {
        "dir": str(deployed) if deployed else None,
        "deployed": [t.labels["variant"] for t in chosen],
        "held_back": {v: r for v, r in failed.items() if not spec.allow_failed},
        "deployed_failing": {v: r for v, r in failed.items() if spec.allow_failed},
    }
    if deployed:
        console.print(f"deploy: {deployed}", highlight=False)
    for variant, reasons in failed.items():
        verdict = "deployed (allow_failed) although" if spec.allow_failed else "held back:"
        console.print(
            f"deploy: {variant} {verdict} {'; '.join(reasons)}", style="yellow", highlight=False
        )
    if failed and not spec.allow_failed:
        console.print(
            "deploy: variants that fail a gate or an assert: are not deployed; "
            "`deploy: {allow_failed: true}` deploys them anyway",
            highlight=False,
        )
