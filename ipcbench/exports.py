"""ipcbench export: a result file in the formats of other benchmark trackers.

* ``github-action-benchmark``: the JSON list that benchmark-action/github-action-benchmark reads with
  ``tool: customSmallerIsBetter`` or ``customBiggerIsBetter`` -- entries ``{name, unit, value, range?,
  extra?}``, ``range`` and ``extra`` being strings. One tool reads one file, so ``--metric latency`` gives
  the smaller-is-better file (p50, p99 and p99.9 round trip of every pingpong cell) and ``--metric
  throughput`` the bigger-is-better one (MB/s of every stream cell).
* ``bencher``: Bencher Metric Format, ``{benchmark: {measure: {value, lower_value?, upper_value?}}}``.
  ``latency`` (ns, p50 round trip) and ``throughput`` (operations/s: messages/s) are Bencher's built-in
  measures; ``latency-p99``, ``latency-p999`` and ``bytes-per-second`` are created on first upload.

Only measured cells are exported (skipped and failed ones have no figures, nor has the ``unsync``
demonstration a speed figure: it counts damaged messages); unstable cells are exported
and say so, because a tracker that drops them would hide the noise. A tail is exported only where enough
samples support it (``stats.TAIL_SAMPLES``: 1,000 for p99, 10,000 for p99.9).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ipcbench import outfile, stats, store, workloads
from ipcbench.compare import cell_key, key_name
from ipcbench.errors import InputError
from ipcbench.frames import newest

FORMATS = ("github-action-benchmark", "bencher")
PERCENTILES = (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9"))


def cell_name(cell: dict[str, Any]) -> str:
    """``posix-shm/spin pingpong 4K`` (``posix-shm/spin [native] pingpong 4K`` for the native tier): the
    benchmark's stable name across runs."""
    return key_name(cell_key(cell))


def measured(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(store.iter_ok_cells(document))  # demonstrations (unsync) have no speed figure to export


def _context(document: dict[str, Any], cell: dict[str, Any]) -> str:
    machine, config = document["machine"], document["config"]
    lines = [
        f"machine {machine['name']} ({machine.get('cpu_model')}, {machine.get('cores')} cores)",
        f"profile {config.get('profile')}, {len(cell.get('runs') or [])} runs, "
        f"placement {config.get('placement')}",
    ]
    if cell.get("unstable"):
        lines.append("UNSTABLE: runs disagree, rerun before trusting this value")
    return "\n".join(lines)


def _half_width(interval: list[float] | None) -> str | None:
    return None if not interval else f"± {(interval[1] - interval[0]) / 2:.6g}"


def _entry(name: str, unit: str, value: float, interval: list[float] | None, extra: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "unit": unit, "value": value}
    spread = _half_width(interval)
    if spread is not None:
        entry["range"] = spread
    entry["extra"] = extra
    return entry


def github_action_benchmark(document: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    """Entries for ``customSmallerIsBetter`` (metric ``latency``) or ``customBiggerIsBetter``
    (metric ``throughput``)."""
    entries: list[dict[str, Any]] = []
    for cell in measured(document):
        extra = _context(document, cell)
        workload = workloads.get(cell["workload"])
        if metric == "latency" and workload.latency and cell.get("latency_ns"):
            latency = cell["latency_ns"]
            for key, shown in PERCENTILES:
                if key != "p50" and not stats.tail_supported(cell, key):
                    continue  # too few samples: the "p99.9" of 45 round trips is their maximum
                interval = latency.get("ci95_p50") if key == "p50" else None
                note = "round trip" + (", range: half the 95% CI of the per-run p50" if interval else "")
                entries.append(
                    _entry(
                        f"{cell_name(cell)} {shown}", "ns", float(latency[key]), interval, f"{note}\n{extra}"
                    )
                )
        elif metric == "throughput" and workload.headline == "bytes_per_s":
            throughput = cell["throughput"]
            interval = throughput.get("ci95_bytes_per_s")
            scaled = [bound / 1e6 for bound in interval] if interval else None
            entries.append(
                _entry(
                    cell_name(cell),
                    "MB/s",
                    throughput["bytes_per_s"] / 1e6,
                    scaled,
                    f"{throughput['msgs_per_s']:.6g} messages/s\n{extra}",
                )
            )
    return entries


def _metric(value: float, interval: list[float] | None, floor: float = 0.0) -> dict[str, float]:
    """A BMF metric; the interval is widened to contain the value and kept non-negative (files written
    before 0.2 hold a pooled figure that a per-run interval can miss, and t intervals that cross zero)."""
    result = {"value": float(value)}
    if interval:
        result["lower_value"] = max(floor, min(float(interval[0]), float(value)))
        result["upper_value"] = max(float(interval[1]), float(value))
    return result


def bencher(document: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Bencher Metric Format: one benchmark per cell, several measures each."""
    result: dict[str, dict[str, dict[str, float]]] = {}
    for cell in measured(document):
        measures: dict[str, dict[str, float]] = {}
        latency = cell.get("latency_ns")
        if workloads.get(cell["workload"]).latency and latency:
            measures["latency"] = _metric(latency["p50"], latency.get("ci95_p50"))
            for key, measure in (("p99", "latency-p99"), ("p999", "latency-p999")):
                if stats.tail_supported(cell, key):  # else too few samples to tell the tail from the max
                    measures[measure] = _metric(latency[key], None)
        throughput = cell["throughput"]
        measures["throughput"] = _metric(throughput["msgs_per_s"], throughput.get("ci95_msgs_per_s"))
        measures["bytes-per-second"] = _metric(throughput["bytes_per_s"], throughput.get("ci95_bytes_per_s"))
        result[cell_name(cell)] = measures
    return result


def export(document: dict[str, Any], form: str, metric: str = "latency") -> Any:
    if form == "bencher":
        return bencher(document)
    if form == "github-action-benchmark":
        return github_action_benchmark(document, metric)
    raise InputError(f"unknown export format {form!r}: choose from {', '.join(FORMATS)}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="a result file, or a folder (its newest result file)")
    parser.add_argument("--format", choices=FORMATS, required=True, dest="form")
    parser.add_argument(
        "--metric",
        choices=("latency", "throughput"),
        default="latency",
        help="github-action-benchmark only: latency (customSmallerIsBetter, default) or "
        "throughput (customBiggerIsBetter)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")


def command(args: argparse.Namespace) -> int:
    if args.output is not None:
        outfile.check(args.output, "the export")
    path, document = newest(args.file)
    data = export(document, args.form, args.metric)
    if not data:
        what = f"{args.metric} " if args.form == "github-action-benchmark" else ""
        raise InputError(f"{path}: no measured {what}cells to export")
    text = json.dumps(data, indent=1, allow_nan=False, ensure_ascii=False) + "\n"
    if args.output is None:
        print(text, end="")
    else:
        outfile.write(text, args.output, "the export")
    return 0
