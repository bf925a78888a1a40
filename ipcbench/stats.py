"""Statistics from raw samples: percentiles, intervals across independent runs, ratios, HDR histograms.

Latency tails are computed from every raw round-trip sample of every run of a cell, and only where there are
enough samples to support them (``TAIL_SAMPLES``). A cell's *figure* (its p50 round trip, its bytes/s, its
messages/s) is the median of its runs' figures: the runs are the independent units, because samples inside
one run share a process pair, a placement and a cache state. The table, the interval, ``compare`` and
``history`` all use that one figure.

Intervals are distribution-free and state the coverage they have (``Interval.level``), because with the
few runs of a profile the exact levels are coarse:

* a figure: the order-statistic interval of the median (binomial): with 3 runs [min, max] is all there is
  and covers 75%; with 5 runs 93.8%; with 10 runs [2nd, 9th] covers 97.9%.
* a ratio of two cells: the Hodges-Lehmann estimate on the log scale (the median of all run-by-run
  ratios) with its interval from the exact Mann-Whitney distribution: 3 against 3 runs reach at most 90%
  ([min/max, max/min]); 5 against 5, 96.8%; 10 against 10, 95.1%.

Both are bounded by observed positive values, so a rate or a time never gets an interval below zero, and
both cover their stated level whatever the distribution of the runs (for the ratio: when the two
cells differ by a factor, i.e. by a shift on the log scale). ``tests/test_coverage.py`` checks that by
simulation; ``bench/coverage.py`` prints the table against the former t and bootstrap intervals.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from ipcbench import workloads

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}
# A tail percentile is kept only with this many raw samples behind it: below 1,000 samples the "p99" is one
# of the ten largest values, below 10,000 the "p99.9" is the maximum in all but name.
TAIL_SAMPLES = {"p99": 1_000, "p999": 10_000}
CONFIDENCE = 0.95  # the level every interval aims for; ``Interval.level`` says what it reaches
# HdrHistogram range and precision: 1 ns to 1000 s, three significant figures.
HDR_LOWEST, HDR_HIGHEST, HDR_DIGITS = 1, 10**12, 3
# The unstable rule: a cell is flagged ``unstable`` (with ``unstable_reason``) when any of these holds.
#
# 1. Its runs disagree: the coefficient of variation of the per-run figure (p50 round trip for pingpong,
#    bytes/s for stream) exceeds its workload's ``unstable_cv`` (0.25 and 0.5). The cell's figures pool or
#    average the runs, so one run far off moves them, and a compare that sees such a cell would judge noise.
#    Calibration (2-core VM shared with other busy jobs, 13 quick runs of every mechanism, 3 runs per cell,
#    784 cells): the cv of pingpong p50s had median 0.07, p75 0.18, p90 0.60 (bimodal: tight, or blown by
#    a preemption); of stream throughput median 0.29, p75 0.52, p90 0.95: a 20 ms burst of messages is at
#    the mercy of one descheduling of either side. The former single bound of 0.15 flagged 27% of pingpong
#    and 75% of stream cells; these bounds flag the tail (22% and 27% on that busy machine).
# 2. The load changed between its runs: the share of time in which some task waited for a CPU (PSI, see
#    ``machine.LoadMeter``) differs by more than LOAD_CHANGE_PRESSURE between two runs (on the busy VM the
#    difference had p95 0.22): some runs competed for the CPUs and others did not.
# 3. The machine was busy: over the measured runs some task waited for a CPU more than BUSY_PRESSURE of the
#    time (more runnable tasks than CPUs almost throughout), or other programs kept more than BUSY_SHARE of
#    this run's CPUs busy (either suffices: over a short cell, three busy loops on two CPUs gave a pressure
#    of 0.90 in 1 of 6 tries while they held 1.3 CPUs). A spinning pair needs two CPUs to itself; a
#    blocking pair's wake-ups queue behind other work. On the busy VM 10% of cells crossed BUSY_PRESSURE;
#    three busy loops on two CPUs always do.
# Reasons 2 and 3 need no disagreement between runs: a cell measured throughout under contention can be
# consistently wrong. The mock transport's clocks are fake, so the load is no evidence against its figures.
LOAD_CHANGE_PRESSURE = 0.5
BUSY_PRESSURE = 0.9
BUSY_SHARE = 0.5


@dataclass(frozen=True)
class Interval:
    """A point estimate with its distribution-free interval and the coverage that interval has."""

    point: float
    low: float
    high: float
    level: float  # the exact coverage of [low, high] (0.75 for the median of 3 runs; 0.90 for 3:3 ratios)

    @property
    def bounds(self) -> list[float]:
        return [self.low, self.high]


def figure(values: Sequence[float]) -> float:
    """A cell's figure from its per-run figures: their median (the one centre used everywhere)."""
    return float(np.median(np.asarray(values, dtype=float)))


