"""ipcbench history: each cell over time across result files, one line per cell, with its change points.

Files are grouped by machine (a history across machines would show the hardware, not the code), and cells
by ``impl`` where files have that axis (schema 2; older files are the Python tier). Each line shows the
cell's headline figure (pingpong: p50 round trip; stream: throughput) in the last few files and a
sparkline over all of them. *Changes* are change points over the whole series (``ipcbench.changes``):
where the level moved, the ratio of the levels after and before with its interval, and its significance.
Files where the runner flagged the cell unstable never make a change on their own. ``--fail-on-change``
exits 1 when a significant slowdown beyond the threshold starts in one of the newest files of a series.

Summaries of the files come from the cache beside them (``ipcbench.cache``), so a year of nightly files
is read in seconds.
"""

from __future__ import annotations

import argparse
import itertools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from ipcbench import workloads
from ipcbench.cache import HEAD_COLUMNS, Memo, Summary, bulk, summaries
from ipcbench.changes import Change, Settings, Workers, detect_many
from ipcbench.errors import EXIT_OK, EXIT_REGRESSION
from ipcbench.store import encode_json, find_results
from ipcbench.transports import label
from ipcbench.units import format_ns, format_rate, format_size

SPARKS = "▁▂▃▄▅▆▇█"
# Result files from which detection's workers start before the files are read (forked from a process
# that holds no files yet, ready when the series are); with fewer files one process detects in a moment.
EARLY_WORKERS_FROM = 300
CellKey = tuple[str, str | None, str, int]  # transport, variant, workload, size
_Where = tuple[str, str, CellKey, str]  # a line: machine, impl, cell, CPU idle policy
# The headline of a latency workload and of the others, as summary columns: the figure, its interval.
LATENCY_COLUMNS = ("p50_ns", "p50_ci_low_ns", "p50_ci_high_ns")
RATE_COLUMNS = ("bytes_per_s", "bytes_per_s_ci_low", "bytes_per_s_ci_high")


def is_latency(workload: str) -> bool:
    """Its headline is a round-trip time (smaller is better); else a rate (bigger is better)."""
    return workloads.get(workload).latency


def metric_name(workload: str) -> str:
    return "p50" if is_latency(workload) else "throughput"


@dataclass(slots=True)
class Point:
    """One cell in one file."""

    file: Path
    created: str
    label: str | None
    value: float  # p50 round trip (ns) for pingpong, bytes/s for stream
    interval: tuple[float, float] | None  # the file's 95% interval of the figure across its runs
    unstable: bool
    step: str = ""  # the change that starts at this file: "slower p50 +30.0% [+24.1%, +36.2%] p=2e-09"


@dataclass
class Line:
    machine: str
    impl: str
    key: CellKey
    cpu_idle: str = "os"  # ``--cpu-idle``: a change of idle policy starts another series, never a change
    points: list[Point] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    @property
    def mechanism(self) -> str:
        text = label(self.key[0], self.key[1])
        text = text if self.impl == "python" else f"{text} [{self.impl}]"
        return text if self.cpu_idle == "os" else f"{text} [cpu-idle {self.cpu_idle}]"

    @property
    def name(self) -> str:
        return f"{self.mechanism} {self.key[2]} {format_size(self.key[3])}"

    @property
    def bigger_is_better(self) -> bool:
        return not is_latency(self.key[2])

    @property
    def steps(self) -> list[Point]:
        return [point for point in self.points if point.step]

    def slowdown_since(self, recent: int) -> Change | None:
        """The change in force at the newest file, if it is a slowdown starting in the ``recent`` newest."""
        if not self.changes:
            return None
        last = self.changes[-1]
        if last.worse(self.bigger_is_better) and last.index >= len(self.points) - recent:
            return last
        return None


_AT = {name: index for index, name in enumerate(HEAD_COLUMNS)}  # a head column's place in a head row
_IDENTITY = operator.itemgetter(slice(0, 6))  # a head row's cell: its first six columns
_NUMBER = (int, float)
_STATUS, _UNSTABLE = _AT["status"], _AT["unstable"]


