"""ipcbench history: each cell over time across result files, one line per cell, with its steps flagged.

Files are grouped by machine (a history across machines would show the hardware, not the code). Each line
shows the cell's headline figure (pingpong: p50 round trip; stream: throughput) in the last few files and a
sparkline over all of them. A *step* is what ``ipcbench compare`` would call a change between two
consecutive files holding the cell: significant (one-sided Mann-Whitney U over the runs), beyond the
threshold, and beyond the session noise floor of that pair of files. Unstable cells never make a step.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from ipcbench import compare, workloads
from ipcbench.frames import Loaded, collect
from ipcbench.transports import label
from ipcbench.units import format_ns, format_rate, format_size

SPARKS = "▁▂▃▄▅▆▇█"


@dataclass
class Point:
    """One cell in one file."""

    file: Path
    created: str
    value: float  # p50 round trip (ns) for pingpong, bytes/s for stream
    unstable: bool
    step: str = ""  # "slower p50 +25.0%" when this file stepped from the previous one


@dataclass
class Line:
    machine: str
    key: compare.CellKey
    points: list[Point] = field(default_factory=list)

    @property
    def name(self) -> str:
        transport, variant, workload, size = self.key
        return f"{label(transport, variant)} {workload} {format_size(size)}"

    @property
    def steps(self) -> list[Point]:
        return [point for point in self.points if point.step]


def headline(cell: dict[str, Any]) -> float:
    return workloads.get(cell["workload"]).headline_value(cell)


def format_value(workload: str, value: float) -> str:
    return format_ns(value) if workloads.get(workload).latency else format_rate(value)


def build(loaded: list[Loaded], settings: compare.Settings) -> list[Line]:
    """One line per (machine, cell), oldest point first, with steps between consecutive files."""
    lines: dict[tuple[str, compare.CellKey], Line] = {}
    by_machine: dict[str, list[Loaded]] = {}
    for item in loaded:
        by_machine.setdefault(item[1]["machine"]["name"], []).append(item)
    for machine, files in by_machine.items():
        previous: dict[compare.CellKey, int] = {}  # cell -> index of the last file where it was ok
        comparisons: dict[tuple[int, int], compare.Comparison] = {}
        for index, (path, document) in enumerate(files):
            for key, cell in compare.cells_by_key(document, path).items():
                if cell["status"] != "ok":
                    continue
                line = lines.setdefault((machine, key), Line(machine, key))
                point = Point(path, document["created"], headline(cell), bool(cell.get("unstable")))
                if key in previous:
                    point.step = _step(files, previous[key], index, key, settings, comparisons)
                line.points.append(point)
                previous[key] = index
    return sorted(
        lines.values(),
        key=lambda line: (line.machine, line.key[3], line.key[2], line.key[0], line.key[1] or ""),
    )


def _step(
    files: list[Loaded],
    before: int,
    after: int,
    key: compare.CellKey,
    settings: compare.Settings,
    cache: dict[tuple[int, int], compare.Comparison],
) -> str:
    if (before, after) not in cache:
        cache[(before, after)] = compare.compare(files[before], files[after], settings)
    for cell in cache[(before, after)].cells:
        if cell.key == key and cell.verdict in ("slower", "faster"):
            return f"{cell.verdict} {cell.detail}"
    return ""


def sparkline(values: list[float]) -> str:
    low, high = min(values), max(values)
    if high <= low:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[round((v - low) / (high - low) * (len(SPARKS) - 1))] for v in values)


# ---- output -------------------------------------------------------------------------------------------


def _stamp(created: str) -> str:
    """``2026-11-26T14:49:31Z`` -> ``11-26 14:49`` (the title says that times are UTC)."""
    return created.replace("T", " ")[5:16]


def _columns(lines: list[Line], last: int) -> tuple[list[tuple[str, Path]], list[str]]:
    """The last ``last`` files as (created, path), and their headers (with seconds when minutes collide)."""
    files = sorted({(p.created, p.file) for line in lines for p in line.points})[-last:]
    headers = [_stamp(created) for created, _ in files]
    if len(set(headers)) < len(headers):
        headers = [created.replace("T", " ")[5:19] for created, _ in files]
    return files, headers


def _values(line: Line, files: list[tuple[str, Path]]) -> list[str]:
    by_file = {(p.created, p.file): p for p in line.points}
    return [_value_text(line.key[2], by_file.get(column)) for column in files]


def table(lines: list[Line], last: int) -> Table:
    files, headers = _columns(lines, last)
    machines = sorted({line.machine for line in lines})
    result = Table(
        title=escape(
            f"history of {', '.join(machines)} (UTC): p50 round trip (pingpong), "
            "throughput (stream); ! a slower step, + a faster one, ? unstable"
        )
    )
    columns = [
        ("machine", "left"),
        ("mechanism", "left"),
        ("workload", "left"),
        ("size", "right"),
        *((header, "right") for header in headers),
        ("trend", "left"),
        ("steps", "left"),
    ]
    for header, justify in columns:
        result.add_column(header, justify=justify)  # type: ignore[arg-type]
    for line in lines:
        transport, variant, workload, size = line.key
        values = _values(line, files)
        steps = "; ".join(f"{_stamp(p.created)} {p.step}" for p in line.steps)
        result.add_row(
            escape(line.machine),
            escape(label(transport, variant)),
            workload,
            format_size(size),
            *values,
            sparkline([p.value for p in line.points]),
            escape(steps),
            style="red" if any("slower" in p.step for p in line.steps[-1:]) else None,
        )
    return result


def _value_text(workload: str, point: Point | None) -> str:
    if point is None:
        return "-"
    mark = "!" if point.step.startswith("slower") else "+" if point.step.startswith("faster") else ""
    return format_value(workload, point.value) + mark + ("?" if point.unstable else "")


def markdown(lines: list[Line], last: int) -> str:
    files, headers = _columns(lines, last)
    out = [
        "| machine | mechanism | workload | size | " + " | ".join(headers) + " | trend | steps |",
        "|:--|:--|:--|--:|" + "--:|" * len(headers) + ":--|:--|",
    ]
    for line in lines:
        transport, variant, workload, size = line.key
        values = " | ".join(_values(line, files))
        steps = "; ".join(f"{_stamp(p.created)} {p.step}" for p in line.steps)
        out.append(
            f"| {line.machine} | {label(transport, variant)} | {workload} | {format_size(size)} | "
            f"{values} | {sparkline([p.value for p in line.points])} | {steps} |"
        )
    out += [
        "",
        "Values: p50 round trip (pingpong), throughput (stream); times UTC. `!` a slower step, "
        "`+` a faster step, `?` unstable (runs disagree).",
    ]
    return "\n".join(out) + "\n"


def as_json(lines: list[Line]) -> list[dict[str, Any]]:
    return [
        {
            "machine": line.machine,
            "transport": line.key[0],
            "variant": line.key[1],
            "workload": line.key[2],
            "size": line.key[3],
            "metric": workloads.get(line.key[2]).headline,
            "points": [
                {
                    "file": str(p.file),
                    "created": p.created,
                    "value": p.value,
                    "unstable": p.unstable,
                    "step": p.step or None,
                }
                for p in line.points
            ],
        }
        for line in lines
    ]


# ---- command line -------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("results")],
        help="result files or folders (default: results)",
    )
    parser.add_argument("--machine", help="only this machine name")
    parser.add_argument("--last", type=int, default=6, help="files shown as columns (default 6)")
    parser.add_argument("--threshold", default="5%", help="smallest change that is a step (default 5%%)")
    parser.add_argument("--alpha", default="0.05", help="one-sided significance level (default 0.05)")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    parser.add_argument("--steps-only", action="store_true", help="only cells with at least one step")


def command(args: argparse.Namespace) -> int:
    import sys

    from rich.console import Console

    from ipcbench.errors import InputError

    if args.last < 1:
        raise InputError("--last must be at least 1")
    settings = compare.Settings(
        threshold=compare.parse_fraction(args.threshold, "--threshold"),
        alpha=compare.parse_fraction(args.alpha, "--alpha"),
    )
    loaded = collect(args.paths)
    if args.machine:
        loaded = [item for item in loaded if item[1]["machine"]["name"] == args.machine]
        if not loaded:
            where = ", ".join(map(str, args.paths))
            raise InputError(f"no result files of machine {args.machine!r} in {where}")
    lines = build(loaded, settings)
    if args.steps_only:
        lines = [line for line in lines if line.steps]
    if args.format == "json":
        print(json.dumps(as_json(lines), indent=1))
    elif args.format == "markdown":
        print(markdown(lines, args.last), end="")
    else:
        # Not a terminal (a CI log): rich would squeeze the table into 80 columns.
        Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(table(lines, args.last))
    return 0
