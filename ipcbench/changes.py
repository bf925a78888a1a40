"""Change points in one cell's series of result files: where its level moved, by how much, how surely.

A step between two neighbouring files is the wrong test for a long, noisy series: two unlucky neighbours
make a false step, and a slow drift never makes one. Like the tools that watch performance over months
(MongoDB's E-Divisive means, Apache Otava), the whole series is segmented at once, and then every
boundary must prove itself against the segments on either side of it.

1. **Candidates**: PELT with a linear kernel (a shift of the mean) over the log of the headline figures,
   from ``ruptures`` (``KernelCPD``'s compiled core, loaded alone: ``linear_pelt``). The figures
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
3. **The bridge approximation first.** The statistic is, in the limit, the largest standardised
   Brownian bridge over the splits, whose tail has a closed bound (Lausen, Sauerbrei & Schumacher 1994,
   an improved Bonferroni bound over neighbouring splits; ``rank_cusum.bridge_p``). Checked by
   simulation against the statistic's permutation distribution (``bench/bridge_coverage.py``: 20 to
   1,000 values, with and without ties, ``min_size`` 2 to 10, alpha 0.001 to 0.05) it is conservative
   everywhere (it never states a smaller p than the permutations give), and at alpha at most ~5x too
   large from 40 values on (8.6x at 20). So a stretch of ``ASYMPTOTIC_FROM`` values or more takes its
   p-value from it when that decides alone: below alpha (significant, and the stated p holds), or above
   ``SURE_ABOVE`` alphas (not significant); only in between, and only for a boundary whose change of
   level is large enough to matter, are the values shuffled.

Files whose cell the runner flagged unstable (its runs disagree) are left out of the series here, so
they can never make a change on their own; they stay in the history, marked.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import itertools
import json
import math
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ipcbench import __version__, rank_cusum
from ipcbench.rank_cusum import PERMUTATIONS, bridge_p, permutation_p

if TYPE_CHECKING:
    from ipcbench.cache import Memo

PENALTY = 3.0  # cost of one boundary, in units of log(n) times the squared noise scale
CLIP = 4.0  # figures further than this many noise scales from the median count as this far
NOISE_FLOOR = 1e-4  # smallest noise scale in log units (0.01%): a perfectly flat series still has one
EXACT_LIMIT = 10**12  # exact U distribution up to this many arrangements (exact in float64 counts)


ASYMPTOTIC_FROM = 40  # fewest values for the bridge approximation (shuffles of fewer are cheap anyway)
# An approximate p above this many alphas is not significant: at the critical value of the permutation
# test the approximation was at most 5 alphas from 40 values on (alpha 0.001 to 0.05; 8.5 at 20 values).
SURE_ABOVE = 10
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
    figures = np.asarray(values, dtype=float)
    if figures.shape != (len(usable),):
        raise ValueError(f"{len(values)} figures and {len(usable)} stable marks")
    positions = np.flatnonzero(np.asarray(usable, dtype=bool) & (figures > 0))
    logs = np.log(figures[positions])
    if len(logs) < 2 * settings.min_size:
        return []
    bounds, p_values = _prune(logs, _candidates(logs, settings.min_size), settings)
    edges = [0, *bounds, len(logs)]
    changes = []
    for before_start, start, end, p_value in zip(edges, edges[1:], edges[2:], p_values, strict=False):
        before, after = logs[before_start:start], logs[start:end]
        shift, interval = shift_interval(before, after)
        ci = None if interval is None else (math.exp(interval[0]), math.exp(interval[1]))
        changes.append(Change(int(positions[start]), math.exp(shift), ci, p_value, len(before), len(after)))
    return changes


def detect_many(
    series: list[tuple[list[float], list[bool]]],
    settings: Settings,
    workers: Workers | None = None,
    memo: Memo | None = None,
) -> list[list[Change]]:
    """``detect`` over many series (values, usable), on every core when there are enough points to pay
    for the processes (a thousand files of a default run are ~300 series of a thousand points), or on
    ``workers`` started earlier; series whose changes the ``memo`` kept are not worked out again."""
    recalled = Recalled(series, settings, memo)
    return recalled.completed(_detect_all(recalled.missing, settings, workers))


class Recalled:
    """What the ``memo`` kept of the changes of these series (none without one): the ``missing`` series
    are to be found, and ``completed`` with them (the memo then keeps what this reader used)."""

    def __init__(
        self, series: list[tuple[list[float], list[bool]]], settings: Settings, memo: Memo | None
    ) -> None:
        self.memo = memo
        self.keys: list[str] = []
        self.found: dict[str, list[Change]] = {}
        self.at: list[int] = []  # the places of the missing series
        self.missing = series
        if memo is None:
            return
        self.keys = [memo_key(values, usable, settings) for values, usable in series]
        kept = memo.recall()
        self.found = {
            key: changes for key in set(self.keys) if (changes := _decoded(kept.get(key))) is not None
        }
        self.at = [index for index, key in enumerate(self.keys) if key not in self.found]
        self.missing = [series[i] for i in self.at]

    def completed(self, missing_changes: list[list[Change]]) -> list[list[Change]]:
        """Every series' changes, given those of the ``missing`` ones in their order."""
        if self.memo is None:
            return missing_changes
        for index, changes in zip(self.at, missing_changes, strict=True):
            self.found[self.keys[index]] = changes
        if self.at:
            self.memo.keep({key: _encoded(self.found[key]) for key in self.keys})
        return [self.found[key] for key in self.keys]


