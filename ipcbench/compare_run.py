"""What ``ipcbench compare`` does before it prints: its options, reading every input, comparing, and the
confirming reruns (``--confirm NEW2``, ``--confirm-base BASE2``) that a CI gate needs on a shared machine.
The comparison itself is ``compare``; printing is ``compare_output``.
"""

from __future__ import annotations

import argparse
import functools
import math
from dataclasses import replace
from pathlib import Path

from ipcbench import compare_noise
from ipcbench.compare import METRICS, CellKey, CellResult, Comparison, Settings, compare
from ipcbench.compare_probe import UNDECIDED
from ipcbench.errors import InputError
from ipcbench.frames import newest


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
    """Regressed in ``again``, and no significant change between the two runs of the same side (nor a
    move that the machine's changed wake-ups leave undecided: then the two runs do not agree either)."""
    regressed = any(other.key == key and other.regressed for other in again.cells)
    agree = all(
        other.verdict not in ("slower", "faster", "unstable and slower", UNDECIDED)
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
    parser.add_argument(
        "--noise-from",
        type=Path,
        action="append",
        default=[],
        metavar="FILES_OR_FOLDER",
        help="earlier result files of this machine and settings (files or folders, repeatable): each cell's "
        "move must also exceed --noise-z of its own robust SD between those files (at least "
        f"{compare_noise.MIN_FILES} files; cells with fewer keep the session floor alone)",
    )
    parser.add_argument(
        "--noise-files",
        type=int,
        default=compare_noise.NEWEST,
        metavar="N",
        help=f"how many of the newest --noise-from files to use (default {compare_noise.NEWEST})",
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
    noise_from: list[Path] | None = None,
    noise_files: int = compare_noise.NEWEST,
) -> Comparison:
    """Load, compare and confirm: everything ``ipcbench compare`` does before it prints."""
    base_loaded, new_loaded = newest(base), newest(new)
    # Read the confirming runs now, not only when a regression needs them: a typo must fail today.
    news = [newest(path) for path in confirm_with or []]
    bases = [newest(path) for path in confirm_base or []]
    between = None
    if noise_from:  # the files being compared are never their own noise
        compared = [base_loaded, new_loaded, *news, *bases]
        between = compare_noise.read(noise_from, new_loaded, compared, settings, noise_files)
    comparison = compare(base_loaded, new_loaded, settings, between)
    if (news or bases) and comparison.failed:
        again = functools.partial(compare, settings=settings, between=between)
        comparison = confirm(
            comparison,
            [(again(base_loaded, n), again(new_loaded, n)) for n in news],
            [(again(b, new_loaded), again(base_loaded, b)) for b in bases],
        )
    return comparison
