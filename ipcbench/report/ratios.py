"""A speed-up of one cell over another, with its interval: the unit of evidence of the report.

A ``Speedup`` is the ratio of two sets of per-run figures (round trip: each run's p50; stream: each
run's bytes/s or messages/s): the median of all run-by-run ratios, with its exact Mann-Whitney interval
(``stats.ratio_interval``, whose coverage ``level`` is 90% with 3 runs a side and about 95-97% from 5).
It is oriented so that above 1 always means "the subject is faster".

``decide`` turns it into one of three answers to a question ("is the subject faster?", "slower?", "alike
within the tolerance?"): holds, refuted, or inconclusive with the reason (too few runs for an interval,
an unstable cell, or an interval too wide to tell). A question of equality is answered "holds" only by an
equivalence test: the whole interval inside the tolerance band. No significant difference is never taken
for "the same".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ipcbench import stats
from ipcbench.report.runs import METRICS, Run, size_text

LOWER_IS_BETTER = {"latency", "p99"}
HOLDS, REFUTED, INCONCLUSIVE = "holds", "refuted", "inconclusive"
MOST_RUNS = 100  # run counts estimated beyond this are reported as "more than 100"
_PHRASES = {  # metric -> (noun, better, worse)
    "latency": ("round trip", "is {f}x lower than", "is {f}x higher than"),
    "p99": ("p99 round trip", "is {f}x lower than", "is {f}x higher than"),
    "throughput": ("stream", "moves {f}x more bytes/s than", "moves {f}x fewer bytes/s than"),
    "msgs": ("stream", "carries {f}x more messages/s than", "carries {f}x fewer messages/s than"),
}


def times(value: float) -> str:
    """A ratio for reading: ``7.31``, ``12.3``, ``123``."""
    value = float(f"{value:.3g}")  # 9.99999 (a ratio of logs) reads 10.0, not 10.00
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


@dataclass(frozen=True)
class Speedup:
    """How much faster ``subject`` is than ``baseline`` on one metric at one size."""

    subject: str
    baseline: str
    metric: str  # "latency" (pingpong p50), "p99", "throughput" (stream bytes/s), "msgs" (stream msgs/s)
    size: int
    speedup: float  # > 1: subject is faster (lower latency or higher throughput)
    ci: tuple[float, float] | None  # interval of the speed-up; None unless both cells have 2 runs or more
    level: float | None = None  # the coverage of ``ci`` (0.90 with 3 runs a side)
    runs: int = 0  # the fewer runs of the two cells
    unstable: str | None = None  # why one of the two cells is flagged unstable, if it is

    @property
    def outcome(self) -> str:
        if self.ci is None:
            return "no interval"
        if self.ci[0] > 1:
            return "faster"
        return "slower" if self.ci[1] < 1 else "no significant difference"

    @property
    def deviation(self) -> float | None:
        """How far the interval reaches from 1 in either direction (0.06: within 6%)."""
        if self.ci is None:
            return None
        return max(self.ci[1], 1 / self.ci[0]) - 1

    def decide(self, question: str, tolerance: float) -> tuple[str, str]:
        """(HOLDS, REFUTED or INCONCLUSIVE, why) for ``question``: "faster" (the subject is faster),
        "slower", or "alike" (within ``tolerance``, 0.1: 10%, both ways)."""
        if self.ci is None:
            return INCONCLUSIVE, f"too few runs ({self.runs} in a cell; an interval needs 2 a side)"
        if self.unstable:
            return INCONCLUSIVE, f"unstable cell ({self.unstable})"
        low, high = self.ci
        band = (1 / (1 + tolerance), 1 + tolerance)
        inside = band[0] <= low and high <= band[1]
        if question == "alike":
            if inside:
                return HOLDS, f"alike within {max(1, math.ceil((self.deviation or 0) * 100))}%"
            if low > band[1] or high < band[0]:
                return REFUTED, f"differ by more than {tolerance:.0%}"
            return INCONCLUSIVE, f"interval too wide to tell within {tolerance:.0%}"
        faster = question == "faster"
        if (low > 1) if faster else (high < 1):
            return HOLDS, ""
        if (high < 1) if faster else (low > 1):
            return REFUTED, "slower" if faster else "faster"
        if inside:
            return REFUTED, f"alike within {tolerance:.0%}"
        return INCONCLUSIVE, "interval too wide: it spans 1"

    def runs_to_decide(self, question: str, tolerance: float) -> int | None:
        """Roughly how many runs per cell would make the interval narrow enough to decide ``question``,
        if the spread and the ratio stay as measured (the interval narrows as 1/sqrt(runs)); None
        without an interval."""
        if self.ci is None or self.runs < 2:
            return None
        half = (math.log(self.ci[1]) - math.log(self.ci[0])) / 2
        centre, band = abs(math.log(self.speedup)), math.log(1 + tolerance)
        room = abs(centre - band) if question == "alike" else max(centre, band - centre)
        if half <= 0:
            return self.runs
        if room <= 0 or self.runs * (half / room) ** 2 > MOST_RUNS:
            return MOST_RUNS + 1
        return max(self.runs + 1, math.ceil(self.runs * (half / room) ** 2))

    def sentence(self) -> str:
        """``posix-shm/spin round trip at 64 B is 7.31x lower than pipe [6.90x, 7.80x]``."""
        noun, better, worse = _PHRASES[self.metric]
        where = f"{self.subject} {noun} at {size_text(self.size)}"
        if self.outcome == "no significant difference":
            assert self.ci is not None
            return (
                f"{where}: no significant difference from {self.baseline} (speed-up {times(self.speedup)}x, "
                f"{self.level_text} CI [{times(self.ci[0])}x, {times(self.ci[1])}x])"
            )
        factor, bounds = self.speedup, self.ci
        phrase = better
        if self.speedup < 1:
            factor, phrase = 1 / self.speedup, worse
            bounds = None if self.ci is None else (1 / self.ci[1], 1 / self.ci[0])
        text = f"{where} {phrase.format(f=times(factor))} {self.baseline}"
        if bounds is None:
            return f"{text} (one run: no confidence interval)"
        level = f" ({self.level:.0%})" if self.level is not None else ""
        return f"{text} [{times(bounds[0])}x, {times(bounds[1])}x]{level}"

    @property
    def level_text(self) -> str:
        return f"{self.level:.0%}" if self.level is not None else "95%"


def compare(run: Run, subject: str, baseline: str, metric: str, size: int) -> Speedup | None:
    """The speed-up of ``subject`` over ``baseline``, or None unless both cells were measured."""
    mine, theirs = run.values(subject, metric, size), run.values(baseline, metric, size)
    if mine is None or theirs is None:
        return None
    comparison = comparison_of(subject, baseline, metric, size, mine, theirs)
    workload = METRICS[metric][0]
    flagged = [
        cell.get("unstable_reason") or "flagged unstable"
        for label in (subject, baseline)
        if (cell := run.cell(label, workload, size)) and cell.get("unstable")
    ]
    return replace(comparison, unstable="; ".join(dict.fromkeys(flagged)) or None)


def comparison_of(
    subject: str, baseline: str, metric: str, size: int, mine: list[float], theirs: list[float]
) -> Speedup:
    """A ``Speedup`` from two sets of per-run figures (of one run's cells, or of two runs' cells)."""
    faster, slower = (theirs, mine) if metric in LOWER_IS_BETTER else (mine, theirs)
    interval = stats.ratio_interval(faster, slower)
    runs = min(len(mine), len(theirs))
    if interval is None:
        speedup, _ = stats.ratio_ci(faster, slower)
        return Speedup(subject, baseline, metric, size, speedup, None, None, runs)
    bounds = (interval.low, interval.high)
    return Speedup(subject, baseline, metric, size, interval.point, bounds, interval.level, runs)