def memo_key(values: Sequence[float], usable: Sequence[bool], settings: Settings) -> str:
    """What the changes of a series depend on: its figures and stable marks, the settings, and the code
    that finds them (this module's and rank_cusum's text, ruptures' and numpy's versions)."""
    digest = hashlib.blake2b(_code_identity().encode(), digest_size=20)
    digest.update(repr(settings).encode())
    digest.update(np.asarray(values, dtype="<f8").tobytes())
    digest.update(np.asarray(usable, dtype=np.bool_).tobytes())
    return digest.hexdigest()


@functools.cache
def _code_identity() -> str:
    from importlib import metadata

    try:
        ruptures = metadata.version("ruptures")
        digest = hashlib.blake2b(digest_size=20)
        for module in (__file__, rank_cusum.__file__):  # the statistics are part of the answer
            digest.update(Path(module).read_bytes())
        source = digest.hexdigest()
    except (OSError, metadata.PackageNotFoundError):
        ruptures, source = "?", f"{__version__}/{os.getpid()}"  # unknown code: nothing kept is used
    return f"{source}/{ruptures}/{np.__version__}"


def _encoded(changes: list[Change]) -> str:
    return json.dumps(
        [[c.index, c.ratio, c.ci and list(c.ci), c.p_value, c.before, c.after] for c in changes]
    )


def _decoded(text: str | None) -> list[Change] | None:
    """Changes as ``_encoded`` wrote them (floats read back exactly); None when absent or damaged."""
    if text is None:
        return None
    try:
        return [
            Change(
                int(index),
                float(ratio),
                None if ci is None else (float(ci[0]), float(ci[1])),
                float(p),
                int(before),
                int(after),
            )
            for index, ratio, ci, p, before, after in json.loads(text)
        ]
    except (ValueError, TypeError, IndexError):
        return None


def worth_processes(series: list[tuple[list[float], list[bool]]]) -> bool:
    """Enough points over all series to pay for starting worker processes (and the cores for them)."""
    return sum(len(values) for values, _ in series) >= PARALLEL_FROM and _cores() >= 2 and len(series) >= 2


def detect_each(series: list[tuple[list[float], list[bool]]], settings: Settings) -> list[list[Change]]:
    """``detect`` over each series, here."""
    return [detect(values, usable, settings) for values, usable in series]


def _detect_all(
    series: list[tuple[list[float], list[bool]]], settings: Settings, workers: Workers | None
) -> list[list[Change]]:
    if not series:
        return []
    if workers is not None and workers.pool is not None:
        return _map(workers.pool, series, settings)
    if not worth_processes(series):
        return detect_each(series, settings)
    linear_pelt()  # loaded once here, not in every worker

    with _pool() as pool:
        return _map(pool, series, settings)


class Workers:
    """``detect_many``'s worker processes started before the series exist (``start``, and two cores or
    more), ready by the time the caller has read the files."""

    def __init__(self, start: bool) -> None:
        self.pool = _pool(initializer=_load_pelt) if start and _cores() >= 2 else None
        if self.pool is not None:
            self.pool.submit(int)  # forked workers all start with the first task

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def _workers() -> int:
    return min(_cores(), 4)


