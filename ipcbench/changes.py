"""Change points in one cell's series of result files: where its level moved, by how much, how surely.

A step between two neighbouring files is the wrong test for a long, noisy series: two unlucky neighbours
make a false step, and a slow drift never makes one. Like the tools that watch performance over months
(MongoDB's E-Divisive means, Apache Otava), the whole series is segmented at once, and then every
boundary must prove itself against the segments on either side of it.

1. **Candidates**: PELT with a linear kernel (a shift of the mean) over the log of the headline figures,
   from ``ruptures`` (``KernelCPD``, compiled: a thousand points take about a millisecond). The figures
   are scaled by a robust estimate of the file-to-file noise (the MAD of first differences, which a level
   shift barely moves), and each boundary costs ``PENALTY * log(n)``, a BIC-like price; no segment is
   shorter than ``min_size`` files, so one or two unlucky files cannot make a level of their own, and
   figures are clipped at ``CLIP`` noise scales from the median, so a wild file cannot attract a boundary.
2. **Pruning**, as Otava does after E-Divisive: each boundary is tested on the stretch between its
   neighbouring boundaries with a permutation test, as E-Divisive does. The statistic is the largest
   standardised rank CUSUM over every split of the stretch (a Mann-Whitney U at each split), so the
   test knows that the boundary was put where the two sides differ most: a Mann-Whitney p-value at the
   chosen split alone would flatter it (measured: one false change per hundred files of an unchanged
   series). The weakest boundary that is not significant at ``alpha``, or whose change of level
   (Hodges-Lehmann ratio) is within ``threshold`` of 1, is removed, its neighbours' stretches merge, and
   the rest are tested again, until every boundary holds. Permutations use a fixed seed: the same files
   give the same answer. The detection and false-change rates are measured on resampled real files
   (``bench/history_series.py``).

Files whose cell the runner flagged unstable (its runs disagree) are left out of the series here, so
they can never make a change on their own; they stay in the history, marked.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

PENALTY = 3.0  # cost of one boundary, in units of log(n) times the squared noise scale
CLIP = 4.0  # figures further than this many noise scales from the median count as this far
NOISE_FLOOR = 1e-4  # smallest noise scale in log units (0.01%): a perfectly flat series still has one
EXACT_LIMIT = 10**12  # exact U distribution up to this many arrangements (exact in float64 counts)


PERMUTATIONS = 999  # the smallest p-value a boundary can reach is 1/1000
BATCH = 100  # shuffles per batch
STOP_AFTER = 25  # as many shuffles as extreme as the data: p is near 0.1 or more, stop shuffling
PARALLEL_FROM = 20_000  # points over all series before ``detect_many`` starts worker processes


@dataclass(frozen=True)
class Settings:
    threshold: float = 0.05  # smallest relative change of the level that counts
    alpha: float = 0.005  # significance level of the permutation test of each boundary
    min_size: int = 3  # fewest files in a segment: a change needs this many files to show it


@dataclass(frozen=True)
class Change:
    """A new level starting at ``index`` (a position in the series given to ``detect``)."""

    index: int
    ratio: float  # after / before: the median ratio of a figure after to one before (Hodges-Lehmann)
    ci: tuple[float, float] | None  # 95% interval of the ratio (Moses, the one that goes with the U test)
    p_value: float  # permutation test of a change anywhere between the neighbouring boundaries
    before: int  # files in the segment before
    after: int  # files in the segment after

    def worse(self, bigger_is_better: bool) -> bool:
        """A slowdown: latency went up, or throughput down."""
        return self.ratio < 1 if bigger_is_better else self.ratio > 1


def detect(values: Sequence[float], usable: Sequence[bool], settings: Settings) -> list[Change]:
    """The changes in a series of positive figures (oldest first); ``usable`` marks stable points."""
    positions = [i for i, (value, ok) in enumerate(zip(values, usable, strict=True)) if ok and value > 0]
    logs = np.log(np.asarray([values[i] for i in positions], dtype=float))
    if len(logs) < 2 * settings.min_size:
        return []
    bounds, p_values = _prune(logs, _candidates(logs, settings.min_size), settings)
    edges = [0, *bounds, len(logs)]
    changes = []
    for before_start, start, end, p_value in zip(edges, edges[1:], edges[2:], p_values, strict=False):
        before, after = logs[before_start:start], logs[start:end]
        shift, interval = shift_interval(before, after)
        ci = None if interval is None else (math.exp(interval[0]), math.exp(interval[1]))
        changes.append(Change(positions[start], math.exp(shift), ci, p_value, len(before), len(after)))
    return changes


def detect_many(series: list[tuple[list[float], list[bool]]], settings: Settings) -> list[list[Change]]:
    """``detect`` over many series (values, usable), on every core when there are enough points to pay
    for the processes: a thousand files of a default run are ~300 series of a thousand points."""
    cores = len(os.sched_getaffinity(0))
    if sum(len(values) for values, _ in series) < PARALLEL_FROM or cores < 2 or len(series) < 2:
        return [detect(values, usable, settings) for values, usable in series]
    import ruptures  # noqa: F401  (imported once here, not in every worker)

    context = multiprocessing.get_context("fork")  # the workers need nothing but what is loaded here
    workers = min(cores, 4)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        chunk = max(1, len(series) // (4 * workers))
        found = pool.map(detect, *zip(*series, strict=True), itertools.repeat(settings), chunksize=chunk)
        return list(found)


def shift_interval(
    before: np.ndarray, after: np.ndarray, confidence: float = 0.95
) -> tuple[float, tuple[float, float] | None]:
    """Hodges-Lehmann shift ``after - before`` (the median of all pairwise differences) and its
    distribution-free interval (Moses): the differences cut at the U statistic's critical value, exact
    for small samples and normal beyond. None when the samples are too small for that confidence."""
    differences = (after[:, None] - before[None, :]).ravel()
    shift = float(np.median(differences))
    cut = _critical_u(len(before), len(after), (1 - confidence) / 2)
    if cut < 1:
        return shift, None
    low, high = np.partition(differences, (cut - 1, len(differences) - cut))[[cut - 1, -cut]]
    return shift, (float(low), float(high))


def _critical_u(m: int, n: int, tail: float) -> int:
    """The largest k with P(U < k) <= tail under no change (U: Mann-Whitney statistic of m and n)."""
    if math.comb(m + n, min(m, n)) > EXACT_LIMIT:
        from scipy.stats import norm

        spread = math.sqrt(m * n * (m + n + 1) / 12)
        return max(math.floor(m * n / 2 - float(norm.ppf(1 - tail)) * spread), 0)
    cumulative = np.cumsum(_u_counts(min(m, n), max(m, n))) / math.comb(m + n, m)
    return int(np.searchsorted(cumulative, tail, side="right"))


def _u_counts(m: int, n: int) -> np.ndarray:
    """Arrangements of m against n values giving U = 0 .. mn: the coefficients of the Gaussian binomial
    [m+n choose m]_q = prod (1 - q^(n+i)) / (1 - q^i), i = 1..m."""
    counts = np.zeros(m * n + 1)
    counts[0] = 1.0
    for i in range(1, m + 1):
        counts[n + i :] -= counts[: -(n + i)].copy()
        for start in range(i):  # dividing by (1 - q^i) is a running sum with stride i
            counts[start::i] = np.cumsum(counts[start::i])
    return counts


def noise_scale(logs: np.ndarray) -> float:
    """Robust standard deviation of one file's figure (log units), from the first differences."""
    if len(logs) < 3:
        return NOISE_FLOOR
    mad = float(np.median(np.abs(np.diff(logs))))
    return max(1.4826 * mad / math.sqrt(2), NOISE_FLOOR)