def headline(head: list[Any] | dict[str, Any]) -> tuple[float, tuple[float, float] | None] | None:
    """A cell's headline figure and its interval from its head row (``cache.HEAD_COLUMNS``; or a row of
    ``ipcbench.load`` as a dict), or None when it has none. Head rows are read by position: a year of
    nightly files holds hundreds of thousands of them."""
    if isinstance(head, dict):
        head = [head.get(name) for name in HEAD_COLUMNS]
    figure, low, high = _LATENCY_AT if is_latency(head[_AT["workload"]]) else _RATE_AT
    value = head[figure]
    if head[_STATUS] != "ok" or not isinstance(value, int | float) or not value > 0:
        return None
    return float(value), _interval(head[low], head[high])


def _interval(low: Any, high: Any) -> tuple[float, float] | None:
    try:
        bounds = (float(low), float(high))
    except (TypeError, ValueError):
        return None
    return bounds if math.isfinite(bounds[0] + bounds[1]) else None


_LATENCY_AT = tuple(_AT[name] for name in LATENCY_COLUMNS)
_RATE_AT = tuple(_AT[name] for name in RATE_COLUMNS)


def format_value(workload: str, value: float) -> str:
    return format_ns(value) if is_latency(workload) else format_rate(value)


@bulk()
def build(
    found: list[Summary],
    settings: Settings | None = None,
    workers: Workers | None = None,
    memo: Memo | None = None,
) -> list[Line]:
    """One line per (machine, impl, cell), oldest point first, with its change points (found on
    ``workers`` when given; those of a series the ``memo`` kept are not worked out again)."""
    lines = series_lines(found)
    return with_changes(lines, detect_many(series_of(lines), settings or Settings(), workers, memo))


@bulk()
def series_lines(found: list[Summary]) -> list[Line]:
    """``build``'s lines before their change points are found: every point, in the order of the files."""
    lines: dict[_Where, Line] = {}
    # A thousand files repeat the same few hundred cells, mostly in the same order: each order of cells
    # (per machine and idle policy) is resolved to its lines and headline places once, not per row.
    layouts: dict[
        tuple[str, str], tuple[list[list[Any]], list[tuple[Callable[[Point], None], int, int, int]]]
    ] = {}
    for summary in found:
        path, created, machine, label_text = (
            summary.path,
            summary.created,
            summary.machine,
            summary.run.get("label"),
        )
        cpu_idle = summary.run.get("cpu_idle") or "os"
        cells = list(map(_IDENTITY, summary.heads))
        known = layouts.get((machine, cpu_idle))
        if known is None or known[0] != cells:
            known = layouts[machine, cpu_idle] = (cells, _resolve(lines, machine, cpu_idle, summary.heads))
        for head, (append, figure, low, high) in zip(summary.heads, known[1], strict=True):
            value = head[figure]
            if head[_STATUS] != "ok" or not isinstance(value, _NUMBER) or not value > 0:
                continue
            low_value, high_value = head[low], head[high]
            if (
                low_value.__class__ is float
                and high_value.__class__ is float
                and math.isfinite(low_value + high_value)
            ):
                interval: tuple[float, float] | None = (low_value, high_value)
            else:
                interval = _interval(low_value, high_value)
            append(Point(path, created, label_text, float(value), interval, head[_UNSTABLE]))
    return [line for line in lines.values() if line.points]


def series_of(lines: list[Line]) -> list[tuple[list[float], list[bool]]]:
    """Each line's series as change detection takes it: (figures, stable marks)."""
    return [([p.value for p in line.points], [not p.unstable for p in line.points]) for line in lines]


def with_changes(lines: list[Line], found_changes: list[list[Change]]) -> list[Line]:
    """The lines of ``series_lines`` with their change points (in the same order), sorted as ``build``'s."""
    for line, changes in zip(lines, found_changes, strict=True):
        line.changes = changes
        for change in changes:
            line.points[change.index].step = change_text(line, change)
    return sorted(
        lines,
        key=lambda line: (
            line.machine,
            line.impl,
            line.key[3],
            line.key[2],
            line.key[0],
            line.key[1] or "",
            line.cpu_idle,
        ),
    )


def _resolve(
    lines: dict[_Where, Line], machine: str, cpu_idle: str, heads: list[list[Any]]
) -> list[tuple[Callable[[Point], None], int, int, int]]:
    """Each head row's line (made when new), as the call adding a point to it, and the places of its
    headline and interval."""
    resolved = []
    for head in heads:
        where, (figure, low, high) = _series(machine, cpu_idle, head)
        line = lines.get(where) or lines.setdefault(where, Line(*where))
        resolved.append((line.points.append, figure, low, high))
    return resolved


