"""compare's session noise: how every cell of a workload moved between the two files (the session shift)
and how far cells moved apart from it (the session scatter), each judged like with like (``compare``'s
module docstring says why; ``Session`` is defined there).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ipcbench import stats, workloads
from ipcbench.compare import (
    FALLBACK_SCATTER,
    MIN_SCATTER_CELLS,
    CellKey,
    Metric,
    Session,
    Settings,
    metrics_of,
    runs_of,
)


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
        for metric in metrics_of(workload):
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
    base_runs, new_runs = runs_of(base, metric), runs_of(new, metric)
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


def beside(alone: Session, every: Session) -> Session:
    return (
        alone if alone.scatter >= every.scatter else replace(alone, scatter=every.scatter, floor=every.floor)
    )
