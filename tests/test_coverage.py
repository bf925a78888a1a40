"""Intervals cover the truth as often as they say, at the run counts the profiles use (3, 5 and 10).

Fixed seeds, so the test is deterministic; 4,000 simulated cells per case keep the standard error of a
coverage near 0.7 points, and the bound of 2.5 points is more than three of them. Per-run figures are drawn
log-normal at three spreads (1%, 30% and 100% on the log scale) and from a contaminated mix where one run in
ten was slowed 3x by a neighbour, the way a preempted run looks.
"""

from __future__ import annotations

import numpy as np
import pytest

from ipcbench import stats

RUNS = (3, 5, 10)
SPREADS = ("tight", "typical", "wild", "preempted")
TRIALS = 4000
TRUE_RATIO = 1.3


def _draw(rng: np.random.Generator, spread: str, shape: tuple[int, int]) -> np.ndarray:
    """Per-run figures with median 1 (log scale centred on 0)."""
    if spread == "preempted":
        base = rng.lognormal(0.0, 0.1, shape)
        slowed = rng.random(shape) < 0.1
        return np.asarray(np.where(slowed, base * 3, base))
    sigma = {"tight": 0.01, "typical": 0.3, "wild": 1.0}[spread]
    return rng.lognormal(0.0, sigma, shape)


@pytest.mark.parametrize("spread", SPREADS)
@pytest.mark.parametrize("runs", RUNS)
def test_ratio_interval_covers_its_stated_level(runs: int, spread: str) -> None:
    rng = np.random.default_rng(1000 * runs + SPREADS.index(spread))
    base, new = _draw(rng, spread, (TRIALS, runs)), _draw(rng, spread, (TRIALS, runs)) * TRUE_RATIO
    intervals = [stats.ratio_interval(n, b) for n, b in zip(new, base, strict=True)]
    assert all(i is not None for i in intervals)
    covered = np.mean([i.low <= TRUE_RATIO <= i.high for i in intervals if i])
    level = intervals[0].level if intervals[0] else 0.0
    assert level == pytest.approx({3: 0.9, 5: 0.968, 10: 0.957}[runs], abs=0.001)
    assert abs(covered - level) < 0.025, f"{runs} runs, {spread}: covered {covered:.3f}, says {level:.3f}"


@pytest.mark.parametrize("spread", SPREADS)
@pytest.mark.parametrize("runs", RUNS)
def test_figure_interval_covers_its_stated_level(runs: int, spread: str) -> None:
    rng = np.random.default_rng(2000 * runs + SPREADS.index(spread))
    values = _draw(rng, spread, (200_000, 1))
    truth = float(np.median(values))  # the population median of the per-run figure
    intervals = [stats.median_interval(row) for row in _draw(rng, spread, (TRIALS, runs))]
    covered = np.mean([i.low <= truth <= i.high for i in intervals if i])
    level = intervals[0].level if intervals[0] else 0.0
    assert level == pytest.approx({3: 0.75, 5: 0.9375, 10: 0.9785}[runs], abs=0.001)
    assert abs(covered - level) < 0.025, f"{runs} runs, {spread}: covered {covered:.3f}, says {level:.3f}"


def test_intervals_stay_on_the_positive_axis() -> None:
    """Rates 1, 2 and 0.5 GB/s once had the t interval [-0.73, 3.06] GB/s."""
    interval = stats.median_interval([1e9, 2e9, 0.5e9])
    assert interval is not None and interval.bounds == [0.5e9, 2e9] and interval.level == 0.75
    ratio = stats.ratio_interval([1e9, 2e9, 0.5e9], [1e9, 1.1e9, 0.9e9])
    assert ratio is not None and ratio.low > 0


def test_three_against_three_says_ninety_percent() -> None:
    """(110, 100, 130) over (90, 100, 120): the former "95%" bootstrap interval [0.833, 1.444] is the
    widest the exact distribution allows, and it covers 90%."""
    ratio = stats.ratio_interval([110, 100, 130], [90, 100, 120])
    assert ratio is not None
    assert (ratio.low, ratio.high) == pytest.approx((100 / 120, 130 / 90))
    assert ratio.level == pytest.approx(0.9)


def test_no_runs_give_no_ratio_rather_than_a_division_by_zero() -> None:
    point, interval = stats.ratio_ci([], [1.0, 2.0])
    assert np.isnan(point) and interval is None
    assert stats.ratio_interval([1.0], [1.0, 2.0]) is None
