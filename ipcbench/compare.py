"""ipcbench compare: two runs cell by cell, whether each changed, and an exit status that gates CI.

For every cell in both files (matched on transport, variant, workload and size) and every metric (p50 and
p99 round trip from the per-run figures, throughput from the per-run bytes/s) it computes the ratio
NEW/BASE of the per-run medians with a bootstrap 95% interval (``stats.ratio_ci``), and a one-sided
Mann-Whitney U test per direction (exact permutation p-value for few runs, which stays honest with ties).
A metric is *slower* or *faster* when its test is significant at ``alpha`` **and** it moved more than
``threshold``.

Runs within one file are measured seconds apart, so they share the machine's state of the moment; two
files measured minutes apart differ by far more than their runs suggest (an A/A pair of quick runs on a
shared 2-core VM: median change 12% in p50, 50% in stream throughput). So a cell fails the gate only if
its change is also beyond the **session noise floor**: ``noise_z`` robust standard deviations of how all
cells of the same workload moved in this comparison (measured: with z = 3 no A/A pair of quick runs fails
the gate; a per-cell floor from several BASE sessions fired more often, its spread estimated from too few
sessions). The bar is cleared by the whole 95% interval of the change, not by its point estimate. Unstable
cells never fail the gate; ``--confirm`` demands the same regression in a second NEW run.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from ipcbench import stats, workloads
from ipcbench.errors import EXIT_OK, EXIT_REGRESSION, InputError
from ipcbench.frames import Loaded, newest
from ipcbench.transports import label
from ipcbench.units import format_size

CellKey = tuple[str, str | None, str, int]
# Enumerate the permutation distribution exactly up to this many arrangements (3+3 runs: 20; 7+7: 3432).
EXACT_LIMIT = 5000
MIN_SCATTER_CELLS = 6


@dataclass(frozen=True)
class Metric:
    name: str
    run_key: str  # the per-run figure in the result file
    bigger_is_better: bool
    title: str


METRICS = {
    "p50": Metric("p50", "p50_ns", False, "p50 RTT"),
    "p99": Metric("p99", "p99_ns", False, "p99 RTT"),
    "throughput": Metric("throughput", "bytes_per_s", True, "throughput"),
}


@dataclass(frozen=True)
class Settings:
    threshold: float = 0.05  # smallest relative change that counts
    alpha: float = 0.05  # one-sided significance level of each direction
    gate_metrics: tuple[str, ...] = ("p50", "throughput")  # p99 is too noisy at the quick profile
    noise_z: float = 3.0  # how many robust standard deviations of session noise a regression must exceed


@dataclass(frozen=True)
class Change:
    """One metric of one cell: NEW against BASE."""

    metric: str
    ratio: float  # NEW/BASE of the medians of the per-run figures
    ci: list[float] | None  # bootstrap 95% interval of the ratio (None with a single run on a side)
    p_slower: float  # one-sided p-value that NEW is slower (higher latency, lower throughput)
    p_faster: float
    slowdown: float  # ratio for latency, 1/ratio for throughput: above 1 means worse
    noise_floor: float | None  # slowdown factor that session noise alone can reach (None: unknown)
    verdict: str  # "slower", "faster", "within noise", "same", "too few runs"


@dataclass(frozen=True)
class CellResult:
    key: CellKey
    base: dict[str, Any] | None
    new: dict[str, Any] | None
    changes: dict[str, Change] = field(default_factory=dict)
    verdict: str = "same"
    regressed: bool = False  # counts against the gate
    detail: str = ""  # what the verdict is about: "p50 +20.0%", a skip reason, ...

    @property
    def name(self) -> str:
        transport, variant, workload, size = self.key
        return f"{label(transport, variant)} {workload} {format_size(size)}"


@dataclass
class Comparison:
    base_path: Path
    new_path: Path
    base: dict[str, Any]
    new: dict[str, Any]
    settings: Settings
    cells: list[CellResult]
    noise: dict[tuple[str, str], float | None]  # (workload, metric) -> session noise floor (None: unknown)
    unconfirmed: list[str] = field(default_factory=list)  # regressions a --confirm run did not repeat

    @property
    def regressions(self) -> list[CellResult]:
        return [cell for cell in self.cells if cell.regressed]


# ---- statistics ---------------------------------------------------------------------------------------


def mwu_greater(x: list[float], y: list[float]) -> float:
    """One-sided Mann-Whitney U p-value for "x tends to be larger than y".

    Few runs: the exact permutation distribution of the rank sum (midranks for ties), so 3 against 3 runs
    can never go below 1/20 = 0.05, and identical values give 1.0. More runs: scipy's normal approximation.
    """
    from scipy import stats as scipy_stats  # imported here: every command would pay its ~0.6 s start-up

    if len(x) == 0 or len(y) == 0:
        return 1.0
    if math.comb(len(x) + len(y), len(x)) > EXACT_LIMIT:
        return float(scipy_stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic").pvalue)
    ranks = scipy_stats.rankdata(np.concatenate([x, y]))
    observed = ranks[: len(x)].sum()
    picks = np.array(list(combinations(range(len(ranks)), len(x))))
    return float(np.mean(ranks[picks].sum(axis=1) >= observed - 1e-9))


def smallest_p(n_base: int, n_new: int) -> float:
    """The smallest one-sided p-value any result can reach with these numbers of runs."""
    return 1.0 / math.comb(n_base + n_new, n_new) if n_base and n_new else 1.0


def _runs(cell: dict[str, Any], metric: Metric) -> list[float]:
    runs = cell.get("runs") or []
    return [float(run[metric.run_key]) for run in runs if run.get(metric.run_key) is not None]


def _log_slowdown(values: list[float], metric: Metric) -> float:
    """log of the median figure, signed so that larger means slower."""
    value = math.log(max(float(np.median(values)), 1e-300))
    return -value if metric.bigger_is_better else value


def _slowdown_interval(ci: list[float] | None, metric: Metric, slowdown: float) -> tuple[float, float]:
    """The ratio's interval turned into a slowdown interval (larger = slower)."""
    if ci is None:
        return slowdown, slowdown
    low, high = ci
    if metric.bigger_is_better:
        return 1 / max(high, 1e-300), 1 / max(low, 1e-300)
    return low, high


