"""compare's machine witness: cells whose cost is a wake-up are judged against how the wake-up probe moved.

Each result file may carry wake-up probes (``wakeprobe``): a raw pipe ping-pong and a raw spin handoff,
taken before, amid and after its cells, sharing no code with ipcbench's transports. Between two files the
probe's ratio NEW/BASE is a Hodges-Lehmann ratio of the probes' p50s with its exact interval, like a cell's
(90% with 3 probes a side); the probe *moved* when that whole interval lies beyond ``PROBE_THRESHOLD``.

When a probe moved, the cells it speaks for (``params.wait``: ``block`` for the pipe probe, ``spin`` for
the spin probe) are judged again with NEW's run figures divided by the probe's ratio. Why that is sound:
the probe is the cheapest round trip of its kind (two wake-ups, nothing else), so a cell that pays the same
wake-ups plus work of its own moves *at most* as much as the probe when only the wake-ups changed. Hence:

* a move in the probe's direction that the division explains is not a regression and not an improvement:
  the cell gets the third answer, **machine changed: undecided**, with both ratios shown;
* a move beyond the probe's (judged like any move: significance, interval, session noise) keeps its
  verdict: a cell 1.5x slower on top of a 3x slower machine is still *slower*;
* a move against the probe's direction (slower while the machine got faster) keeps its raw verdict; the
  division would make it look worse than it is, and cells with more work than the probe already move less.

Files without probes, or probes that did not move, are compared exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ipcbench import stats, wakeprobe
from ipcbench.compare import CellResult, Comparison, Settings, gates

# How far the probe must move (its whole interval beyond this) before the machine counts as changed. A
# wake-up mode change moves the pipe probe 2-4x (86-347 us p50 on the 2-vCPU VM); within one mode, on the
# same VM loaded by other jobs, one file's three probes spread up to 1.6x (37-60 us) and 4 consecutive A/A
# pairs moved 0.84-1.19x. Every cell the probe moves loses the power to fail below the probe's ratio, so
# the bar is the session shift's (25%), not the cells' (5%).
PROBE_THRESHOLD = 0.25
UNDECIDED = "machine changed: undecided"


@dataclass(frozen=True)
class ProbeMove:
    """How one wake-up probe moved between BASE and NEW."""

    kind: str  # "pipe" or "spin"
    wait: str  # the ``params.wait`` of the cells it speaks for: "block" or "spin"
    base: list[float]  # BASE's probe p50s (ns)
    new: list[float]
    ratio: float  # NEW/BASE, Hodges-Lehmann on the log scale; above 1: wake-ups got slower
    ci: list[float] | None  # its exact interval (None: fewer than 2 probes a side)
    level: float | None
    moved: bool  # the whole interval beyond PROBE_THRESHOLD

    def text(self) -> str:
        """``pipe wake-up probe x3.10 [2.80, 3.40] (90%, 3 vs 3 probes)``."""
        shown = f"{self.kind} wake-up probe x{self.ratio:.2f}"
        if self.ci is not None and self.level is not None:
            shown += f" [{self.ci[0]:.2f}, {self.ci[1]:.2f}] ({self.level:.0%}"
            shown += f", {len(self.base)} vs {len(self.new)} probes)"
        return shown


def probe_moves(base: dict[str, Any], new: dict[str, Any]) -> dict[str, ProbeMove]:
    """Each probe kind both files measured, by the ``wait`` mode of the cells it speaks for."""
    found = {}
    for kind in wakeprobe.KINDS:
        before, after = wakeprobe.p50s(base, kind), wakeprobe.p50s(new, kind)
        if not before or not after:
            continue
        interval = stats.ratio_interval(after, before)
        ratio, ci = (interval.point, interval.bounds) if interval else stats.ratio_ci(after, before)
        moved = ci is not None and (ci[0] > 1 + PROBE_THRESHOLD or ci[1] < 1 / (1 + PROBE_THRESHOLD))
        level = interval.level if interval else None
        found[wakeprobe.WAIT_OF_KIND[kind]] = ProbeMove(
            kind, wakeprobe.WAIT_OF_KIND[kind], before, after, ratio, ci, level, moved
        )
    return found


def apply(
    cells: list[CellResult],
    moves: dict[str, ProbeMove],
    remeasure: Callable[[CellResult, dict[str, Any]], CellResult],
    settings: Settings,
) -> list[CellResult]:
    """Every cell judged against its probe where that probe moved and the cell moved its way;
    ``remeasure(cell, new)`` judges the cell again with ``new`` in place of its NEW cell."""
    found = []
    for cell in cells:
        move = move_for(cell.base, cell.new, moves)
        if move is not None and cell.new is not None and along(cell.verdict, move):
            cell = judged(cell, remeasure(cell, scaled(cell.new, move.ratio)), move, settings)
        found.append(cell)
    return found


def move_for(
    base: dict[str, Any] | None, new: dict[str, Any] | None, moves: dict[str, ProbeMove]
) -> ProbeMove | None:
    """The probe that moved and speaks for this cell (its wait mode in both files), if any."""
    waits = {((side or {}).get("params") or {}).get("wait") for side in (base, new)}
    if len(waits) != 1:
        return None
    move = moves.get(str(waits.pop()))
    return move if move is not None and move.moved else None


def unaffected(
    pairs: dict[Any, tuple[dict[str, Any], dict[str, Any]]], moves: dict[str, ProbeMove]
) -> dict[Any, Any]:
    """The cells no moved probe speaks for: the session shift is measured on them, so a change of the
    machine's wake-ups is not a session-wide shift (``compare.compare`` keeps the larger scatter)."""
    return {key: pair for key, pair in pairs.items() if move_for(*pair, moves) is None}


