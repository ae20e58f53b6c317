"""The interleaved-rounds control loop (runner/adapters/bench_rounds.py) driven through the
MeasuredCell protocol by fake cells fed from known sequences and a fake clock: this is pure
control logic (when to stop, what to flag), so no runtime is involved."""

from __future__ import annotations

import itertools

from runner.adapters.bench_cells import MeasuredCell, Round
from runner.adapters.bench_rounds import RoundSpec, pass_order, run_rounds
from runner.report.verdict import MIN_ROUNDS


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeCell:
    """Returns throughputs from ``sequence`` (cycled); each round advances the clock."""

    def __init__(self, task_id: str, sequence: list[float], clock: Clock):
        self.task_id = task_id
        self._values = itertools.cycle(sequence)
        self._clock = clock
        self.calls: list[float] = []

    def prepare(self) -> dict:
        return {}

    def round(self, seconds: float) -> Round:
        self.calls.append(self._clock.now)
        self._clock.now += seconds
        throughput = next(self._values)
        return Round(int(throughput * seconds), seconds, [1000.0 / throughput])

    def close(self) -> None:
        pass


def _cells(clock: Clock, **sequences: list[float]) -> list[MeasuredCell]:
    return [FakeCell(name, values, clock) for name, values in sequences.items()]


def test_fake_cells_stopping_rule_stops_early_on_stable_cells() -> None:
    clock = Clock()
    cells = _cells(clock, ref=[1000, 1004, 998, 1002], var=[1200, 1198, 1203, 1201])
    spec = RoundSpec(round_s=0.25, rounds=1, target_ci=0.02, max_s=30, reference="ref")
    result = run_rounds(cells, spec, clock=clock)
    assert result.stopped == "target_ci"
    assert result.passes() == MIN_ROUNDS  # the first pass at which a 95% interval exists
    assert result.reached == {"ref": True, "var": True}
    assert result.elapsed_s < 30 / 5


def test_fake_cells_stopping_rule_hits_max_s_and_flags_the_noisy_cell() -> None:
    clock = Clock()
    noisy = [700, 1300, 900, 1500, 600, 1100, 1400, 800]  # ±40%: never within ±2%
    cells = _cells(clock, ref=[1000, 1001, 999], var=noisy)
    spec = RoundSpec(round_s=0.5, rounds=1, target_ci=0.02, max_s=10, reference="ref")
    result = run_rounds(cells, spec, clock=clock)
    assert result.stopped == "max_s"
    assert result.reached == {"ref": True, "var": False}
    assert 10 <= result.elapsed_s < 10 + 2 * 0.5  # stops after the pass that crosses max_s
    assert len(result.rounds["ref"]) == len(result.rounds["var"]) == result.passes()


def test_fake_cells_fixed_mode_runs_exactly_the_rounds_in_rotating_order() -> None:
    clock = Clock()
    cells = _cells(clock, a=[10], b=[20], c=[30])
    result = run_rounds(cells, RoundSpec(round_s=1.0, rounds=4), clock=clock)
    assert result.stopped == "rounds" and result.passes() == 4
    starts = sorted((r["started_s"], tid) for tid, rounds in result.rounds.items() for r in rounds)
    order = [tid for _, tid in starts]
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]
    assert pass_order(["a", "b", "c"], 4) == ["b", "c", "a"]
    assert all(
        r["position"] == (ord(t) - ord("a") - r["pass"]) % 3
        for t, rs in result.rounds.items()
        for r in rs
    )
