"""Statistics from raw samples: percentiles, intervals across independent runs, ratios, HDR histograms.

Latency percentiles are computed from every raw round-trip sample of every run of a cell. Intervals are
computed across *runs*, because samples inside one run are not independent (they share a process pair, a
placement and a cache state): a 95% Student-t interval of the per-run figure, which is honest, and wide
with few runs. Ratios between two cells get a bootstrap interval over their runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ipcbench import workloads

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}
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
#    time (more runnable tasks than CPUs almost throughout), or, without PSI, other programs kept more than
#    BUSY_SHARE of this run's CPUs busy. A spinning pair needs two CPUs to itself; a blocking pair's wake-ups
#    queue behind other work. On the busy VM 10% of cells crossed BUSY_PRESSURE; three busy loops on two
#    CPUs always do.
# Reasons 2 and 3 need no disagreement between runs: a cell measured throughout under contention can be
# consistently wrong. The mock transport's clocks are fake, so the load is no evidence against its figures.
LOAD_CHANGE_PRESSURE = 0.5
BUSY_PRESSURE = 0.9
BUSY_SHARE = 0.5


def latency_summary(samples: np.ndarray, run_p50s: Sequence[float]) -> dict[str, Any]:
    """p50 ... max, mean, stdev of all samples, and the 95% interval of the p50 across runs."""
    values = np.percentile(samples, list(PERCENTILES.values()))
    summary: dict[str, Any] = {key: float(v) for key, v in zip(PERCENTILES, values, strict=True)}
    summary.update(
        min=float(samples.min()),
        max=float(samples.max()),
        mean=float(samples.mean()),
        stdev=float(samples.std(ddof=1)) if len(samples) > 1 else 0.0,
        ci95_p50=mean_ci(run_p50s),
    )
    return summary


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> list[float] | None:
    """Student-t interval of the mean of independent per-run values; None with fewer than two runs."""
    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        return None
    mean = float(data.mean())
    from scipy import stats as scipy_stats  # imported here: scipy costs every command ~0.3 s at start-up

    t_quantile = float(scipy_stats.t.ppf((1 + confidence) / 2, len(data) - 1))
    half = t_quantile * float(data.std(ddof=1)) / math.sqrt(len(data))
    return [mean - half, mean + half]


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
    if pressure is not None:
        if pressure > BUSY_PRESSURE:
            return f"machine busy: tasks waited for a CPU {pressure:.0%} of the time"
    elif others is not None and others > BUSY_SHARE * cpus:
        return f"machine busy: other programs kept {others:.1f} of {cpus} CPUs busy"
    return None


def ratio_ci(
    numerator: Sequence[float],
    denominator: Sequence[float],
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, list[float] | None]:
    """Ratio of the medians of two sets of per-run values, with a percentile-bootstrap interval that
    resamples the runs of each side independently (fixed seed: the same files give the same answer)."""
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    point = float(np.median(a) / np.median(b))
    if len(a) < 2 or len(b) < 2:
        return point, None
    rng = np.random.default_rng(seed)
    a_medians = np.median(rng.choice(a, (resamples, len(a))), axis=1)
    b_medians = np.median(rng.choice(b, (resamples, len(b))), axis=1)
    ratios = a_medians / b_medians
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return point, [float(low), float(high)]


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
