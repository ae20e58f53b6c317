"""Tasks of the test-only ``test_ops:`` section: ``<op>:<index>``, independent or a chain.

They hang off nothing and nothing hangs off them (not the report), so a run selects them with
``--only '<op>:*'`` and times the engine alone."""

from __future__ import annotations

from runner.plan.ops import TEST_OPS
from runner.plan.tasks import Task
from runner.recipe.test_ops import TestOpsSpec


def test_tasks(spec: TestOpsSpec) -> list[Task]:
    width = len(str(spec.count - 1))
    ids = [f"{spec.op}:{i:0{width}d}" for i in range(spec.count)]
    return [
        Task(
            task_id,
            TEST_OPS[spec.op],
            {"index": i, "seconds": spec.seconds},
            # a chain: one task at a time, each hop through the engine timed
            deps={"previous": ids[i - 1]} if spec.chain and i else {},
            where=("test_ops",),
        )
        for i, task_id in enumerate(ids)
    ]
