"""A speed-up of one cell over another, with its 95% interval: the unit of evidence of the report.

A ``Speedup`` is the ratio of the medians of two sets of per-run figures (round trip: each run's p50;
stream: each run's bytes/s or messages/s), with a percentile-bootstrap interval from ``stats.ratio_ci``.
It is oriented so that above 1 always means "the subject is faster". An interval containing 1 is "no
significant difference", whatever the point estimate says; a single run gives no interval at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from ipcbench import stats
from ipcbench.report.runs import Run, size_text

LOWER_IS_BETTER = {"latency", "p99"}
_PHRASES = {  # metric -> (noun, better, worse)
    "latency": ("round trip", "is {f}x lower than", "is {f}x higher than"),
    "p99": ("p99 round trip", "is {f}x lower than", "is {f}x higher than"),
    "throughput": ("stream", "moves {f}x more bytes/s than", "moves {f}x fewer bytes/s than"),
    "msgs": ("stream", "carries {f}x more messages/s than", "carries {f}x fewer messages/s than"),
}


def times(value: float) -> str:
    """A ratio for reading: ``7.31``, ``12.3``, ``123``."""
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
    ci: tuple[float, float] | None  # 95% bootstrap interval of the speed-up; None with a single run

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

    def alike(self, tolerance: float) -> bool | None:
        """No significant difference, or an interval within ``tolerance`` of 1 (0.1: within 10%)."""
        if self.ci is None:
            return None
        deviation = self.deviation
        return self.outcome == "no significant difference" or (
            deviation is not None and deviation <= tolerance
        )

    def sentence(self) -> str:
        """``posix-shm/spin round trip at 64 B is 7.31x lower than pipe [6.90x, 7.80x]``."""
        noun, better, worse = _PHRASES[self.metric]
        where = f"{self.subject} {noun} at {size_text(self.size)}"
        if self.outcome == "no significant difference":
            assert self.ci is not None
            return (
                f"{where}: no significant difference from {self.baseline} (speed-up {times(self.speedup)}x, "
                f"95% CI [{times(self.ci[0])}x, {times(self.ci[1])}x])"
            )
        factor, bounds = self.speedup, self.ci
        phrase = better
        if self.speedup < 1:
            factor, phrase = 1 / self.speedup, worse
            bounds = None if self.ci is None else (1 / self.ci[1], 1 / self.ci[0])
        text = f"{where} {phrase.format(f=times(factor))} {self.baseline}"
        if bounds is None:
            return f"{text} (one run: no confidence interval)"
        return f"{text} [{times(bounds[0])}x, {times(bounds[1])}x]"


def compare(run: Run, subject: str, baseline: str, metric: str, size: int) -> Speedup | None:
    """The speed-up of ``subject`` over ``baseline``, or None unless both cells were measured."""
    mine, theirs = run.values(subject, metric, size), run.values(baseline, metric, size)
    if mine is None or theirs is None:
        return None
    return comparison_of(subject, baseline, metric, size, mine, theirs)


def comparison_of(
    subject: str, baseline: str, metric: str, size: int, mine: list[float], theirs: list[float]
) -> Speedup:
    """A ``Speedup`` from two sets of per-run figures (of one run's cells, or of two runs' cells)."""
    if metric in LOWER_IS_BETTER:
        speedup, ci = stats.ratio_ci(theirs, mine)
    else:
        speedup, ci = stats.ratio_ci(mine, theirs)
    return Speedup(subject, baseline, metric, size, speedup, None if ci is None else (ci[0], ci[1]))
