"""Running the benchmark group op (`runner.adapters.benchmark`) on one model in tests."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from runner.plan.context import TaskContext


def measure_one(ctx: TaskContext) -> dict[str, Any]:
    """A group of one (variant ``model`` -> task ``ctx.task_id``): run it and return the
    cell's row as the ``bench_cell`` task publishes it."""
    from runner.adapters import benchmark

    ctx = dataclasses.replace(ctx, params={**ctx.params, "cells": {"model": ctx.task_id}})
    benchmark.run(ctx)
    return json.loads((ctx.out / "cells" / "model.json").read_text(encoding="utf-8"))