def _series(machine: str, cpu_idle: str, head: list[Any]) -> tuple[_Where, tuple[int, ...]]:
    """The line of a head row, (machine, impl, cell key, idle policy), and the places of its headline."""
    transport, variant, tune, impl, workload, size = head[:6]
    # A tuned cell is its own series, its setting in the variant as everywhere (``keyed_variant``).
    key: CellKey = (transport, f"{variant or ''}[{tune}]" if tune else variant, workload, size)
    return (machine, impl or "python", key, cpu_idle), _LATENCY_AT if is_latency(workload) else _RATE_AT


def change_text(line: Line, change: Change) -> str:
    """``slower p50 +30.0% [+24.1%, +36.2%] p=2e-09``: direction, metric, size, interval, significance."""
    direction = "slower" if change.worse(line.bigger_is_better) else "faster"
    interval = "" if change.ci is None else f" [{change.ci[0] - 1:+.1%}, {change.ci[1] - 1:+.1%}]"
    return f"{direction} {metric_name(line.key[2])} {change.ratio - 1:+.1%}{interval} p={change.p_value:.1g}"


def sparkline(values: list[float], width: int = 40) -> str:
    """Bars over the series; a long one is cut into ``width`` stretches, each drawn at its median."""
    if len(values) > width:
        edges = [round(i * len(values) / width) for i in range(width + 1)]
        values = [sorted(values[a:b])[(b - a) // 2] for a, b in itertools.pairwise(edges)]
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
    files = sorted({(p.created, p.file) for line in lines for p in line.points[-last:]})[-last:]
    headers = [_stamp(created) for created, _ in files]
    if len(set(headers)) < len(headers):
        headers = [created.replace("T", " ")[5:19] for created, _ in files]
    return files, headers


def _values(line: Line, files: list[tuple[str, Path]]) -> list[str]:
    by_file = {(p.created, p.file): p for p in line.points[-len(files) :]}
    return [_value_text(line.key[2], by_file.get(column)) for column in files]


def _changes_text(line: Line) -> str:
    return "; ".join(f"{_stamp(p.created)} {p.step}" for p in line.steps)


def table(lines: list[Line], last: int) -> Table:
    files, headers = _columns(lines, last)
    machines = sorted({line.machine for line in lines})
    result = Table(
        title=escape(
            f"history of {', '.join(machines)} (UTC): p50 round trip (pingpong), throughput (stream); "
            "! a slower level starts, + a faster one, ? unstable"
        )
    )
    columns = [
        ("machine", "left"),
        ("mechanism", "left"),
        ("workload", "left"),
        ("size", "right"),
        *((header, "right") for header in headers),
        ("trend", "left"),
        ("changes", "left"),
    ]
    for header, justify in columns:
        result.add_column(header, justify=justify)  # type: ignore[arg-type]
    for line in lines:
        last_change = line.changes[-1:]
        result.add_row(
            escape(line.machine),
            escape(line.mechanism),
            line.key[2],
            format_size(line.key[3]),
            *_values(line, files),
            sparkline([p.value for p in line.points]),
            escape(_changes_text(line)),
            style="red" if last_change and last_change[0].worse(line.bigger_is_better) else None,
        )
    return result


def _value_text(workload: str, point: Point | None) -> str:
    if point is None:
        return "-"
    mark = "!" if point.step.startswith("slower") else "+" if point.step.startswith("faster") else ""
    return format_value(workload, point.value) + mark + ("?" if point.unstable else "")


def markdown(lines: list[Line], last: int) -> str:
    if not lines:
        return "No changes: every cell held its level.\n"
    files, headers = _columns(lines, last)
    out = [
        "| machine | mechanism | workload | size | " + " | ".join(headers) + " | trend | changes |",
        "|:--|:--|:--|--:|" + "--:|" * len(headers) + ":--|:--|",
    ]
    for line in lines:
        values = " | ".join(_values(line, files))
        out.append(
            f"| {line.machine} | {line.mechanism} | {line.key[2]} | {format_size(line.key[3])} | "
            f"{values} | {sparkline([p.value for p in line.points])} | {_changes_text(line)} |"
        )
    out += [
        "",
        "Values: p50 round trip (pingpong), throughput (stream); times UTC. A change is a change point over "
        "the whole series: the change of level (after/before, Hodges-Lehmann, with its 95% interval) and "
        "its p-value; `!` a slower level starts there, `+` a faster one, `?` unstable (runs disagree; "
        "never a change on its own).",
    ]
    return "\n".join(out) + "\n"


def as_json(lines: list[Line]) -> list[dict[str, Any]]:
    return [
        {
            "machine": line.machine,
            "impl": line.impl,
            "cpu_idle": line.cpu_idle,
            "transport": line.key[0],
            "variant": line.key[1],
            "workload": line.key[2],
            "size": line.key[3],
            "metric": workloads.get(line.key[2]).headline,
            "changes": [_change_json(line, change) for change in line.changes],
            "points": [
                {
                    "file": str(p.file),
                    "created": p.created,
                    "label": p.label,
                    "value": p.value,
                    "ci95": None if p.interval is None else list(p.interval),
                    "unstable": p.unstable,
                    "step": p.step or None,
                }
                for p in line.points
            ],
        }
        for line in lines
    ]


def _change_json(line: Line, change: Change) -> dict[str, Any]:
    point = line.points[change.index]
    return {
        "index": change.index,
        "file": str(point.file),
        "created": point.created,
        "label": point.label,
        "direction": "slower" if change.worse(line.bigger_is_better) else "faster",
        "ratio": change.ratio,
        "ci95": None if change.ci is None else list(change.ci),
        "p_value": change.p_value,
        "files_before": change.before,
        "files_after": change.after,
        "text": point.step,
    }


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
    parser.add_argument(
        "--threshold", default="5%", help="smallest change of level that counts (default 5%%)"
    )
    parser.add_argument("--alpha", default="0.005", help="significance level of each change (default 0.005)")
    parser.add_argument("--min-files", type=int, default=3, help="fewest files that make a level (default 3)")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    parser.add_argument("--steps-only", "--changes-only", action="store_true", help="only cells that changed")
    parser.add_argument(
        "--fail-on-change",
        action="store_true",
        help="exit 1 when a significant slowdown beyond --threshold starts in the newest --recent files",
    )
    parser.add_argument(
        "--recent", type=int, default=5, help="newest files of a series that --fail-on-change looks at"
    )


@bulk()
def command(args: argparse.Namespace) -> int:
    import sys

    from rich.console import Console

    settings = _settings(args)
    # A long history: detection's workers start now and import what they need while the files are read.
    with Workers(start=len(find_results(args.paths)) >= EARLY_WORKERS_FROM) as workers:
        found = build(_load(args), settings, workers, Memo(args.paths))
    lines = [line for line in found if line.changes or not args.steps_only]
    if args.format == "json":
        print(encode_json(as_json(lines), indent=True))  # a year of nightly files: orjson, not json
    elif args.format == "markdown":
        print(markdown(lines, args.last), end="")
    else:
        # Not a terminal (a CI log): rich would squeeze the table into 80 columns.
        Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(table(lines, args.last))
    if not args.fail_on_change:
        return EXIT_OK
    slower = [(line, change) for line in lines if (change := line.slowdown_since(args.recent))]
    for line, change in slower:
        point = line.points[change.index]
        print(f"regression: {line.machine} {line.name}: {point.step} from {point.file}", file=sys.stderr)
    return EXIT_REGRESSION if slower else EXIT_OK


def _settings(args: argparse.Namespace) -> Settings:
    from ipcbench.compare_run import parse_fraction
    from ipcbench.errors import InputError

    for name in ("last", "min_files", "recent"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1")
    return Settings(
        threshold=parse_fraction(args.threshold, "--threshold"),
        alpha=parse_fraction(args.alpha, "--alpha"),
        min_size=args.min_files,
    )


def _load(args: argparse.Namespace) -> list[Summary]:
    from ipcbench.errors import InputError

    found = summaries(args.paths)
    if args.machine:
        found = [summary for summary in found if summary.machine == args.machine]
        if not found:
            where = ", ".join(map(str, args.paths))
            raise InputError(f"no result files of machine {args.machine!r} in {where}")
    return found