def scaled(new: dict[str, Any], factor: float) -> dict[str, Any]:
    """NEW's cell with its run figures divided by the probe's slowdown ``factor`` (times and rates)."""
    runs = []
    for run in new.get("runs") or []:
        run = dict(run)
        for key in ("p50_ns", "p99_ns"):
            if run.get(key) is not None:
                run[key] = run[key] / factor
        for key in ("bytes_per_s", "msgs_per_s"):
            if run.get(key) is not None:
                run[key] = run[key] * factor
        runs.append(run)
    return {**new, "runs": runs}


def along(verdict: str, move: ProbeMove) -> bool:
    """Whether a cell verdict points the way the probe moved (slower with a slower machine, ...)."""
    slower = verdict in ("slower", "unstable and slower")
    return slower if move.ratio > 1 else verdict == "faster"


def judged(raw: CellResult, relative: CellResult, move: ProbeMove, settings: Settings) -> CellResult:
    """The cell's verdict given its raw judgement and its judgement relative to the probe (see module)."""
    if not along(raw.verdict, move):
        return raw
    beyond = f"{_relative_text(raw, relative, settings)} the {move.text()}"
    if along(relative.verdict, move) and relative.verdict == raw.verdict:
        return replace(raw, detail=f"{raw.detail}; {beyond}", relative=relative.changes)
    return replace(
        raw, verdict=UNDECIDED, regressed=False, detail=f"{raw.detail}; {beyond}", relative=relative.changes
    )


def _relative_text(raw: CellResult, relative: CellResult, settings: Settings) -> str:
    """``p50 x1.030 relative to``: the largest gated move, relative to the probe."""
    shown = [
        change
        for name, change in relative.changes.items()
        if gates(name, raw.key[2], settings) and raw.changes[name].verdict in ("slower", "faster")
    ]
    if not shown:
        return "relative to"
    change = max(shown, key=lambda c: abs(c.slowdown - 1))
    return f"{change.metric} x{change.ratio:.3f} relative to"


# ---- what the output says about it --------------------------------------------------------------------


def notes(comparison: Comparison) -> list[str]:
    """The probes' moves, and every cell judged against one, by name: never silently."""
    has = [
        side for side, doc in (("BASE", comparison.base), ("NEW", comparison.new)) if doc.get("wake_probe")
    ]
    if len(has) == 1:
        return [f"only {has[0]} has wake-up probes: every cell is judged on its raw ratios"]
    found = []
    for move in comparison.probes.values():
        state = (
            f"moved: cells that {move.wait} are judged against it"
            if move.moved
            else f"did not move beyond {PROBE_THRESHOLD:.0%}: cells are judged on their raw ratios"
        )
        found.append(f"{move.text()}, NEW/BASE of the probes' p50s: {state}")
    if any(move.moved for move in comparison.probes.values()):
        found.append(
            "the session shift is measured on the cells no moved probe speaks for, where there are enough "
            "of them; the noise floor is never below that of every cell"
        )
    undecided = [cell.name for cell in comparison.cells if cell.verdict == UNDECIDED]
    if undecided:
        found.append(
            f"{len(undecided)} cell(s) {UNDECIDED} (moved with the machine's wake-ups, not beyond them; "
            f"rerun, with --cpu-idle poll where allowed): {', '.join(undecided)}"
        )
    return found


def as_json(comparison: Comparison) -> dict[str, Any]:
    """``{"block": {"probe": "pipe", "ratio": ..., "interval": ..., "moved": ...}, ...}``."""
    return {
        wait: {
            "probe": move.kind,
            "base_p50_ns": move.base,
            "new_p50_ns": move.new,
            "ratio": move.ratio,
            "interval": move.ci,
            "level": move.level,
            "moved": move.moved,
        }
        for wait, move in comparison.probes.items()
    }
