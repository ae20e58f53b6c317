"""The ``bench_cell`` op: publish one cell's row from its group's interleaved rounds.

``bench:<variant>:<cell>`` stays the address of a benchmark cell (rows, ``--only``,
``assert:``, ``compare``, search) while the measuring happens once per group
(``rounds:<cell>``, op ``benchmark``). Reads one JSON file; imports nothing heavy."""

from __future__ import annotations

import json
from typing import Any

from runner.core.errors import OvrunError
from runner.plan.context import TaskContext


def run(ctx: TaskContext) -> dict[str, Any]:
    path = ctx.inputs["rounds"] / "cells" / f"{ctx.params['variant']}.json"
    if not path.is_file():
        raise OvrunError(
            f"the group {path.parent.parent} has no row for {ctx.params['variant']}",
            hint="re-run the group with --force",
        )
    return json.loads(path.read_text(encoding="utf-8"))