def measure_change(
    base: list[float], new: list[float], metric: Metric, settings: Settings, noise_floor: float | None
) -> Change:
    ratio, ci = stats.ratio_ci(new, base)
    slowdown = 1 / ratio if metric.bigger_is_better else ratio
    high, low = (base, new) if metric.bigger_is_better else (new, base)
    p_slower, p_faster = mwu_greater(high, low), mwu_greater(low, high)
    tolerance = settings.alpha * 1e-9  # p == alpha is significant; float rounding must not decide it
    # The whole 95% interval must clear the bar, not only the point: with 3 runs a side a single odd run
    # moves the point far, and the interval is what says how far the runs allow the change to be.
    slow_low, slow_high = _slowdown_interval(ci, metric, slowdown)
    bar = max(1 + settings.threshold, noise_floor or 0.0)
    if smallest_p(len(base), len(new)) > settings.alpha + tolerance:
        verdict = "too few runs"
    elif p_slower <= settings.alpha + tolerance and slowdown > 1 + settings.threshold:
        verdict = "slower" if slow_low > bar else "within noise"
    elif p_faster <= settings.alpha + tolerance and slowdown < 1 / (1 + settings.threshold):
        verdict = "faster" if 1 / slow_high > bar else "within noise"
    else:
        verdict = "same"
    return Change(metric.name, ratio, ci, p_slower, p_faster, slowdown, noise_floor, verdict)


# ---- session noise ------------------------------------------------------------------------------------


def scatter_floors(
    pairs: dict[CellKey, tuple[dict[str, Any], dict[str, Any]]], settings: Settings
) -> dict[tuple[str, str], float | None]:
    """Noise floor per (workload, metric) from how all cells moved between BASE and NEW (None: too few
    cells to tell).

    The spread is measured around the median movement (1.4826 x MAD, a robust standard deviation), so a
    change common to every cell does not hide itself by widening the floor; a regression shared by about
    half the cells does widen it (the notes print the floor, so a reader can tell).
    """
    floors: dict[tuple[str, str], float | None] = {}
    for workload in workloads.WORKLOADS:
        for metric in _metrics_of(workload):
            moves = np.array(
                [
                    _log_slowdown(_runs(new, metric), metric) - _log_slowdown(_runs(base, metric), metric)
                    for (_, _, kind, _), (base, new) in pairs.items()
                    if kind == workload and _runs(base, metric) and _runs(new, metric)
                ]
            )
            if len(moves) == 0:
                continue
            spread = 1.4826 * float(np.median(np.abs(moves - np.median(moves))))
            enough = len(moves) >= MIN_SCATTER_CELLS
            floors[(workload, metric.name)] = math.exp(settings.noise_z * spread) if enough else None
    return floors


def _metrics_of(workload: str) -> list[Metric]:
    return [METRICS[name] for name in workloads.get(workload).metrics]


# ---- the comparison -----------------------------------------------------------------------------------


def cells_by_key(document: dict[str, Any], where: Path) -> dict[CellKey, dict[str, Any]]:
    found: dict[CellKey, dict[str, Any]] = {}
    for cell in document["cells"]:
        key = (cell["transport"], cell.get("variant"), cell["workload"], cell["size"])
        if key in found:
            raise InputError(f"{where}: cell {label(key[0], key[1])} {key[2]} {key[3]} appears twice")
        found[key] = cell
    return found


