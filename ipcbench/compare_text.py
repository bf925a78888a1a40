"""The wording every format of ``ipcbench compare`` shares: ratios with their intervals, verdicts, the gate
lines (what failed and why, or why a pass says nothing), the session shift and the noise floor's notes.
"""

from __future__ import annotations

import math

from ipcbench import compare_noise
from ipcbench.compare import (
    FALLBACK_SCATTER,
    MIN_SCATTER_CELLS,
    CellResult,
    Change,
    Comparison,
    Session,
    Settings,
    gate_text,
    gates,
)
from ipcbench.compare_noise import times
from ipcbench.compare_probe import UNDECIDED


def print_gate(comparison: Comparison) -> None:
    for line in gate_lines(comparison):
        print(line)


def ratio_text(change: Change | None) -> str:
    if change is None:
        return "-"
    if change.ci is None:
        return f"{change.ratio:.3f}"
    return f"{change.ratio:.3f} [{change.ci[0]:.3f}, {change.ci[1]:.3f}]"


def verdict_text(cell: CellResult) -> str:
    return f"{cell.verdict}: {cell.detail}" if cell.detail else cell.verdict


def regression_line(cell: CellResult, settings: Settings) -> str:
    slower = [
        change
        for change in cell.changes.values()
        if change.verdict == "slower" and gates(change.metric, cell.key[2], settings)
    ]
    if not slower:
        return f"{cell.name}: {verdict_text(cell)}"
    change = max(slower, key=lambda c: c.slowdown)
    level = f"{change.level:.0%} " if change.level is not None else ""
    interval = f", {level}CI {change.ci[0]:.3f}-{change.ci[1]:.3f}" if change.ci else ""
    return (
        f"{cell.name}: {cell.detail} (ratio {change.ratio:.3f}{interval}, p={change.p_slower:.3g}, "
        f"noise floor {_floor_text(change)})"
    )


def _floor_text(change: Change) -> str:
    if change.noise_floor is None:
        return "unknown"
    own = (
        "" if change.between_floor is None else f", its own between-file floor {times(change.between_floor)}"
    )
    return f"x{change.noise_floor:.3f} beyond the session shift{own}"


def gate_lines(comparison: Comparison) -> list[str]:
    settings = comparison.settings
    regressions = comparison.regressions
    lines = []
    if comparison.failed:
        parts = (
            [f"{len(regressions)} cell(s) regressed beyond {settings.threshold:.0%}"] if regressions else []
        )
        parts += [
            f"the whole session moved: {shift_text(k, comparison.noise[k])}" for k in comparison.shifted
        ]
        lines.append(f"gate: FAIL: {'; '.join(parts)} ({gate_text(settings)}):")
        lines.extend(f"  REGRESSION {regression_line(cell, settings)}" for cell in regressions)
    else:
        unstable = sum(cell.verdict == "unstable: rerun" for cell in comparison.cells)
        extra = f"; {unstable} unstable cell(s) not judged" if unstable else ""
        machine = sum(cell.verdict == UNDECIDED for cell in comparison.cells)
        extra += f"; {machine} cell(s) moved with the machine's wake-ups: undecided" if machine else ""
        vacuous = vacuous_reason(comparison)
        extra += f"; {vacuous}" if vacuous else ""
        lines.append(
            f"gate: pass: no cell regressed beyond {settings.threshold:.0%} and the session noise, and no "
            f"session-wide shift beyond {settings.shift_threshold:.0%} ({gate_text(settings)}){extra}"
        )
    lines.extend(compare_noise.held_lines(comparison))
    if comparison.unconfirmed:
        lines.append(f"  not confirmed by the second run (ignored): {', '.join(comparison.unconfirmed)}")
    return lines


def shift_text(key: tuple[str, str], session: Session) -> str:
    """``pingpong p50 x1.120 [1.090, 1.150] (97% interval over 24 cells)``."""
    text = f"{key[0]} {key[1]} x{session.shift:.3f}"
    if session.shift_ci is not None:
        low, high = session.shift_ci
        level = f"{session.shift_level:.0%} " if session.shift_level is not None else ""
        text += f" [{low:.3f}, {high:.3f}] ({level}interval over {session.cells} cells)"
    return text


def vacuous_reason(comparison: Comparison) -> str | None:
    """Why a pass says nothing about a change: the same run on both sides, or no cell in common."""
    same_file = comparison.base_path.resolve() == comparison.new_path.resolve()
    if same_file or comparison.base == comparison.new:  # one file twice, or a copy of it
        return "BASE and NEW are the same run: every ratio is 1 by construction, nothing was tested"
    if not any(cell.changes for cell in comparison.cells):
        return "no cell was measured in both files: nothing was compared"
    return None


def noise_notes(found: dict[tuple[str, str], Session], settings: Settings) -> list[str]:
    notes = []
    shifts = [shift_text(key, session) for key, session in found.items() if session.shift_ci is not None]
    if shifts:
        notes.append(f"session-wide shift (median move of all cells, NEW/BASE slowdown): {'; '.join(shifts)}")
    if settings.noise_z == 0:
        return [*notes, "session noise floor off (--noise-z 0): verdicts rest on run-to-run noise alone"]
    known = [f"{w} {m} x{s.floor:.3f}" for (w, m), s in found.items() if s.measured]
    fallback = sorted({w for (w, _), s in found.items() if not s.measured})
    if known:
        notes.append(
            f"session noise floor ({settings.noise_z:g} robust SDs of how cells moved apart, beyond the "
            f"shift): {', '.join(known)}"
        )
    if fallback:
        notes.append(
            f"session noise floor assumed for {' and '.join(fallback)} (fewer than {MIN_SCATTER_CELLS} "
            f"cells, or different settings): scatter {FALLBACK_SCATTER:g}, floor "
            f"x{math.exp(settings.noise_z * FALLBACK_SCATTER):.3f}"
        )
    return notes
