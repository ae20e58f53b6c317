"""Interleaved rounds: the control loop that measures a group of cells round-robin.

One *pass* runs one timed round of every cell, back to back; the starting cell rotates from
pass to pass so no cell always follows the pause (or the same neighbour). Drift of the host
(thermal, other processes, frequency) then hits every cell of a pass alike, and the verdict
pairs the cells' rounds by pass (`runner.report.verdict`).

Fixed mode runs exactly ``rounds`` passes. Adaptive mode (``target_ci``) runs at least
``MIN_ROUNDS`` passes and stops after the first pass at which every cell's 95% throughput
interval, and every variant's paired ratio interval to the reference, is within
±``target_ci`` of its estimate; or once ``max_s`` seconds of rounds have passed, which marks
the cells still short of the target. Pure control logic over the `MeasuredCell` protocol:
no runtime is imported here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runner.adapters.bench_cells import MeasuredCell
from runner.report.verdict import MIN_ROUNDS, median, ratio_interval, throughput_interval


@dataclass(frozen=True)
class RoundSpec:
    round_s: float  # length of one round of one cell
    rounds: int  # fixed mode: exactly this many passes; adaptive: at least max(this, MIN_ROUNDS)
    target_ci: float | None = None  # adaptive: relative half-width every interval must reach
    max_s: float | None = None  # adaptive: give up after this many seconds of rounds
    reference: str | None = None  # task id of the reference cell: ratios are checked too

    @property
    def adaptive(self) -> bool:
        return self.target_ci is not None


@dataclass
class GroupRounds:
    rounds: dict[str, list[dict[str, Any]]]  # task id -> its rounds, in order
    latencies: dict[str, list[float]]  # task id -> every inference's latency (ms)
    stopped: str  # "rounds" (fixed count), "target_ci" or "max_s"
    elapsed_s: float
    reached: dict[str, bool] = field(default_factory=dict)  # adaptive: interval within target

    def passes(self) -> int:
        return max((len(r) for r in self.rounds.values()), default=0)


def pass_order(task_ids: list[str], index: int) -> list[str]:
    shift = index % len(task_ids)
    return task_ids[shift:] + task_ids[:shift]


def reached(
    rounds: dict[str, list[dict[str, Any]]], target: float, reference: str | None
) -> dict[str, bool]:
    """Per cell: its throughput interval, and its paired ratio to the reference (when the
    group has one), are within ±target relative half-width."""
    out = {}
    for task_id, own in rounds.items():
        ok = throughput_interval(own).rel_half_width <= target
        if ok and reference is not None and task_id != reference and reference in rounds:
            ratio = ratio_interval(own, rounds[reference])
            ok = ratio is not None and ratio.rel_half_width <= target
        out[task_id] = ok
    return out


def run_rounds(
    cells: list[MeasuredCell],
    spec: RoundSpec,
    clock: Callable[[], float] = time.perf_counter,
    log: Callable[[str], None] = lambda message: None,
) -> GroupRounds:
    """Measure ``cells`` (already prepared) in interleaved passes until ``spec`` says stop."""
    ids = [cell.task_id for cell in cells]
    by_id = {cell.task_id: cell for cell in cells}
    rounds: dict[str, list[dict[str, Any]]] = {tid: [] for tid in ids}
    latencies: dict[str, list[float]] = {tid: [] for tid in ids}
    minimum = max(spec.rounds, MIN_ROUNDS) if spec.adaptive else spec.rounds
    start = clock()
    index = 0
    while True:
        for position, tid in enumerate(pass_order(ids, index)):
            began = clock() - start
            measured = by_id[tid].round(spec.round_s)
            latencies[tid].extend(measured.latencies_ms)
            rounds[tid].append(
                {
                    "pass": index,
                    "position": position,
                    "started_s": began,
                    "wall_s": measured.wall_s,
                    "samples": measured.samples,
                    "throughput": measured.throughput,
                    "latency_median_ms": median(measured.latencies_ms)
                    if measured.latencies_ms
                    else None,
                }
            )
        index += 1
        elapsed = clock() - start
        if not spec.adaptive:
            if index >= spec.rounds:
                return GroupRounds(rounds, latencies, "rounds", elapsed)
            continue
        if index < minimum:
            continue
        assert spec.target_ci is not None
        state = reached(rounds, spec.target_ci, spec.reference)
        if all(state.values()):
            log(f"every interval within ±{spec.target_ci:.1%} after {index} passes")
            return GroupRounds(rounds, latencies, "target_ci", elapsed, state)
        if spec.max_s is not None and elapsed >= spec.max_s:
            short = [tid for tid, ok in state.items() if not ok]
            log(f"max_s {spec.max_s:g} s passed after {index} passes; short: {', '.join(short)}")
            return GroupRounds(rounds, latencies, "max_s", elapsed, state)