def latency_summary(samples: np.ndarray, run_p50s: Sequence[float]) -> dict[str, Any]:
    """The p50 figure (median of the runs' p50s) with its interval; p90 and the supported tails, max, mean
    and stdev from all samples; ``samples``: how many there are."""
    summary: dict[str, Any] = {"p50": figure(run_p50s)}
    for key, percentile in PERCENTILES.items():
        if key != "p50":
            supported = len(samples) >= TAIL_SAMPLES.get(key, 0)
            summary[key] = float(np.percentile(samples, percentile)) if supported else None
    interval = median_interval(run_p50s)
    summary.update(
        max=float(samples.max()),
        mean=float(samples.mean()),
        stdev=float(samples.std(ddof=1)) if len(samples) > 1 else 0.0,
        min=float(samples.min()),
        samples=len(samples),
        ci95_p50=interval.bounds if interval else None,
        ci_level=interval.level if interval else None,
    )
    return summary


def throughput_summary(bytes_per_s: Sequence[float], msgs_per_s: Sequence[float]) -> dict[str, Any]:
    """The throughput block: the median run's bytes/s and messages/s, each with its interval."""
    rate, msgs = median_interval(bytes_per_s), median_interval(msgs_per_s)
    return {
        "bytes_per_s": figure(bytes_per_s),
        "msgs_per_s": figure(msgs_per_s),
        "ci95_bytes_per_s": rate.bounds if rate else None,
        "ci95_msgs_per_s": msgs.bounds if msgs else None,
        "ci_level": rate.level if rate else None,
    }


def tail_supported(cell: dict[str, Any], key: str) -> bool:
    """Whether a cell's ``latency_ns[key]`` has enough raw samples behind it (``TAIL_SAMPLES``). Files
    written before the count was stored are counted from their histogram."""
    latency = cell.get("latency_ns") or {}
    if latency.get(key) is None:
        return False
    count = latency.get("samples")
    if count is None and cell.get("histogram"):
        count = decode_histogram(cell["histogram"]).get_total_count()
    return count is None or count >= TAIL_SAMPLES.get(key, 0)


