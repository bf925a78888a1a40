"""The rank statistics of change points (``ipcbench.changes``): is there a shift of level somewhere in a
stretch of a series, and how surely.

The statistic is the largest standardised rank CUSUM over every split of the stretch (a Mann-Whitney z at
each split, ``largest_z``). Its p-value comes from the Brownian-bridge bound of Lausen, Sauerbrei and
Schumacher (``bridge_p``, conservative as checked by ``bench/bridge_coverage.py``) where that decides
alone, else from seeded shuffles of the ranks (``permutation_p``). Also the midranks ``compare`` uses.
"""

from __future__ import annotations

import functools
import math

import numpy as np

PERMUTATIONS = 999  # the smallest p-value the permutation test can give is 1/1000
BATCH = 100  # shuffles per batch
STOP_AFTER = 25  # as many shuffles as extreme as the data: p is near 0.1 or more, stop shuffling


def centred_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks minus their mean, tied values sharing the mean of their ranks (``scipy.stats.rankdata``'s
    average method, without importing ``scipy.stats``)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    group = np.cumsum(first) - 1
    starts = np.append(np.flatnonzero(first), len(values))
    ranks = np.empty(len(values))
    ranks[order] = (starts[group] + starts[group + 1] - 1) / 2  # 0-based mean rank of each tie group
    return ranks - (len(values) - 1) / 2


def largest_z(values: np.ndarray, min_size: int) -> float:
    """The largest standardised rank CUSUM over the splits leaving ``min_size`` values on each side: the
    Mann-Whitney z of the two sides at each split (its variance with ties), the largest in size."""
    n = len(values)
    ranks = centred_ranks(values)
    variance = float(np.mean(ranks**2))
    if n < 2 * min_size or variance <= 0:
        return 0.0
    splits = np.arange(min_size, n - min_size + 1)
    sums = np.cumsum(ranks)[min_size - 1 : n - min_size]
    return float(np.max(np.abs(sums) / np.sqrt(splits * (n - splits) / (n - 1) * variance)))


def bridge_p(values: np.ndarray, min_size: int) -> float:
    """Approximate p-value of ``largest_z``: the improved Bonferroni bound of Lausen, Sauerbrei and
    Schumacher (1994) for the largest of the standardised statistics at neighbouring splits k and k+1
    (correlation sqrt(k(n-k-1) / ((n-k)(k+1)))). Conservative (see the module's docstring)."""
    n = len(values)
    return 1.0 if n < 2 * min_size else bridge_tail(largest_z(values, min_size), n, min_size)


def bridge_tail(b: float, n: int, min_size: int) -> float:
    """The bound of ``bridge_p`` at a value ``b`` of the largest |z| over the splits of n values."""
    t_sum, t_cubes = _neighbour_sums(n, min_size)
    neighbours = (t_sum - (b * b / 4 - 1) * t_cubes / 6) * math.exp(-b * b / 2) / math.pi
    # Far out (b ~ 9) the series of the bound turns negative: the first split's tail alone is a floor.
    return min(math.erfc(b / math.sqrt(2)) + max(neighbours, 0.0), 1.0)


@functools.cache
def _neighbour_sums(n: int, min_size: int) -> tuple[float, float]:
    """Sums of t and t**3 over the pairs of neighbouring splits (k, k+1), t = sqrt(1 - their correlation
    squared) = sqrt(n / ((n-k)(k+1)))."""
    k = np.arange(min_size, n - min_size, dtype=float)
    t = np.sqrt(n / ((n - k) * (k + 1)))
    return float(np.sum(t)), float(np.sum(t**3))


def permutation_p(
    values: np.ndarray, min_size: int, permutations: int = PERMUTATIONS, enough: int = STOP_AFTER + 1
) -> float:
    """p-value of "the level changes somewhere in ``values``": the largest standardised rank CUSUM over
    every split leaving ``min_size`` values on each side, against the same in shuffled orders.

    Shuffles run in batches and stop early once ``enough`` shuffles were as extreme as the data (by
    default ``STOP_AFTER + 1``; pruning passes the count that already puts p above its alpha): most
    candidates are noise, and noise is cheap. A p-value below that is always from every shuffle.
    """
    n = len(values)
    if n < 2 * min_size:
        return 1.0
    ranks = centred_ranks(values).astype(np.float32)
    splits = np.arange(min_size, n - min_size + 1)
    scale = np.sqrt(splits * (n - splits) / n).astype(np.float32)

    def largest(orders: np.ndarray) -> np.ndarray:
        sums = np.cumsum(orders, axis=1)[:, min_size - 1 : n - min_size]
        np.abs(sums, out=sums)  # in place: the same figures as |sums| / scale, without two more arrays
        peaks: np.ndarray = np.max(np.divide(sums, scale, out=sums), axis=1)
        return peaks

    observed = float(largest(ranks[None, :])[0]) * (1 - 1e-5)  # ties in float32 sums count as extreme
    rng = np.random.default_rng(0)
    extreme = done = 0
    orders = np.empty((BATCH, n), dtype=np.float32)
    while done < permutations and extreme < enough:
        batch = min(BATCH, permutations - done)
        shuffled = orders[:batch]
        shuffled[:] = ranks
        rng.permuted(shuffled, axis=1, out=shuffled)  # in place: the same shuffles as of a copy
        extreme += int(np.sum(largest(shuffled) >= observed))
        done += batch
    return (1 + extreme) / (1 + done)
