"""The test-only ops (runner.plan.ops.TEST_OPS): no work at all, or a sleep, so a run of
them times the engine around its adapters."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.plan.context import TaskContext


def noop(ctx: TaskContext) -> dict:
    return {}


def sleep(ctx: TaskContext) -> dict:
    seconds = float(ctx.params["seconds"])
    time.sleep(seconds)
    return {"slept_s": seconds}
