"""ipcbench compare: two runs cell by cell, whether each changed, and an exit status that gates CI.

For every cell in both files (matched on transport, variant, workload, size and tier) and every metric
(p50 and p99 round trip from the per-run figures, throughput from the per-run bytes/s) it computes the ratio
NEW/BASE as the median of the run-by-run ratios with its exact Mann-Whitney interval
(``stats.ratio_interval``: 90% with 3 runs a side, 96.8% with 5), and a one-sided Mann-Whitney U test per
direction (exact permutation p-value for few runs, which stays honest with ties). A metric is *slower* or
*faster* when its test is significant at ``alpha``, its whole interval lies beyond ``threshold``, and it
stands out of the session.

Runs within one file are measured seconds apart, so they share the machine's state of the moment; two
files measured minutes apart differ by more than their runs suggest (A/A pairs of quick runs on a shared
2-core VM: cells move 12-18% in p50, more in stream throughput). That session effect has two parts, and
each is judged like with like:

* a **session shift**: how every cell of a workload moved together (the median move, with its interval).
  It is reported on its own and fails the gate only when its whole interval lies beyond
  ``shift_threshold``: a uniform drift is not 48 regressions, and a change that slowed everything down is
  still caught.
* a **session scatter**: how far cells move apart from that shift (1.4826 x MAD of the cells' point moves).
  A cell's own point move, less the shift, must exceed ``noise_z`` of those robust SDs: a point against a
  spread of points, not an interval bound against it, so run noise is not counted twice. With fewer than
  ``MIN_SCATTER_CELLS`` cells there is neither: the scatter falls back to ``FALLBACK_SCATTER``, measured.

When the two files were measured with different settings (placement, profile, message checking, ...) or
on different machines, the differences are named and the session is not used to explain them away: the
scatter falls back to ``FALLBACK_SCATTER`` and nothing is subtracted. A cell that turns unstable and is
clearly worse fails as "unstable and slower", unless NEW was measured on a busy machine (then it is
"unstable: rerun", as the gate line says). ``--confirm NEW2`` demands the same regression in a second
NEW run that agrees with the first; ``--confirm-base BASE2`` demands it against a second BASE run that
agrees with the first (the only way to catch a BASE measured too fast).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from ipcbench import idle, stats, store, workloads
from ipcbench.errors import InputError
from ipcbench.frames import Loaded, newest
from ipcbench.transports import keyed_variant, label
from ipcbench.units import format_size

CellKey = tuple[str, str | None, str, int, str]  # (transport, variant, workload, size, impl)


def cell_key(cell: dict[str, Any]) -> CellKey:
    """How a cell is matched across files: its mechanism, workload, size and tier."""
    return (
        cell["transport"],
        keyed_variant(cell),  # a tuned cell's variant carries its setting: a distinct cell
        cell["workload"],
        cell["size"],
        cell.get("impl", "python"),
    )


def key_name(key: CellKey) -> str:
    """``posix-shm/spin pingpong 4K``, with ``[native]`` after the mechanism for the native tier (a Python
    cell keeps the name it had before tiers existed, so series and exported names continue)."""
    transport, variant, workload, size, impl = key
    return f"{mechanism_text(transport, variant, impl)} {workload} {format_size(size)}"


def mechanism_text(transport: str, variant: str | None, impl: str) -> str:
    """``posix-shm/spin``, or ``posix-shm/spin [native]`` for the native tier."""
    return label(transport, variant) + ("" if impl == "python" else f" [{impl}]")


# Enumerate the permutation distribution exactly up to this many arrangements (3+3 runs: 20; 7+7: 3432).
EXACT_LIMIT = 5000
MIN_SCATTER_CELLS = 6
# The session scatter (robust SD of log moves) assumed when it cannot be measured: fewer cells than
# MIN_SCATTER_CELLS, or files whose settings differ. Quick-profile A/A pairs on the shared 2-core VM moved
# their pingpong p50s by a median 12-18% on a fairly quiet day (issue 4), a robust SD near 0.10, so a cell
# must move 35% beyond the shift; on a day when other jobs kept the 2 CPUs saturated (issue 9's 20 pairs)
# the scatter was 0.63, which no fallback can stand for: the gate then says "unstable: rerun" instead.
FALLBACK_SCATTER = 0.10
# Settings that change what a cell measures: files that differ in one are compared as such.
SETTINGS_COMPARED = ("placement", "profile", "repeats", "budget_s", "verify_every", "pin")


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
    shift_threshold: float = 0.25  # a session-wide shift fails the gate when its interval lies beyond this


@dataclass(frozen=True)
class Change:
    """One metric of one cell: NEW against BASE."""

    metric: str
    ratio: float  # NEW/BASE of the medians of the per-run figures
    ci: list[float] | None  # interval of the ratio (None with a single run on a side)
    p_slower: float  # one-sided p-value that NEW is slower (higher latency, lower throughput)
    p_faster: float
    slowdown: float  # ratio for latency, 1/ratio for throughput: above 1 means worse
    noise_floor: float | None  # slowdown factor beyond the session shift that its scatter can reach
    verdict: str  # "slower", "faster", "within noise", "same", "too few runs"
    level: float | None = None  # the coverage of ``ci`` (0.90 with 3 runs a side)


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
        return key_name(self.key)


@dataclass
class Comparison:
    base_path: Path
    new_path: Path
    base: dict[str, Any]
    new: dict[str, Any]
    settings: Settings
    cells: list[CellResult]
    noise: dict[tuple[str, str], Session]  # (workload, metric) -> how the whole session moved
    unconfirmed: list[str] = field(default_factory=list)  # regressions a --confirm run did not repeat
    ignored_shifts: list[tuple[str, str]] = field(default_factory=list)  # session shifts not confirmed
    differences: list[str] = field(default_factory=list)  # settings or machine that differ, named

    @property
    def regressions(self) -> list[CellResult]:
        return [cell for cell in self.cells if cell.regressed]

    @property
    def shifted(self) -> list[tuple[str, str]]:
        """Gated (workload, metric) pairs whose whole session moved beyond ``shift_threshold``."""
        return [
            key
            for key, session in self.noise.items()
            if session.regressed(self.settings)
            and gates(key[1], key[0], self.settings)
            and key not in self.ignored_shifts
        ]

    @property
    def failed(self) -> bool:
        return bool(self.regressions or self.shifted)


@dataclass(frozen=True)
class Session:
    """How every cell of one workload moved between the files, for one metric (slowdown factors)."""

    cells: int
    shift: float  # the median slowdown of the cells (1.0 when not estimated)
    comparable: bool  # same settings and machine: the shift is taken out of each cell's move
    shift_ci: list[float] | None  # its order-statistic interval (None: too few cells)
    shift_level: float | None
    scatter: float  # robust SD of the cells' log moves around the shift
    measured: bool  # False: too few cells or different settings, so FALLBACK_SCATTER is used
    floor: float  # the slowdown beyond the shift a cell must exceed: exp(noise_z * scatter)

    def regressed(self, settings: Settings) -> bool:
        return self.shift_ci is not None and self.shift_ci[0] > 1 + settings.shift_threshold


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
    base: list[float], new: list[float], metric: Metric, settings: Settings, session: Session | None
) -> Change:
    interval = stats.ratio_interval(new, base)
    ratio, ci = (interval.point, interval.bounds) if interval else stats.ratio_ci(new, base)
    slowdown = 1 / ratio if metric.bigger_is_better else ratio
    high, low = (base, new) if metric.bigger_is_better else (new, base)
    p_slower, p_faster = mwu_greater(high, low), mwu_greater(low, high)
    tolerance = settings.alpha * 1e-9  # p == alpha is significant; float rounding must not decide it
    # The whole interval must clear the threshold (run noise), and the point must stand out of the session
    # (its shift and scatter, measured on points): each noise is counted once.
    slow_low, slow_high = _slowdown_interval(ci, metric, slowdown)
    bar = 1 + settings.threshold
    shift, floor = 1.0, 1.0
    if session is not None and settings.noise_z > 0:
        shift, floor = (session.shift if session.comparable else 1.0), session.floor
    if smallest_p(len(base), len(new)) > settings.alpha + tolerance:
        verdict = "too few runs"
    elif p_slower <= settings.alpha + tolerance and slow_low > bar:
        verdict = "slower" if slowdown / shift > floor else "within noise"
    elif p_faster <= settings.alpha + tolerance and 1 / slow_high > bar:
        verdict = "faster" if shift / slowdown > floor else "within noise"
    else:
        verdict = "same"
    level = interval.level if interval else None
    return Change(metric.name, ratio, ci, p_slower, p_faster, slowdown, floor, verdict, level)


# ---- session noise ------------------------------------------------------------------------------------


def sessions(
    pairs: dict[CellKey, tuple[dict[str, Any], dict[str, Any]]], settings: Settings, comparable: bool = True
) -> dict[tuple[str, str], Session]:
    """How all cells of each workload moved between BASE and NEW, per metric (``Session``).

    The shift is the median of the cells' point moves (log slowdowns) and the scatter their robust SD
    around it (1.4826 x MAD), both from the cells stable in both files when there are enough, so a change
    common to every cell neither hides itself in the scatter nor counts as a regression of each cell.
    ``comparable`` False (different settings or machines): the scatter falls back to ``FALLBACK_SCATTER``
    and the shift is reported but not taken out.
    """
    found: dict[tuple[str, str], Session] = {}
    for workload in workloads.WORKLOADS:
        for metric in _metrics_of(workload):
            marked = [
                (math.log(slowdown), bool(base.get("unstable") or new.get("unstable")))
                for (_, _, kind, _, _), (base, new) in pairs.items()
                if kind == workload and (slowdown := _point_move(base, new, metric)) is not None
            ]
            stable = [move for move, unstable in marked if not unstable]
            # Like with like: stable cells are judged against how the stable cells moved, when there are
            # enough of them; cells measured on a busy machine would blow the floor up for all.
            moves = stable if len(stable) >= MIN_SCATTER_CELLS else [move for move, _ in marked]
            if moves:
                found[(workload, metric.name)] = _session(moves, settings, comparable)
    return found


def _point_move(base: dict[str, Any], new: dict[str, Any], metric: Metric) -> float | None:
    """The cell's point slowdown NEW against BASE (the same estimate ``measure_change`` gives)."""
    base_runs, new_runs = _runs(base, metric), _runs(new, metric)
    if not base_runs or not new_runs:
        return None
    ratio, _ = stats.ratio_ci(new_runs, base_runs)
    if not ratio > 0:
        return None
    return 1 / ratio if metric.bigger_is_better else ratio


