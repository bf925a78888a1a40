"""compare's between-file noise: how far each cell moves from one result file to the next on this machine,
estimated from a series of earlier files measured like NEW (``ipcbench compare --noise-from``).

Why a series: the gate's other noise terms are estimated inside the two files it compares, the runs within
a file (the interval, the test) and how all cells moved between them (the session shift and scatter: one
scatter for every cell). On a VM whose speed changes between files *per cell* (quiet, ``--cpu-idle poll``:
blocking round trips at 64 B and 4K landing 1.45-1.8x apart from file to file while each file's runs agree
within 1.05-1.2x, and most other cells moving far less), such a cell cannot be told from a regression by
the two files alone. Only earlier files show how far *this* cell moves between files.

Per cell and metric (the gate's own statistic: the cell's log move beyond the session shift):

1. each file's level is the log of the cell's figure (the median of its runs, ``stats.figure``), in every
   file that measured it, unstable or not: the gate meets both kinds, and excluding the files where a cell
   was erratic would make it look steadier than it is (``history`` leaves them out for another reason:
   they must not make a change point on their own; here the median of differences keeps a few wild
   files from deciding);
2. less the session's level: the running sum of the session shifts between consecutive files (the median
   move of the workload's cells, as the gate's session shift), since the gate takes that shift out of the
   cell's move too;
3. the robust SD of one file's level from the MAD of the first differences (``changes.noise_scale``): an
   earlier code change in the series is one large difference, which the median ignores;
4. a move between two files has sqrt(2) times that SD, and the floor is exp(noise_z x factor x that SD),
   where ``factor`` (``small_sample_factor``) keeps ``--noise-z`` at the tail probability it has with a
   known SD: an SD from a few files is itself uncertain (from 8 files, a floor of plain 3 SDs is passed by
   a normal cell's move 15 times more often than 3 known SDs are).

A cell needs ``MIN_FILES`` files for its own term; with fewer it keeps the session floor alone, and the
output says which cells. A regression must pass both floors, the session's and this one: both estimate
the spread of the same statistic under no change, today's across cells and this cell's across time, so the
larger decides; adding them would count the between-file noise twice.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ipcbench import changes, compare, frames, stats, store
from ipcbench.compare import CellKey, Comparison, Metric, Settings, describe, gates
from ipcbench.errors import InputError
from ipcbench.frames import Loaded

# Fewest files (levels) for a cell's own term: at 8 the small-sample factor is about 2.4 at z = 3 (6 files:
# 3.1, 12: 1.8, 30: 1.25), so fewer files would buy a floor too wide to be of use.
MIN_FILES = 8
NEWEST = 30  # files read from the series by default: the newest, so the machine is today's
_DRAWS = 20_000  # simulated series per small-sample factor (fixed seed: the factor is deterministic)
Noise = tuple[CellKey, str]  # (cell, metric name)


@dataclass(frozen=True)
class CellNoise:
    """One cell's between-file noise for one metric."""

    files: int  # files of the series in which the cell was measured
    sd: float | None  # robust SD of one file's log level beyond the session (None: fewer than MIN_FILES)
    factor: float | None  # the small-sample factor for ``files`` at the settings' noise_z
    floor: float | None  # slowdown beyond the session shift a move must pass: exp(z factor sd sqrt 2)


@dataclass(frozen=True)
class BetweenFiles:
    """The series and what it says about each cell."""

    files: list[Path]  # the files used, oldest first
    skipped: list[str]  # why other files were left out, one line per reason
    reference: dict[str, Any]  # the newest file of the series: its settings and machine must be NEW's
    cells: dict[Noise, CellNoise] = field(default_factory=dict)

    def floor(self, key: CellKey, metric: str) -> float | None:
        noise = self.cells.get((key, metric))
        return None if noise is None else noise.floor

    def unusable(self, differences: list[str], new: dict[str, Any]) -> str | None:
        """Why this series cannot speak for a comparison (None: it can)."""
        if differences:
            return "BASE and NEW were measured differently, so no series is like both"
        if not self.files:
            return "no file of the series was measured like NEW"
        if moved := compare.setting_differences(self.reference, new):
            return f"the series was measured differently from NEW ({'; '.join(moved)})"
        return None


# ---- reading the series -------------------------------------------------------------------------------