def _candidates(logs: np.ndarray, min_size: int) -> list[int]:
    import ruptures

    # Clipped at CLIP noise scales: a lone wild file (a 10x outlier on a shared machine) must not pull a
    # boundary to itself, while any real level further away still shows as a shift of CLIP scales.
    scaled = np.clip((logs - np.median(logs)) / noise_scale(logs), -CLIP, CLIP)
    algorithm = ruptures.KernelCPD(kernel="linear", min_size=min_size, jump=1).fit(scaled)
    bounds: list[int] = algorithm.predict(pen=PENALTY * math.log(len(logs)))
    return [int(bound) for bound in bounds[:-1]]  # the last "boundary" is the end of the series


def _prune(logs: np.ndarray, bounds: list[int], settings: Settings) -> tuple[list[int], list[float]]:
    """Drop the weakest failing boundary until every one left is significant and large enough; the
    boundaries left and their p-values."""
    smallest = math.log1p(settings.threshold)
    # Shuffling stops once this many are as extreme as the data: p can no longer fall below alpha.
    enough = max(math.ceil(settings.alpha * (1 + PERMUTATIONS)), 1)
    tested: dict[tuple[int, int], float] = {}  # a stretch's p-value does not change while it stays
    while True:
        edges = [0, *bounds, len(logs)]
        p_values, failing = [], []
        for k in range(1, len(edges) - 1):
            stretch = (edges[k - 1], edges[k + 1])
            if stretch not in tested:
                tested[stretch] = permutation_p(
                    logs[stretch[0] : stretch[1]], settings.min_size, enough=enough
                )
            before, after = logs[edges[k - 1] : edges[k]], logs[edges[k] : edges[k + 1]]
            shift = abs(float(np.median((after[:, None] - before[None, :]).ravel())))
            p_values.append(tested[stretch])
            if tested[stretch] >= settings.alpha or shift < smallest:
                failing.append((tested[stretch], -shift, k - 1))
        if not failing:
            return bounds, p_values
        del bounds[max(failing)[2]]


def permutation_p(
    values: np.ndarray, min_size: int, permutations: int = PERMUTATIONS, enough: int = STOP_AFTER + 1
) -> float:
    """p-value of "the level changes somewhere in ``values``": the largest standardised rank CUSUM over
    every split leaving ``min_size`` values on each side, against the same in shuffled orders.

    Shuffles run in batches and stop early once ``enough`` shuffles were as extreme as the data (by
    default ``STOP_AFTER + 1``; pruning passes the count that already puts p above its alpha): most
    candidates are noise, and noise is cheap. A p-value below that is always from every shuffle.
    """
    from scipy.stats import rankdata

    n = len(values)
    if n < 2 * min_size:
        return 1.0
    ranks = (rankdata(values) - (n + 1) / 2).astype(np.float32)
    splits = np.arange(min_size, n - min_size + 1)
    scale = np.sqrt(splits * (n - splits) / n).astype(np.float32)

    def largest(orders: np.ndarray) -> np.ndarray:
        sums = np.cumsum(orders, axis=1)[:, min_size - 1 : n - min_size]
        peaks: np.ndarray = np.max(np.abs(sums) / scale, axis=1)
        return peaks

    observed = float(largest(ranks[None, :])[0]) * (1 - 1e-5)  # ties in float32 sums count as extreme
    rng = np.random.default_rng(0)
    extreme = done = 0
    while done < permutations and extreme < enough:
        batch = min(BATCH, permutations - done)
        extreme += int(np.sum(largest(rng.permuted(np.tile(ranks, (batch, 1)), axis=1)) >= observed))
        done += batch
    return (1 + extreme) / (1 + done)
