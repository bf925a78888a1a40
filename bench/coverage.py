"""How often the intervals cover the truth, before and after issue 9: a simulation, not a timing.

Before: a ratio got a 95% percentile-bootstrap interval of the ratio of medians (2,000 resamples), a
figure a 95% Student-t interval of the mean of its runs. After: ``stats.ratio_interval`` (Hodges-Lehmann
with the exact Mann-Whitney interval) and ``stats.median_interval`` (order statistics), each stating its
level. Per-run figures are log-normal (sigma 0.3, "typical") or one run in ten slowed 3x ("preempted").

    python bench/coverage.py [trials]
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import stats as scipy_stats

from ipcbench import stats

TRUE_RATIO = 1.3


def draw(rng: np.random.Generator, spread: str, shape: tuple[int, int]) -> np.ndarray:
    if spread == "preempted":
        base = rng.lognormal(0.0, 0.1, shape)
        return np.asarray(np.where(rng.random(shape) < 0.1, base * 3, base))
    return rng.lognormal(0.0, 0.3, shape)


def bootstrap_ratio(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """The former ``stats.ratio_ci``: percentile bootstrap of median(a)/median(b), 2,000 resamples."""
    ratios = np.median(rng.choice(a, (2000, len(a))), axis=1) / np.median(
        rng.choice(b, (2000, len(b))), axis=1
    )
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


def t_interval(values: np.ndarray) -> tuple[float, float]:
    """The former ``stats.mean_ci``: Student-t 95% interval of the mean."""
    half = scipy_stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def row(runs: int, spread: str, trials: int) -> list[str]:
    rng = np.random.default_rng(runs * 10 + len(spread))
    base, new = draw(rng, spread, (trials, runs)), draw(rng, spread, (trials, runs)) * TRUE_RATIO
    before_ratio = np.mean(
        [
            lo <= TRUE_RATIO <= hi
            for lo, hi in (bootstrap_ratio(n, b, rng) for n, b in zip(new, base, strict=True))
        ]
    )
    after = [stats.ratio_interval(n, b) for n, b in zip(new, base, strict=True)]
    after_ratio = np.mean([i.low <= TRUE_RATIO <= i.high for i in after if i])
    population = draw(rng, spread, (400_000, 1))
    mean, median = float(population.mean()), float(np.median(population))
    before_figure = np.mean([lo <= mean <= hi for lo, hi in (t_interval(row) for row in base)])
    figures = [stats.median_interval(row) for row in base]
    after_figure = np.mean([i.low <= median <= i.high for i in figures if i])
    ratio_level, figure_level = after[0].level if after[0] else 0, figures[0].level if figures[0] else 0
    return [
        f"{runs}",
        spread,
        f"{before_ratio:.3f} (says 0.95)",
        f"{after_ratio:.3f} (says {ratio_level:.3f})",
        f"{before_figure:.3f} (says 0.95)",
        f"{after_figure:.3f} (says {figure_level:.3f})",
    ]


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(f"{trials} simulated cells per row")
    print("| runs | spread | ratio before | ratio after | figure before | figure after |")
    print("|--:|:--|--:|--:|--:|--:|")
    for runs in (3, 5, 10):
        for spread in ("typical", "preempted"):
            print("| " + " | ".join(row(runs, spread, trials)) + " |")


if __name__ == "__main__":
    main()