def read(
    paths: list[Path], like: Loaded, exclude: list[Loaded], settings: Settings, newest: int = NEWEST
) -> BetweenFiles:
    """The newest ``newest`` result files below ``paths`` measured like ``like`` (NEW), without the files
    being compared, and each cell's noise over them. A missing path or a folder without result files is
    bad input (``InputError``); files measured otherwise are left out and said."""
    if newest < 2:
        raise InputError("--noise-files must be at least 2")
    loaded = frames.collect(_newest_paths(paths, newest * 2))  # twice: some may be of other settings
    compared = {path.resolve() for path, _ in exclude} | {_identity(doc) for _, doc in exclude}
    kept, others, same = [], [], 0
    for path, document in loaded:
        if path.resolve() in compared or _identity(document) in compared:
            same += 1
        elif differences := compare.setting_differences(document, like[1]):
            others.append("; ".join(differences))
        else:
            kept.append((path, document))
    skipped = [f"{same} file(s) being compared"] if same else []
    for reason in dict.fromkeys(others):
        skipped.append(f"{others.count(reason)} file(s) not measured like NEW (theirs -> NEW's: {reason})")
    if len(kept) > newest:
        skipped.append(f"{len(kept) - newest} older file(s) beyond --noise-files {newest}")
        kept = kept[-newest:]
    return of(kept, settings, skipped, like[1])


def of(
    series: list[Loaded],
    settings: Settings,
    skipped: list[str] | None = None,
    like: dict[str, Any] | None = None,
) -> BetweenFiles:
    """The term over loaded files already chosen (oldest first); ``like``: NEW, for an empty series."""
    reference = series[-1][1] if series else (like or {})
    return BetweenFiles([path for path, _ in series], skipped or [], reference, estimate(series, settings))


def _identity(document: dict[str, Any]) -> Any:
    return ("run", document.get("run_id"), document.get("created"))


def _newest_paths(paths: list[Path], count: int) -> list[Path]:
    """Files named directly, and the newest ``count`` result files by name in each folder (result files
    are named by their creation time), so a long series is not read whole."""
    chosen: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"--noise-from {path}: no such file or folder")
        if not path.is_dir():
            chosen.append(path)
            continue
        members = [p for p in store.find_results([path]) if frames.looks_like_result(p)]
        if not members:
            raise InputError(f"--noise-from {path}: no result files in this folder")
        chosen.extend(sorted(members, key=lambda p: p.name)[-count:])
    return chosen


# ---- the estimate -------------------------------------------------------------------------------------


def estimate(series: list[Loaded], settings: Settings) -> dict[Noise, CellNoise]:
    """Each cell's between-file noise over ``series`` (oldest first), for every metric it has."""
    levels = [_levels(document, where) for where, document in series]
    found: dict[Noise, CellNoise] = {}
    for (workload, metric), session in _session_levels(levels).items():
        keys = {key for level in levels for key, name in level if key[2] == workload and name == metric}
        for key in keys:
            residuals = [
                level[(key, metric)] - session[index]
                for index, level in enumerate(levels)
                if (key, metric) in level
            ]
            found[(key, metric)] = _cell_noise(np.asarray(residuals), settings.noise_z)
    return found


def _levels(document: dict[str, Any], where: Path) -> dict[Noise, float]:
    """Each measured cell's log figure per metric, signed so that larger is slower."""
    found = {}
    for key, cell in compare.cells_by_key(document, where).items():
        if cell["status"] != "ok":
            continue
        for metric in compare.metrics_of(key[2]):
            runs = compare.runs_of(cell, metric)
            if runs and stats.figure(runs) > 0:
                found[(key, metric.name)] = log_slowdown(runs, metric)
    return found


def log_slowdown(values: list[float], metric: Metric) -> float:
    """log of the cell's figure, signed so that larger means slower."""
    value = math.log(stats.figure(values))
    return -value if metric.bigger_is_better else value


def _session_levels(levels: list[dict[Noise, float]]) -> dict[tuple[str, str], list[float]]:
    """Per (workload, metric), the session's level in each file: the running sum of the median move of
    the cells in both files of each consecutive pair (0 where fewer than ``MIN_SCATTER_CELLS`` moved, as
    ``compare`` then takes no shift out)."""
    kinds = {(key[2], metric) for level in levels for key, metric in level}
    found = {}
    for kind in kinds:
        running, path = 0.0, [0.0]
        for before, after in itertools.pairwise(levels):
            moves = [after[k] - before[k] for k in after if (k[0][2], k[1]) == kind and k in before]
            running += float(np.median(moves)) if len(moves) >= compare.MIN_SCATTER_CELLS else 0.0
            path.append(running)
        found[kind] = path
    return found


def _cell_noise(residuals: np.ndarray, z: float) -> CellNoise:
    if len(residuals) < MIN_FILES:
        return CellNoise(len(residuals), None, None, None)
    sd = changes.noise_scale(residuals)
    factor = small_sample_factor(len(residuals), z)
    return CellNoise(len(residuals), sd, factor, math.exp(z * factor * sd * math.sqrt(2)))


def simulated_scales(files: int) -> np.ndarray:
    """``changes.noise_scale`` of ``_DRAWS`` series of ``files`` standard normal levels: the same formula,
    row by row in one numpy call (a Python loop over the rows took seconds; a test checks they agree)."""
    rows = np.random.default_rng(20261127).normal(size=(_DRAWS, files))
    mad = np.median(np.abs(np.diff(rows, axis=1)), axis=1)
    return np.maximum(1.4826 * mad / math.sqrt(2), changes.NOISE_FLOOR)


