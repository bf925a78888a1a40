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

Files measured with different settings or on different machines are compared as such: the differences
are named, and the session explains nothing away (``FALLBACK_SCATTER``, no shift taken out). A cell that
turns unstable and clearly worse fails as "unstable and slower" (unless NEW's machine was busy: "unstable:
rerun"). Around this module: ``compare_run`` (reading, ``--confirm`` and ``--confirm-base``: a second run
must repeat the regression and agree with the first), ``compare_probe`` (cells that wait judged against a
moved wake-up probe), ``compare_noise`` (each cell's own floor from earlier files of the machine:
``--noise-from``), ``compare_output`` (printing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipcbench import idle, stats, store, workloads
from ipcbench.errors import InputError
from ipcbench.frames import Loaded
from ipcbench.transports import keyed_variant, label
from ipcbench.units import format_size

if TYPE_CHECKING:
    from ipcbench.compare_noise import BetweenFiles

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


BETWEEN = "within between-file noise"  # a move this cell's earlier files show it makes (``compare_noise``)
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
    between_floor: float | None = None  # this cell's own floor from earlier files (``compare_noise``)
    held: bool = False  # beyond the session floor, but held back by ``between_floor`` alone


@dataclass(frozen=True)
class CellResult:
    key: CellKey
    base: dict[str, Any] | None
    new: dict[str, Any] | None
    changes: dict[str, Change] = field(default_factory=dict)
    verdict: str = "same"
    regressed: bool = False  # counts against the gate
    detail: str = ""  # what the verdict is about: "p50 +20.0%", a skip reason, ...
    relative: dict[str, Change] = field(default_factory=dict)  # judged against a moved wake-up probe

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
    probes: dict[str, Any] = field(default_factory=dict)  # wait mode -> compare_probe.ProbeMove
    between: BetweenFiles | None = None  # the between-file noise series (``--noise-from``), if given
    between_unused: str | None = None  # why a given series was not used for this pair of files

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


def runs_of(cell: dict[str, Any], metric: Metric) -> list[float]:
    runs = cell.get("runs") or []
    return [float(run[metric.run_key]) for run in runs if run.get(metric.run_key) is not None]


def _slowdown_interval(ci: list[float] | None, metric: Metric, slowdown: float) -> tuple[float, float]:
    """The ratio's interval turned into a slowdown interval (larger = slower)."""
    if ci is None:
        return slowdown, slowdown
    low, high = ci
    if metric.bigger_is_better:
        return 1 / max(high, 1e-300), 1 / max(low, 1e-300)
    return low, high


def measure_change(
    base: list[float],
    new: list[float],
    metric: Metric,
    settings: Settings,
    session: Session | None,
    between: float | None = None,
) -> Change:
    interval = stats.ratio_interval(new, base)
    ratio, ci = (interval.point, interval.bounds) if interval else stats.ratio_ci(new, base)
    slowdown = 1 / ratio if metric.bigger_is_better else ratio
    high, low = (base, new) if metric.bigger_is_better else (new, base)
    p_slower, p_faster = stats.mwu_greater(high, low), stats.mwu_greater(low, high)
    tolerance = settings.alpha * 1e-9  # p == alpha is significant; float rounding must not decide it
    # The whole interval must clear the threshold (run noise), and the point must stand out of the session
    # (its shift and scatter, measured on points): each noise is counted once.
    slow_low, slow_high = _slowdown_interval(ci, metric, slowdown)
    bar = 1 + settings.threshold
    shift, floor = 1.0, 1.0
    if session is not None and settings.noise_z > 0:
        shift, floor = (session.shift if session.comparable else 1.0), session.floor
    # The cell's own between-file floor, where earlier files give one: the larger floor decides (both
    # estimate the spread of the same move; ``compare_noise``).
    wall = max(floor, between or 1.0) if settings.noise_z > 0 else floor
    beyond = 0.0  # how far the point stands out of the session, in the direction found significant
    if stats.smallest_p(len(base), len(new)) > settings.alpha + tolerance:
        verdict = "too few runs"
    elif p_slower <= settings.alpha + tolerance and slow_low > bar:
        beyond = slowdown / shift
        verdict = "slower" if beyond > wall else "within noise"
    elif p_faster <= settings.alpha + tolerance and 1 / slow_high > bar:
        beyond = shift / slowdown
        verdict = "faster" if beyond > wall else "within noise"
    else:
        verdict = "same"
    level = interval.level if interval else None
    held = floor < beyond <= wall
    return Change(metric.name, ratio, ci, p_slower, p_faster, slowdown, floor, verdict, level, between, held)


def metrics_of(workload: str) -> list[Metric]:
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


def compare(
    base: Loaded, new: Loaded, settings: Settings | None = None, between: BetweenFiles | None = None
) -> Comparison:
    """Compare two loaded result files (``(path, document)`` pairs); ``between``: earlier files' noise
    per cell (``compare_noise``), used when it was measured like both."""
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
    # Imported here: they build on this module's cells and verdicts.
    from ipcbench import compare_probe
    from ipcbench.compare_session import beside, sessions

    probes = compare_probe.probe_moves(base_doc, new_doc)
    found = sessions(pairs, settings, comparable=not differences)
    # Beside a moved probe the shift is that of the cells no moved probe speaks for (where there are enough
    # of them), the scatter never below every cell's: those cells' own modes (spinning) stay in the floor.
    alone = sessions(compare_probe.unaffected(pairs, probes), settings, comparable=not differences)
    found.update(
        {key: beside(one, found[key]) for key, one in alone.items() if one.cells >= MIN_SCATTER_CELLS}
    )
    unused = between.unusable(differences, new_doc) if between is not None else None
    own = between if unused is None else None
    results = [
        _cell_result(key, base_cells.get(key), new_cells.get(key), settings, found, own)
        for key in _ordered(base_cells, new_cells)
    ]
    results = compare_probe.apply(
        results,
        probes,
        lambda cell, again: _cell_result(cell.key, cell.base, again, settings, found, own),
        settings,
    )
    return Comparison(
        base_path,
        new_path,
        base_doc,
        new_doc,
        settings,
        results,
        found,
        differences=differences,
        probes=probes,
        between=between,
        between_unused=unused,
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
    between: BetweenFiles | None = None,
) -> CellResult:
    if base is None or new is None:
        side = "BASE" if new is None else "NEW"
        return CellResult(key, base, new, verdict=f"only in {side}")
    if base["status"] != "ok" or new["status"] != "ok":
        return _not_measured(key, base, new)
    changes: dict[str, Change] = {}
    for metric in metrics_of(key[2]):
        base_runs, new_runs = runs_of(base, metric), runs_of(new, metric)
        if not base_runs or not new_runs:
            continue
        if metric.name == "p99" and not _tail_supported(base, new):
            continue  # a run's "p99" of a few dozen samples is its maximum
        session = found.get((key[2], metric.name))
        own = between.floor(key, metric.name) if between is not None else None
        changes[metric.name] = measure_change(base_runs, new_runs, metric, settings, session, own)
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
        held = [c for c in gated if c.held]  # past the session floor: its own earlier files held it back
        if held:
            return replace(cell, verdict=BETWEEN, detail=describe(max(held, key=_size)))
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
