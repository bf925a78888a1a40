"""Is history's bridge approximation an honest p-value? A simulation, not a timing.

``ipcbench.changes`` tests a boundary with the largest standardised rank CUSUM over the splits of a
stretch, and takes the p-value from the bridge approximation (``rank_cusum.bridge_tail``) where it decides
alone, shuffling only in between. That is sound if the approximation never states a smaller p than the
statistic's permutation distribution gives (coverage: P(p <= a) <= a when nothing changes), and if, at
the permutation test's critical value, it stays below ``SURE_ABOVE`` alphas (so "not significant" from
the approximation is never a boundary the permutations would keep).

Per stretch length n, ``min_size`` and ties (none, or values from 5 or 20 levels, as medians of a few
runs of a quantised histogram give), the null distribution is drawn from random orders of one set of
values; each draw gets its approximate p. Printed per row: P(approx <= a) for a = alpha/5, alpha, 10
alpha (each must be <= a), and the approximate p at the permutation test's critical value (must be
< SURE_ABOVE * alpha; rows from ``ASYMPTOTIC_FROM`` values on are the ones that use it).

    python bench/bridge_coverage.py [draws]        # default 20,000 draws per row (~5 min)
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ipcbench import changes, rank_cusum


def null_draws(n: int, min_size: int, levels: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Largest |z| (``rank_cusum.largest_z``) of ``draws`` random orders of one set of n values."""
    values = rng.integers(0, levels, n).astype(float) if levels else rng.random(n)
    ranks = rank_cusum.centred_ranks(values)
    splits = np.arange(min_size, n - min_size + 1)
    scale = np.sqrt(splits * (n - splits) / (n - 1) * float(np.mean(ranks**2)))
    found = []
    for start in range(0, draws, 1000):
        orders = rng.permuted(np.tile(ranks, (min(1000, draws - start), 1)), axis=1)
        sums = np.cumsum(orders, axis=1)[:, min_size - 1 : n - min_size]
        found.append(np.max(np.abs(sums) / scale, axis=1))
    return np.sort(np.concatenate(found))


def main(draws: int) -> None:
    rng = np.random.default_rng(1)
    print(f"{draws} draws per row; coverage columns must be <= a; 'at crit' < {changes.SURE_ABOVE} alpha")
    print("alpha  min_size levels     n | P(<=a/5) P(<=a) P(<=10a) | approx at crit / alpha")
    worst = 0.0
    for min_size in (2, 3, 5, 10):
        for levels in (0, 5, 20):
            for n in (20, 40, 100, 300, 1000):
                if n < 4 * min_size:
                    continue
                largest = null_draws(n, min_size, levels, draws, rng)
                approx = np.array([rank_cusum.bridge_tail(float(b), n, min_size) for b in largest])
                for alpha in (0.001, 0.005, 0.05):
                    covered = [float(np.mean(approx <= a)) for a in (alpha / 5, alpha, 10 * alpha)]
                    critical = largest[math.ceil((1 - alpha) * draws) - 1]
                    at_crit = rank_cusum.bridge_tail(float(critical), n, min_size) / alpha
                    if n >= changes.ASYMPTOTIC_FROM:
                        worst = max(worst, at_crit)
                    print(
                        f"{alpha:<6} {min_size:>8} {levels:>6} {n:>5} | "
                        + " ".join(f"{c:8.4f}" for c in covered)
                        + f" | {at_crit:5.1f}",
                        flush=True,
                    )
    print(f"largest approx/alpha at the critical value from {changes.ASYMPTOTIC_FROM} values on: {worst:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
