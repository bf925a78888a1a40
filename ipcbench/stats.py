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
from scipy import stats as scipy_stats

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}
# HdrHistogram range and precision: 1 ns to 1000 s, three significant figures.
HDR_LOWEST, HDR_HIGHEST, HDR_DIGITS = 1, 10**12, 3
# A cell whose runs disagree more than this (coefficient of variation of the per-run figure) is unstable.
UNSTABLE_CV = 0.15


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
    half = float(scipy_stats.t.ppf((1 + confidence) / 2, len(data) - 1) * data.std(ddof=1) / math.sqrt(len(data)))
    return [mean - half, mean + half]


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    data = np.asarray(values, dtype=float)
    if len(data) < 2 or data.mean() == 0:
        return None
    return float(data.std(ddof=1) / data.mean())


def instability(values: Sequence[float], during: dict[str, Any] | None = None) -> str | None:
    """Why a cell's runs cannot be trusted, or None (provisional rule)."""
    cv = coefficient_of_variation(values)
    if cv is not None and cv > UNSTABLE_CV:
        return f"runs disagree: cv {cv:.2f} > {UNSTABLE_CV}"
    return None


def ratio_ci(numerator: Sequence[float], denominator: Sequence[float], confidence: float = 0.95,
             resamples: int = 2000, seed: int = 0) -> tuple[float, list[float] | None]:
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