def _session(moves: list[float], settings: Settings, comparable: bool) -> Session:
    enough = len(moves) >= MIN_SCATTER_CELLS
    interval = stats.median_interval(moves) if enough else None
    centre = float(np.median(moves)) if enough else 0.0
    shift_ci = [math.exp(interval.low), math.exp(interval.high)] if interval else None
    level = interval.level if interval else None
    measured = enough and comparable
    array = np.asarray(moves)
    scatter = 1.4826 * float(np.median(np.abs(array - centre))) if measured else FALLBACK_SCATTER
    floor = math.exp(settings.noise_z * scatter)
    return Session(len(moves), math.exp(centre), comparable, shift_ci, level, scatter, measured, floor)


def _metrics_of(workload: str) -> list[Metric]:
    return [METRICS[name] for name in workloads.get(workload).metrics]


# ---- the comparison -----------------------------------------------------------------------------------


def cells_by_key(document: dict[str, Any], where: Path) -> dict[CellKey, dict[str, Any]]:
    found: dict[CellKey, dict[str, Any]] = {}
    for cell in document["cells"]:
        if store.is_demonstration(cell):  # counts of a race, not a speed: nothing to gate on
            continue
        key = cell_key(cell)
        if key in found:
            raise InputError(f"{where}: cell {key_name(key)} appears twice")
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
    differences = setting_differences(base_doc, new_doc)
    found = sessions(pairs, settings, comparable=not differences)
    results = [
        _cell_result(key, base_cells.get(key), new_cells.get(key), settings, found)
        for key in _ordered(base_cells, new_cells)
    ]
    return Comparison(
        base_path, new_path, base_doc, new_doc, settings, results, found, differences=differences
    )