def compare(base: Loaded, new: Loaded, settings: Settings | None = None) -> Comparison:
    """Compare two loaded result files (``(path, document)`` pairs)."""
    settings = settings or Settings()
    (base_path, base_doc), (new_path, new_doc) = base, new
    base_cells, new_cells = cells_by_key(base_doc, base_path), cells_by_key(new_doc, new_path)
    common = [key for key in base_cells if key in new_cells]
    if not common:
        raise InputError(f"{base_path} and {new_path} have no cell in common: nothing to compare")
    pairs = {
        key: (base_cells[key], new_cells[key])
        for key in common
        if base_cells[key]["status"] == "ok" and new_cells[key]["status"] == "ok"
    }
    floors = scatter_floors(pairs, settings)
    results = [
        _cell_result(key, base_cells.get(key), new_cells.get(key), settings, floors)
        for key in _ordered(base_cells, new_cells)
    ]
    return Comparison(base_path, new_path, base_doc, new_doc, settings, results, floors)


def _ordered(base: dict[CellKey, Any], new: dict[CellKey, Any]) -> list[CellKey]:
    keys = list(base) + [key for key in new if key not in base]
    return sorted(keys, key=lambda k: (k[3], k[2], k[0], k[1] or ""))


def _cell_result(
    key: CellKey,
    base: dict[str, Any] | None,
    new: dict[str, Any] | None,
    settings: Settings,
    floors: dict[tuple[str, str], float | None],
) -> CellResult:
    if base is None or new is None:
        side = "BASE" if new is None else "NEW"
        return CellResult(key, base, new, verdict=f"only in {side}")
    if base["status"] != "ok" or new["status"] != "ok":
        return _not_measured(key, base, new)
    changes: dict[str, Change] = {}
    for metric in _metrics_of(key[2]):
        base_runs, new_runs = _runs(base, metric), _runs(new, metric)
        if not base_runs or not new_runs:
            continue
        floor = floors.get((key[2], metric.name)) if settings.noise_z > 0 else None
        changes[metric.name] = measure_change(base_runs, new_runs, metric, settings, floor)
    return _judge(CellResult(key, base, new, changes), settings)


def _not_measured(key: CellKey, base: dict[str, Any], new: dict[str, Any]) -> CellResult:
    if base["status"] == "ok" and new["status"] == "failed":
        # A cell that measured before and fails now is worse than any slowdown.
        return CellResult(key, base, new, verdict="failed in NEW", regressed=True, detail=_reason(new))
    if base["status"] == new["status"]:
        return CellResult(key, base, new, verdict=f"{new['status']} in both")
    sides = (("BASE", base), ("NEW", new))
    which = [f"{cell['status']} in {side}" for side, cell in sides if cell["status"] != "ok"]
    return CellResult(key, base, new, verdict=", ".join(which), detail=_reason(new) or _reason(base))


def _reason(cell: dict[str, Any]) -> str:
    return str(cell.get("reason") or "") if cell["status"] != "ok" else ""


def gates(metric: str, workload: str, settings: Settings) -> bool:
    """Whether ``metric`` can fail the gate for a cell of ``workload`` (chosen in ``settings`` and one of
    the workload's ``gate_metrics``: pingpong cells on latency, stream cells on throughput)."""
    return metric in settings.gate_metrics and metric in workloads.get(workload).gate_metrics


def gate_text(settings: Settings) -> str:
    """``pingpong p50, stream throughput``: what can fail the gate, per workload."""
    parts = [f"{w} {m}" for w in workloads.WORKLOADS for m in settings.gate_metrics if gates(m, w, settings)]
    return ", ".join(parts) or "nothing"


def _judge(cell: CellResult, settings: Settings) -> CellResult:
    gated = [change for name, change in cell.changes.items() if gates(name, cell.key[2], settings)]
    slower = [c for c in gated if c.verdict == "slower"]
    faster = [c for c in gated if c.verdict == "faster"]
    unstable = bool(cell.base and cell.base.get("unstable")) or bool(cell.new and cell.new.get("unstable"))
    if unstable:
        moved = slower or faster or [c for c in gated if c.verdict == "within noise"]
        why = [side.get("unstable_reason") for side in (cell.base, cell.new) if side and side.get("unstable")]
        parts = [describe(moved[0])] if moved else []
        parts += [f"({reason})" for reason in dict.fromkeys(why) if reason]
        return replace(cell, verdict="unstable: rerun", detail=" ".join(parts))
    if slower:
        return replace(cell, verdict="slower", regressed=True, detail=describe(max(slower, key=_size)))
    if faster:
        return replace(cell, verdict="faster", detail=describe(max(faster, key=_size)))
    if any(c.verdict == "within noise" for c in gated):
        noisy = max((c for c in gated if c.verdict == "within noise"), key=_size)
        return replace(cell, verdict="within session noise", detail=describe(noisy))
    if gated and all(c.verdict == "too few runs" for c in gated):
        return replace(cell, verdict="too few runs to tell")
    return replace(cell, verdict="no significant change")