@functools.lru_cache(maxsize=1024)
def _order_index(counts: tuple[int, ...], confidence: float) -> tuple[int, float]:
    """From the exact null distribution (``counts[u]`` outcomes of statistic value u), the 1-based order k
    of the interval [D(k), D(N+1-k)] and its coverage: the largest k whose two tails each hold at most
    (1 - confidence) / 2, or k = 1 (the widest interval) when even that is more."""
    total = sum(counts)
    tail, k = 0, 1
    for u, count in enumerate(counts):
        if (tail + count) / total > (1 - confidence) / 2:
            k = max(u, 1)
            break
        tail += count
    return k, 1 - 2 * sum(counts[:k]) / total


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval | None:
    """The median of ``values`` with its order-statistic interval (binomial, exact); None for < 2 values."""
    data = np.sort(np.asarray(values, dtype=float))
    n = len(data)
    if n < 2:
        return None
    k, level = _order_index(_binomial_counts(n), confidence)
    middle = float(data[n // 2]) if n % 2 else float((data[n // 2 - 1] + data[n // 2]) / 2)
    return Interval(middle, float(data[k - 1]), float(data[n - k]), level)


@functools.lru_cache(maxsize=256)
def _binomial_counts(n: int) -> tuple[int, ...]:
    """How many of the 2**n sign patterns put each number of values below the median (0 ... n)."""
    return tuple(math.comb(n, i) for i in range(n + 1))


@functools.lru_cache(maxsize=256)
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many of the C(m+n, m) arrangements give each value of the Mann-Whitney U (0 ... m*n)."""
    if m == 0 or n == 0:
        return (1,)
    # The largest of all m + n values is either one of the m (it beats the n others) or one of the n.
    with_top_in_m = (0,) * n + _u_counts(m - 1, n)
    rest = _u_counts(m, n - 1)
    size = m * n + 1
    padded = [with_top_in_m[u] if u < len(with_top_in_m) else 0 for u in range(size)]
    return tuple(padded[u] + (rest[u] if u < len(rest) else 0) for u in range(size))


def ratio_interval(
    numerator: Sequence[float], denominator: Sequence[float], confidence: float = CONFIDENCE
) -> Interval | None:
    """numerator/denominator as the Hodges-Lehmann estimate on the log scale (the median of all run-by-run
    ratios), with its exact Mann-Whitney interval; None unless both sides have two runs or more, or with a
    value that is not positive."""
    a, b = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    if len(a) < 2 or len(b) < 2 or a.min() <= 0 or b.min() <= 0:
        return None
    logs = np.sort(np.subtract.outer(np.log(a), np.log(b)), axis=None)
    k, level = _order_index(_u_counts(len(a), len(b)), confidence)
    count = len(logs)
    middle = logs[count // 2] if count % 2 else (logs[count // 2 - 1] + logs[count // 2]) / 2
    return Interval(math.exp(middle), math.exp(logs[k - 1]), math.exp(logs[count - k]), level)


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    data = np.asarray(values, dtype=float)
    if len(data) < 2 or data.mean() == 0:
        return None
    return float(data.std(ddof=1) / data.mean())


def instability(
    values: Sequence[float],
    workload: str,
    during: dict[str, Any] | None = None,
    run_loads: Sequence[dict[str, Any] | None] = (),
    cpus: int = 1,
) -> str | None:
    """Why a cell's runs cannot be trusted (the rule above, every reason that applies), or None.

    ``values`` are the per-run figures, ``during`` the load over all measured runs and ``run_loads`` the
    load over each (both from ``machine.LoadMeter``), ``cpus`` the number of CPUs the run may use."""
    reasons = []
    cv = coefficient_of_variation(values)
    bound = workloads.get(workload).unstable_cv
    if cv is not None and cv > bound:
        reasons.append(f"runs disagree: cv {cv:.2f} > {bound}")
    pressures = [load["cpu_pressure"] for load in run_loads if load and load.get("cpu_pressure") is not None]
    if len(pressures) >= 2 and max(pressures) - min(pressures) > LOAD_CHANGE_PRESSURE:
        low, high = min(pressures), max(pressures)
        reasons.append(f"load changed between runs: tasks waited for a CPU {low:.0%} to {high:.0%} of a run")
    busy = _busy(during or {}, cpus)
    if busy:
        reasons.append(busy)
    return "; ".join(reasons) or None


def _busy(during: dict[str, Any], cpus: int) -> str | None:
    pressure, others = during.get("cpu_pressure"), during.get("others_cpus")
    if pressure is not None and pressure > BUSY_PRESSURE:
        return f"machine busy: tasks waited for a CPU {pressure:.0%} of the time"
    if others is not None and others > BUSY_SHARE * cpus:
        return f"machine busy: other programs kept {others:.1f} of {cpus} CPUs busy"
    return None


def ratio_ci(numerator: Sequence[float], denominator: Sequence[float]) -> tuple[float, list[float] | None]:
    """``ratio_interval`` as (point, [low, high] or None); the point alone when a side has a single run,
    nan when a side has none."""
    interval = ratio_interval(numerator, denominator)
    if interval is not None:
        return interval.point, interval.bounds
    if len(numerator) == 0 or len(denominator) == 0 or figure(denominator) <= 0:
        return math.nan, None
    return figure(numerator) / figure(denominator), None


def encode_histogram(samples: np.ndarray) -> str:
    """A lossless-to-3-digits HDR histogram of the samples, encoded (base64, compressed) for the file.

    ``record_value`` is pure Python, so samples are first reduced to (bucket, count) pairs with numpy,
    using HdrHistogram's own bucketing for three digits and a lowest value of 1: values below 2048 are
    exact, larger ones keep their top 11 bits.
    """
    from hdrh.histogram import HdrHistogram

    histogram = HdrHistogram(HDR_LOWEST, HDR_HIGHEST, HDR_DIGITS)
    values = np.clip(np.asarray(samples, dtype=np.int64), HDR_LOWEST, HDR_HIGHEST)
    bits = np.floor(np.log2(values.astype(np.float64))).astype(np.int64) + 1
    shift = np.maximum(bits - 11, 0)
    buckets = (values >> shift) << shift
    uniques, counts = np.unique(buckets, return_counts=True)
    for value, count in zip(uniques.tolist(), counts.tolist(), strict=True):
        histogram.record_value(value, count)
    encoded: bytes = histogram.encode()
    return encoded.decode("ascii")


def decode_histogram(encoded: str) -> Any:
    from hdrh.histogram import HdrHistogram

    return HdrHistogram.decode(encoded.encode("ascii"))


def histogram_percentiles(encoded: str, percentiles: Sequence[float]) -> list[float]:
    """Recompute percentiles from a stored histogram (within its three significant digits)."""
    histogram = decode_histogram(encoded)
    return [float(histogram.get_value_at_percentile(p)) for p in percentiles]


# Enumerate the permutation distribution exactly up to this many arrangements (3+3 runs: 20; 7+7: 3432).
MWU_EXACT_LIMIT = 5000


def mwu_greater(x: list[float], y: list[float]) -> float:
    """One-sided Mann-Whitney U p-value for "x tends to be larger than y".

    Few runs: the exact permutation distribution of the rank sum (midranks for ties), so 3 against 3 runs
    can never go below 1/20 = 0.05, and identical values give 1.0. More runs: scipy's normal approximation.
    """
    from scipy import stats as scipy_stats  # imported here: every command would pay its ~0.6 s start-up

    if len(x) == 0 or len(y) == 0:
        return 1.0
    if math.comb(len(x) + len(y), len(x)) > MWU_EXACT_LIMIT:
        return float(scipy_stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic").pvalue)
    from ipcbench.rank_cusum import centred_ranks  # midranks in numpy: scipy's rankdata was 70% of compare

    # Centred ranks shift every rank sum of len(x) ranks alike, so the comparison below is unchanged.
    ranks = centred_ranks(np.concatenate([x, y]).astype(float))
    observed = ranks[: len(x)].sum()
    picks = np.array(list(combinations(range(len(ranks)), len(x))))
    return float(np.mean(ranks[picks].sum(axis=1) >= observed - 1e-9))


def smallest_p(n_base: int, n_new: int) -> float:
    """The smallest one-sided p-value any result can reach with these numbers of runs."""
    return 1.0 / math.comb(n_base + n_new, n_new) if n_base and n_new else 1.0