def setting_differences(base: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``placement cross -> same``: what differs between the files besides the code, named."""
    found = []
    for key in SETTINGS_COMPARED:
        before, after = base["config"].get(key), new["config"].get(key)
        if before != after:
            found.append(f"{key} {before} -> {after}")
    if idle.policy_of(base) != idle.policy_of(new):
        found.append(f"cpu_idle {idle.policy_of(base)} -> {idle.policy_of(new)}")
    machine = ("cpu_model", "cores", "kernel", "virtualization")
    if any(base["machine"].get(key) != new["machine"].get(key) for key in machine):
        found.append(f"machine {base['machine'].get('name')} -> {new['machine'].get('name')}")
    return found


def _ordered(base: dict[CellKey, Any], new: dict[CellKey, Any]) -> list[CellKey]:
    keys = list(base) + [key for key in new if key not in base]
    return sorted(keys, key=lambda k: (k[3], k[2], k[0], k[1] or "", k[4]))


def _cell_result(
    key: CellKey,
    base: dict[str, Any] | None,
    new: dict[str, Any] | None,
    settings: Settings,
    found: dict[tuple[str, str], Session],
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
        if metric.name == "p99" and not _tail_supported(base, new):
            continue  # a run's "p99" of a few dozen samples is its maximum
        session = found.get((key[2], metric.name))
        changes[metric.name] = measure_change(base_runs, new_runs, metric, settings, session)
    return _judge(CellResult(key, base, new, changes), settings)


def _tail_supported(base: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether every run of both cells has the samples a p99 needs (files without counts: trusted)."""
    runs = (base.get("runs") or []) + (new.get("runs") or [])
    return all(int(run.get("messages") or 0) >= stats.TAIL_SAMPLES["p99"] for run in runs)


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
    if unstable and slower and not _machine_busy(cell.new):
        # Erratic and clearly worse: a change that makes a mechanism unstable fails. A NEW measured while
        # other programs held the CPUs is evidence against the measurement, not the code: rerun instead.
        why = [side.get("unstable_reason") for side in (cell.base, cell.new) if side and side.get("unstable")]
        parts = [describe(max(slower, key=_size))] + [
            f"({reason})" for reason in dict.fromkeys(why) if reason
        ]
        return replace(cell, verdict="unstable and slower", regressed=True, detail=" ".join(parts))
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


def _machine_busy(cell: dict[str, Any] | None) -> bool:
    """Whether NEW's cell is unstable because of the machine (busy, or its load changed between runs)."""
    reason = str((cell or {}).get("unstable_reason") or "")
    return "machine busy" in reason or "load changed" in reason


def _size(change: Change) -> float:
    return abs(math.log(change.slowdown)) if change.slowdown > 0 else 0.0


def describe(change: Change) -> str:
    """``p50 +20.0%`` or ``throughput -16.7%``: the metric's own change, NEW against BASE."""
    return f"{change.metric} {change.ratio - 1:+.1%}"


def confirm(
    comparison: Comparison,
    confirmations: list[tuple[Comparison, Comparison]],
    base_confirmations: list[tuple[Comparison, Comparison]] | None = None,
) -> Comparison:
    """Keep only what every confirmation repeats, and list the rest as unconfirmed.

    ``confirmations``: (BASE against NEW2, NEW against NEW2) for each second NEW run: the regression must
    be found against BASE again *and* NEW2 must agree with NEW. ``base_confirmations``: (BASE2 against NEW,
    BASE against BASE2) for each second BASE run: the regression must be found against BASE2 too, and
    BASE2 must agree with BASE, or the first BASE was not reproduced (measured too fast, say).
    """
    checks = [*confirmations, *(base_confirmations or [])]
    cells: list[CellResult] = []
    unconfirmed: list[str] = []
    for cell in comparison.cells:
        if cell.regressed and not all(_repeated(cell.key, again, agreement) for again, agreement in checks):
            unconfirmed.append(cell.name)
            cell = replace(cell, regressed=False, verdict=f"{cell.verdict} (not confirmed)")
        cells.append(cell)
    ignored = [
        key
        for key in comparison.shifted
        if not all(key in again.shifted and key not in agreement.shifted for again, agreement in checks)
    ]
    unconfirmed += [f"session shift of {workload} {metric}" for workload, metric in ignored]
    return replace(comparison, cells=cells, unconfirmed=unconfirmed, ignored_shifts=ignored)


def _repeated(key: CellKey, again: Comparison, agreement: Comparison) -> bool:
    """Regressed in ``again``, and no significant change between the two runs of the same side."""
    regressed = any(other.key == key and other.regressed for other in again.cells)
    agree = all(
        other.verdict not in ("slower", "faster", "unstable and slower")
        for other in agreement.cells
        if other.key == key
    )
    return regressed and agree


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
        help="a second NEW run: a regression counts only if it is found again there and NEW2 agrees with NEW",
    )
    parser.add_argument(
        "--confirm-base",
        type=Path,
        action="append",
        default=[],
        metavar="BASE2",
        help="a second BASE run: a regression counts only if it is found against it too and BASE2 agrees "
        "with BASE (catches a BASE measured too fast)",
    )
    parser.add_argument(
        "--shift-threshold",
        default="25%",
        help="a session-wide shift fails the gate when its whole interval lies beyond this (default 25%%)",
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
    threshold, shift = (
        parse_fraction(args.threshold, "--threshold"),
        parse_fraction(args.shift_threshold, "--shift-threshold"),
    )
    return Settings(threshold, alpha, metrics, args.noise_z, shift)


def run(
    base: Path,
    new: Path,
    settings: Settings,
    confirm_with: list[Path] | None = None,
    confirm_base: list[Path] | None = None,
) -> Comparison:
    """Load, compare and confirm: everything ``ipcbench compare`` does before it prints."""
    base_loaded, new_loaded = newest(base), newest(new)
    # Read the confirming runs now, not only when a regression needs them: a typo must fail today.
    news = [newest(path) for path in confirm_with or []]
    bases = [newest(path) for path in confirm_base or []]
    comparison = compare(base_loaded, new_loaded, settings)
    if (news or bases) and comparison.failed:
        comparison = confirm(
            comparison,
            [(compare(base_loaded, n, settings), compare(new_loaded, n, settings)) for n in news],
            [(compare(b, new_loaded, settings), compare(base_loaded, b, settings)) for b in bases],
        )
    return comparison