def _size(change: Change) -> float:
    return abs(math.log(change.slowdown)) if change.slowdown > 0 else 0.0


def describe(change: Change) -> str:
    """``p50 +20.0%`` or ``throughput -16.7%``: the metric's own change, NEW against BASE."""
    return f"{change.metric} {change.ratio - 1:+.1%}"


def confirm(comparison: Comparison, confirmations: list[Comparison]) -> Comparison:
    """Keep only regressions that every confirmation run repeats; list the others as unconfirmed."""
    cells: list[CellResult] = []
    unconfirmed: list[str] = []
    for cell in comparison.cells:
        repeated = all(any(o.key == cell.key and o.regressed for o in other.cells) for other in confirmations)
        if cell.regressed and not repeated:
            unconfirmed.append(cell.name)
            cell = replace(cell, regressed=False, verdict=f"{cell.verdict} (not confirmed)")
        cells.append(cell)
    return replace(comparison, cells=cells, unconfirmed=unconfirmed)


# ---- command line -------------------------------------------------------------------------------------


def parse_fraction(text: str, what: str) -> float:
    """``"5%"`` or ``"0.05"`` -> 0.05; a bare number of 1 or more is refused as ambiguous."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a number: write 5% or 0.05") from None
    if not raw.endswith("%") and value >= 1:
        raise InputError(f"{what} {text!r} is ambiguous: write {raw}% or {value / 100:g}")
    if not 0 <= value < 1 or math.isnan(value):
        raise InputError(f"{what} {text!r} must be between 0% and 100%")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", type=Path, help="BASE result file, or a folder (its newest file)")
    parser.add_argument("new", type=Path, help="NEW result file, or a folder (its newest file)")
    parser.add_argument(
        "--threshold", default="5%", help="smallest change that counts: 5%% or 0.05 (default 5%%)"
    )
    parser.add_argument("--alpha", default="0.05", help="one-sided significance level (default 0.05)")
    parser.add_argument(
        "--gate-metrics",
        default="p50,throughput",
        help="metrics that can fail the gate: p50, p99, throughput (default p50,throughput)",
    )
    parser.add_argument(
        "--noise-z",
        type=float,
        default=Settings.noise_z,
        help="robust SDs of session noise a change must exceed to fail the gate (default 3; "
        "0 turns the floor off)",
    )
    parser.add_argument(
        "--confirm",
        type=Path,
        action="append",
        default=[],
        metavar="NEW2",
        help="a second NEW run: a regression counts only if it is found again there",
    )
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    parser.add_argument(
        "-o", "--output", type=Path, help="write the report to this file (the gate lines still print)"
    )
    parser.add_argument("--fail", action="store_true", help="exit 1 if any cell regressed (the CI gate)")


def settings_from(args: argparse.Namespace) -> Settings:
    metrics = tuple(m.strip() for m in args.gate_metrics.split(",") if m.strip())
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        named = ",".join(unknown) or "(none)"
        raise InputError(f"unknown --gate-metrics {named}: choose from {', '.join(METRICS)}")
    if not math.isfinite(args.noise_z) or args.noise_z < 0:
        raise InputError("--noise-z must be zero or positive")
    alpha = parse_fraction(args.alpha, "--alpha")
    if alpha <= 0:
        raise InputError("--alpha must be above 0")
    return Settings(parse_fraction(args.threshold, "--threshold"), alpha, metrics, args.noise_z)


def run(base: Path, new: Path, settings: Settings, confirm_with: list[Path] | None = None) -> Comparison:
    """Load, compare and confirm: everything ``ipcbench compare`` does before it prints."""
    base_loaded, new_loaded = newest(base), newest(new)
    comparison = compare(base_loaded, new_loaded, settings)
    if confirm_with and comparison.regressions:
        others = [compare(base_loaded, newest(path), settings) for path in confirm_with]
        comparison = confirm(comparison, others)
    return comparison


def command(args: argparse.Namespace) -> int:
    from ipcbench import compare_output

    comparison = run(args.base, args.new, settings_from(args), args.confirm)
    text = compare_output.render(comparison, args.format)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        compare_output.print_gate(comparison)
    else:
        compare_output.emit(text, args.format, comparison)
    return EXIT_REGRESSION if args.fail and comparison.regressions else EXIT_OK