def _pool(initializer: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("fork")  # the workers need nothing but what is loaded here
    return ProcessPoolExecutor(max_workers=_workers(), mp_context=context, initializer=initializer)


def _load_pelt() -> None:
    linear_pelt()


def _map(
    pool: ProcessPoolExecutor, series: list[tuple[list[float], list[bool]]], settings: Settings
) -> list[list[Change]]:
    chunk = max(1, len(series) // (4 * _workers()))
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
        spread = math.sqrt(m * n * (m + n + 1) / 12)
        return max(math.floor(m * n / 2 - NormalDist().inv_cdf(1 - tail) * spread), 0)
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
    # Clipped at CLIP noise scales: a lone wild file (a 10x outlier on a shared machine) must not pull a
    # boundary to itself, while any real level further away still shows as a shift of CLIP scales.
    scaled = np.clip((logs - np.median(logs)) / noise_scale(logs), -CLIP, CLIP)
    penalty = PENALTY * math.log(len(logs))
    pelt = linear_pelt()
    if pelt is None:
        import ruptures

        algorithm = ruptures.KernelCPD(kernel="linear", min_size=min_size, jump=1).fit(scaled)
        bounds: list[int] = algorithm.predict(pen=penalty)
        return [int(bound) for bound in bounds[:-1]]  # the last "boundary" is the end of the series
    return _pelt_bounds(pelt, scaled, penalty, min_size)


def _pelt_bounds(
    pelt: Callable[[np.ndarray, float, int], Any], scaled: np.ndarray, penalty: float, min_size: int
) -> list[int]:
    """What ``KernelCPD.predict(pen=...)`` does with the linear kernel: the path back from the series' end."""
    previous = pelt(np.ascontiguousarray(scaled, dtype=np.double).reshape(-1, 1), penalty, max(min_size, 1))
    found, end = [], int(previous[len(scaled)])
    while end > 0:
        found.append(end)
        end = int(previous[end])
    return found[::-1]


_EKCPD = "ruptures.detection._detection.ekcpd"  # ruptures' compiled kernel change point detection


@functools.cache
def linear_pelt() -> Callable[[np.ndarray, float, int], Any] | None:
    """ruptures' compiled PELT for the linear kernel (the core of ``KernelCPD(kernel="linear")``), loaded
    on its own; None when it cannot be (another layout of the package: then ``KernelCPD`` is used).

    Importing the ``ruptures`` package loads every cost model it has, and with them ``scipy.stats``,
    ``scipy.spatial`` and ``scipy.signal``: ~2 s, most of it scipy rewriting docstrings, none of it used
    here, paid by every ``history`` and ``report`` over a series (and by every worker that imports it).
    The compiled module needs nothing but numpy."""
    spec = importlib.util.find_spec("ruptures")  # finds the package without importing it
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "detection" / "_detection"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if (folder / f"ekcpd{suffix}").is_file():
            path = str(folder / f"ekcpd{suffix}")
            loader = importlib.machinery.ExtensionFileLoader(_EKCPD, path)
            try:
                module = importlib.util.module_from_spec(
                    importlib.machinery.ModuleSpec(_EKCPD, loader, origin=path)
                )
                loader.exec_module(module)
                pelt = cast(Callable[[np.ndarray, float, int], Any], module.ekcpd_pelt_L2)
            except (ImportError, AttributeError, OSError):
                return None
            return pelt if _answers_as_expected(pelt) else None
    return None


def _answers_as_expected(pelt: Callable[[np.ndarray, float, int], Any]) -> bool:
    """Whether the private function still takes and returns what ruptures 1.1's does: a step known by
    construction must come back where it is (another version: ``KernelCPD``, the public API, is used)."""
    step = np.array([0.0] * 6 + [4.0] * 6 + [0.0] * 6)
    try:
        return _pelt_bounds(pelt, step, 1.0, 2) == [6, 12]
    except (TypeError, ValueError, IndexError):
        return False


def _prune(logs: np.ndarray, bounds: list[int], settings: Settings) -> tuple[list[int], list[float]]:
    """Drop the weakest failing boundary until every one left is significant and large enough; the
    boundaries left and their p-values."""
    smallest = math.log1p(settings.threshold)
    stretches: dict[tuple[int, int], _Stretch] = {}  # a stretch's p-value does not change while it stays
    shifts: dict[tuple[int, int, int], float] = {}
    while True:
        edges = [0, *bounds, len(logs)]
        p_values, failing = [], []
        for k in range(1, len(edges) - 1):
            start, bound, end = edges[k - 1 : k + 2]
            if (start, bound, end) not in shifts:
                before, after = logs[start:bound], logs[bound:end]
                shifts[start, bound, end] = abs(float(np.median((after[:, None] - before[None, :]).ravel())))
            shift = shifts[start, bound, end]
            if (start, end) not in stretches:
                stretches[start, end] = _Stretch(logs[start:end], settings.min_size, settings.alpha)
            # A change too small to count fails whatever its p: the approximate one orders it (no shuffles).
            p_value = stretches[start, end].p_value(exact=shift >= smallest)
            p_values.append(p_value)
            if p_value >= settings.alpha or shift < smallest:
                failing.append((p_value, -shift, k - 1))
        if not failing:
            return bounds, p_values
        del bounds[max(failing)[2]]


class _Stretch:
    """The test of "the level changes somewhere in these values": the bridge approximation, and the
    permutation test only when the approximation does not decide (see the module's docstring)."""

    def __init__(self, values: np.ndarray, min_size: int, alpha: float) -> None:
        self.values, self.min_size, self.alpha = values, min_size, alpha
        # Stated no smaller than the permutation test could state it: far smaller p-values are not
        # checked by simulation, and the decisions never need them.
        self.approximate = max(bridge_p(values, min_size), 1 / (1 + PERMUTATIONS))
        self.shuffled: float | None = None

    def p_value(self, exact: bool) -> float:
        """The approximate p-value where it decides, or where ``exact`` is not asked for; else the
        permutation test's, which stops shuffling once p can no longer fall below alpha."""
        clear = self.approximate < self.alpha or self.approximate >= SURE_ABOVE * self.alpha
        if (clear and len(self.values) >= ASYMPTOTIC_FROM) or not exact:
            return self.approximate if self.shuffled is None else self.shuffled
        if self.shuffled is None:
            enough = max(math.ceil(self.alpha * (1 + PERMUTATIONS)), 1)
            self.shuffled = permutation_p(self.values, self.min_size, enough=enough)
        return self.shuffled
