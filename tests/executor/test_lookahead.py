"""Which tasks may wait on a Dask worker beyond its free threads (runner.executor.lookahead)."""

from __future__ import annotations

from runner.executor.lookahead import SHORT_TASK_S, Lookahead


def test_an_op_not_seen_yet_waits_for_a_free_thread():
    assert Lookahead().limit("compress_weights", exclusive=False, threads=4) == 4


def test_short_tasks_may_queue_one_per_thread_long_ones_may_not():
    ahead = Lookahead()
    for _ in range(3):
        ahead.record("sleep", SHORT_TASK_S / 5)
        ahead.record("quantize", SHORT_TASK_S * 6)
    assert ahead.limit("sleep", exclusive=False, threads=16) == 32
    assert ahead.limit("quantize", exclusive=False, threads=16) == 16


def test_exclusive_ops_never_queue_however_short():
    ahead = Lookahead()
    ahead.record("benchmark", SHORT_TASK_S / 10)
    assert ahead.limit("benchmark", exclusive=True, threads=2) == 2


def test_the_recent_durations_decide():
    ahead = Lookahead()
    for _ in range(30):
        ahead.record("evaluate", SHORT_TASK_S / 2)
    for _ in range(20):  # the op got slow (a larger model further down the sweep)
        ahead.record("evaluate", SHORT_TASK_S * 3)
    assert ahead.limit("evaluate", exclusive=False, threads=2) == 2