@functools.lru_cache(maxsize=64)
def small_sample_factor(files: int, z: float) -> float:
    """The factor c for which a normal cell's move between two new files passes z x c estimated SDs (each
    from ``files`` earlier files, by ``noise_scale``) as often as it passes z known SDs.

    Rao-Blackwellised: for each of ``_DRAWS`` simulated series the chance of passing is the normal tail
    at the estimated SD, averaged, and c is found by bisection; fixed seed, so deterministic. 1 for z = 0.
    """
    if z <= 0:
        return 1.0
    from scipy.special import ndtr  # only here: compare needs scipy for nothing else

    sds = simulated_scales(files)
    target = float(ndtr(-z))
    low, high = 0.5, 50.0
    for _ in range(50):
        middle = (low + high) / 2
        passed = float(np.mean(ndtr(-middle * z * sds)))  # move/sqrt(2) against the estimated SD
        low, high = (middle, high) if passed > target else (low, middle)
    return high


# ---- what the output says about it --------------------------------------------------------------------


def notes(comparison: Comparison) -> list[str]:
    """Where the term came from, what it is, and which cells had too few files for it."""
    between, z = comparison.between, comparison.settings.noise_z
    if between is None:
        return []
    said = [f"--noise-from: {reason}" for reason in between.skipped]
    if comparison.between_unused is not None:
        return [*said, f"between-file noise not used: {comparison.between_unused}; the session floor alone"]
    if z == 0:
        return [*said, "between-file noise off with the session floor (--noise-z 0)"]
    gated = {k: n for k, n in between.cells.items() if gates(k[1], k[0][2], comparison.settings)}
    floors = {_noise_name(k): n for k, n in gated.items() if n.floor is not None}
    few = sorted({_noise_name(k) for k, n in gated.items() if n.floor is None})
    span = f"{between.files[0].name} .. {between.files[-1].name}"
    text = (
        f"between-file noise from {len(between.files)} earlier file(s) measured like NEW ({span}): a cell's "
        f"move beyond the session shift must also exceed {z:g} x its own robust SD between files (MAD of "
        f"first differences), times a small-sample factor"
    )
    if floors:
        widest = max(floors, key=lambda name: floors[name].floor or 1.0)
        lowest = min(n.floor or 1.0 for n in floors.values())
        text += f"; floors {times(lowest)} to {times(floors[widest].floor or 1.0)} ({widest})"
        text += f" over {len(floors)} gated cell metrics"
    said.append(text)
    if few:
        shown = ", ".join(few[:8]) + (" ..." if len(few) > 8 else "")
        said.append(
            f"{len(few)} gated cell metric(s) in fewer than {MIN_FILES} files of the series keep the "
            f"session floor alone: {shown}"
        )
    return said


def held_lines(comparison: Comparison) -> list[str]:
    """One line per cell the term held back: past the session floor, within the cell's own."""
    found, between = [], comparison.between
    for cell in comparison.cells:
        for change in cell.changes.values():
            if change.held and gates(change.metric, cell.key[2], comparison.settings):
                noise = between.cells.get((cell.key, change.metric)) if between is not None else None
                files = f" over {noise.files} files" if noise is not None else ""
                own, session = times(change.between_floor or 1.0), times(change.noise_floor or 1.0)
                found.append(
                    f"  held back by between-file noise: {cell.name}: {describe(change)} (its own floor "
                    f"{own}{files}; session floor {session})"
                )
    return found


def as_json(comparison: Comparison) -> dict[str, Any] | None:
    """``{"used": ..., "files": [...], "cells": {"pipe pingpong 64/p50": {"files", "sd", "factor",
    "floor"}}, "held": [...]}``; None without ``--noise-from``."""
    between = comparison.between
    if between is None:
        return None
    return {
        "used": comparison.between_unused is None,
        "unused_reason": comparison.between_unused,
        "files": [str(path) for path in between.files],
        "skipped": between.skipped,
        "min_files": MIN_FILES,
        "cells": {
            f"{_noise_name(key)}": {"files": n.files, "sd": n.sd, "factor": n.factor, "floor": n.floor}
            for key, n in sorted(between.cells.items(), key=lambda item: _noise_name(item[0]))
        },
        "held": [line.split(": ", 1)[1] for line in held_lines(comparison)],
    }


def times(factor: float) -> str:
    """``x1.234``, or ``x3.1e+05`` for the floors of cells that moved wildly between files."""
    return f"x{factor:.3f}" if factor < 1000 else f"x{factor:.2g}"


def _noise_name(key: Noise) -> str:
    return f"{compare.key_name(key[0])} {key[1]}"
