"""The test-only ``test_ops:`` recipe section: N tasks of the ``noop`` or ``sleep`` op, which
measure what the engine itself costs per task (cache check, locks, publish, Dask round trip).

It is not in the recipe schema, so editors never offer it, and it is refused unless
``OVRUN_TEST_OPS=1`` (:func:`runner.core.testhooks.test_ops_enabled`) is set: the section is
taken out of the document before the schema sees the rest.

    test_ops: {op: sleep, count: 1000, seconds: 0.2, chain: false}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from runner.core import testhooks
from runner.core.errors import OvrunError
from runner.recipe.load import RecipeDoc

SECTION = "test_ops"
TEST_OP_NAMES = ("noop", "sleep")
MAX_COUNT = 100_000


@dataclass(frozen=True)
class TestOpsSpec:
    __test__ = False  # not a pytest test class, despite its name

    op: str  # noop | sleep
    count: int
    seconds: float = 0.0  # sleep: how long each task sleeps
    chain: bool = False  # each task depends on the one before (one at a time, every hop timed)


def split_test_ops(doc: RecipeDoc) -> tuple[RecipeDoc, TestOpsSpec | None]:
    """The document without its ``test_ops:`` section, and the section parsed (None: absent)."""
    data = doc.data
    if not isinstance(data, dict) or SECTION not in data:
        return doc, None
    where = doc.location((SECTION,), key=True)
    if not testhooks.test_ops_enabled():
        raise OvrunError(
            f"'{SECTION}' is a test-only section (the engine-overhead benchmarks)",
            hint=f"remove it; benchmarks and tests set {testhooks.TEST_OPS_ENV}=1 to use it",
            location=where,
        )
    spec = _parse(doc, data[SECTION])
    rest = {k: v for k, v in data.items() if k != SECTION}
    return dataclasses.replace(doc, data=rest), spec


def _parse(doc: RecipeDoc, raw: Any) -> TestOpsSpec:
    def fail(message: str, *path: str) -> OvrunError:
        return OvrunError(message, location=doc.location((SECTION, *path)))

    if not isinstance(raw, dict):
        raise fail(f"'{SECTION}' must be a mapping: {{op: noop, count: N}}")
    unknown = sorted(set(raw) - {"op", "count", "seconds", "chain"})
    if unknown:
        raise fail(f"unknown key '{unknown[0]}' in {SECTION}", str(unknown[0]))
    op = raw.get("op")
    if op not in TEST_OP_NAMES:
        raise fail(f"{SECTION}.op must be one of {', '.join(TEST_OP_NAMES)}", "op")
    count = raw.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
        raise fail(f"{SECTION}.count must be an integer from 1 to {MAX_COUNT}", "count")
    seconds = raw.get("seconds", 0.0)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= 60:
        raise fail(f"{SECTION}.seconds must be a number from 0 to 60", "seconds")
    chain = raw.get("chain", False)
    if not isinstance(chain, bool):
        raise fail(f"{SECTION}.chain must be true or false", "chain")
    return TestOpsSpec(op, count, float(seconds), chain)
