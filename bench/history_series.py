"""A long history of result files made by resampling real runs: the benchmark (and the tests) of
``ipcbench history``, ``ipcbench report`` and ``ipcbench.load`` over hundreds of files.

Each synthetic file is the newest real file given, with every measured cell's runs drawn at random (with
replacement) from the pool of that cell's runs in *all* the real files given, so the file-to-file noise is
the noise real runs show, session differences included. A cell is its tier (``impl``), mechanism with its
``--tune`` setting, workload and size: runs are never pooled across tiers or settings. The cell's figures
are recomputed from the drawn runs the way the runner computes them (``ipcbench.runner.summarise``: each
figure the median of the runs' figures with its order-statistic interval, the latency block moved with
the runs' p50s, the unstable rule on the spread of the runs). A *plant* multiplies one cell's time per
message by a factor from one file on: the change the detector has to find.

    python bench/history_series.py results/ --count 1000 --output /tmp/history --seed 1
    python bench/history_series.py results/ --count 60 --plant "pipe pingpong 4096 1.3 40" -o /tmp/s
    python bench/history_series.py results/ --count 60 --plant "pipe pingpong 4096 1.3 40 native" ...
    python bench/history_series.py --measure /tmp/history      # time load, history, report on them

The files are written once, as the runner writes them, with day-apart ``created`` times, under
``OUTPUT/<machine>/``.
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ipcbench import stats, store, workloads
from ipcbench.transports import keyed_variant

# transport, variant with its --tune setting, workload, size, impl
Key = tuple[str, str | None, str, int, str]
START = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Plant:
    """From file ``start`` on (0-based), the cell runs ``factor`` times slower. Written as
    ``"MECHANISM WORKLOAD SIZE FACTOR FROM_FILE [IMPL]"`` (the Python tier unless IMPL says ``native``)."""

    key: Key
    factor: float
    start: int

    @classmethod
    def parse(cls, text: str) -> Plant:
        mechanism, workload, size, factor, start, *impl = text.split()
        transport, _, variant = mechanism.partition("/")
        key = (transport, variant or None, workload, int(size), impl[0] if impl else "python")
        return cls(key, float(factor), int(start))


def cell_key(cell: dict[str, Any]) -> Key:
    """A cell's identity as history keys it (``impl`` and the ``--tune`` setting included)."""
    impl = cell.get("impl", "python")
    return (cell["transport"], keyed_variant(cell), cell["workload"], int(cell["size"]), impl)


def run_pools(documents: Iterable[dict[str, Any]]) -> dict[Key, list[dict[str, Any]]]:
    pools: dict[Key, list[dict[str, Any]]] = {}
    for document in documents:
        for cell in store.iter_ok_cells(document):
            pools.setdefault(cell_key(cell), []).extend(cell["runs"])
    return pools


def slowed(run: dict[str, Any], factor: float) -> dict[str, Any]:
    """A run whose every message took ``factor`` times as long."""
    run = dict(run)
    run["elapsed_ns"] = run["elapsed_ns"] * factor
    for name in ("bytes_per_s", "msgs_per_s"):
        run[name] = run[name] / factor
    for name in ("p50_ns", "p99_ns"):
        if name in run:
            run[name] = run[name] * factor
    return run


def resampled_cell(
    cell: dict[str, Any], pool: list[dict[str, Any]], rng: np.random.Generator, factor: float
) -> dict[str, Any]:
    runs = [slowed(pool[i], factor) for i in rng.integers(0, len(pool), len(cell["runs"]))]
    new = dict(cell, runs=runs)
    new["throughput"] = stats.throughput_summary(
        [run["bytes_per_s"] for run in runs], [run["msgs_per_s"] for run in runs]
    )
    workload = workloads.get(cell["workload"])
    if cell.get("latency_ns") and all("p50_ns" in run for run in runs):
        p50s = [run["p50_ns"] for run in runs]
        old = stats.figure([run["p50_ns"] for run in cell["runs"]])
        scale = stats.figure(p50s) / old if old > 0 else 1.0
        latency = {k: v * scale if _time(k, v) else v for k, v in cell["latency_ns"].items()}
        interval = stats.median_interval(p50s)
        new["latency_ns"] = dict(
            latency,
            p50=stats.figure(p50s),
            ci95_p50=interval.bounds if interval else None,
            ci_level=interval.level if interval else None,
        )
    basis = [run[workload.headline] for run in runs]
    cv = stats.coefficient_of_variation(basis)
    new["cv"] = cv
    new["unstable"] = cv is not None and cv > workload.unstable_cv
    new["unstable_reason"] = f"runs disagree: cv {cv:.2f} (resampled)" if new["unstable"] else None
    return new


def _time(key: str, value: Any) -> bool:
    """A latency entry that is a time (not the count of samples or the interval's level)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and key not in ("samples", "ci_level")


def series(
    documents: list[dict[str, Any]], count: int, seed: int, plant: Plant | None = None
) -> Iterable[dict[str, Any]]:
    """``count`` synthetic documents, oldest first."""
    rng = np.random.default_rng(seed)
    template = max(documents, key=lambda document: document["created"])
    pools = run_pools(documents)
    for index in range(count):
        document = copy.copy(template)
        document["created"] = (START + timedelta(days=index)).strftime("%Y-%m-%dT%H:%M:%SZ")
        document["label"] = f"n{index:04d}"
        cells = []
        for cell in template["cells"]:
            key = cell_key(cell)
            if cell["status"] != "ok" or key not in pools:
                cells.append(cell)
                continue
            factor = plant.factor if plant and plant.key == key and index >= plant.start else 1.0
            cells.append(resampled_cell(cell, pools[key], rng, factor))
        document["cells"] = cells
        yield document


def write_series(documents: Iterable[dict[str, Any]], output: Path) -> list[Path]:
    paths = []
    for document in documents:
        machine = document["machine"]["name"]
        path = (
            output
            / machine
            / f"{document['created'].replace('-', '').replace(':', '')}-{document['label']}.json"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        store.save(document, path)
        paths.append(path)
    return paths


# ---- measuring the commands --------------------------------------------------------------------------


COMMANDS = {
    "load": "import ipcbench, sys; ipcbench.load(sys.argv[1])",
    "history": "from ipcbench.cli import main; import sys; main(['history', sys.argv[1], '--format=json'])",
    "report": "from ipcbench.cli import main; import sys; main(['report', sys.argv[1], '-o', sys.argv[2]])",
}


def measure(folder: Path, repeats: int) -> list[dict[str, Any]]:
    """Wall time and peak memory (max RSS) of each command in a fresh process, cold then warm cache."""
    rows = []
    cache = folder / ".ipcbench-cache.sqlite3"
    for name, code in COMMANDS.items():
        for state in ("cold", "warm"):
            for _ in range(repeats):
                if state == "cold":
                    cache.unlink(missing_ok=True)
                rows.append({"command": name, "cache": state, **_timed(code, folder)})
    return rows


PEAK = "; import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"


def _timed(code: str, folder: Path) -> dict[str, float]:
    """One command in a fresh interpreter (imports included, as a user pays them); it prints its peak."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code + PEAK, str(folder), "/tmp/history-report.html"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - start
    return {"wall_s": round(wall, 2), "peak_mib": round(int(done.stderr.split()[-1]) / 1024, 1)}


def detection(
    documents: list[dict[str, Any]], plant: Plant, seeds: int, count: int, jobs: int = 1
) -> dict[str, Any]:
    """Over ``seeds`` series with and without the plant: how often the planted change is found at its file
    (plus or minus one), and how many changes appear in every other cell (false changes). ``jobs``
    processes share the series."""
    tasks = [(documents, plant, seed, count, planted) for seed in range(seeds) for planted in (True, False)]
    if jobs > 1:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            outcomes = list(pool.map(_one_series, *zip(*tasks, strict=True)))
    else:
        outcomes = [_one_series(*task) for task in tasks]
    planted_runs = [outcome for outcome, task in zip(outcomes, tasks, strict=True) if task[4]]
    plain_runs = [outcome for outcome, task in zip(outcomes, tasks, strict=True) if not task[4]]
    return {
        "seeds": seeds,
        "files": count,
        "plant": f"{plant.key} x{plant.factor} from file {plant.start}",
        "found_at_the_right_file": sum(found for found, *_ in planted_runs),
        "changes_in_the_cell_without_plant": sum(changed for _, changed, *_ in plain_runs),
        "false_changes_in_other_cells": sum(others for _, _, others, _ in outcomes),
        "other_cells_per_series": outcomes[0][3] if outcomes else 0,
        "series": len(tasks),
    }


def _one_series(
    documents: list[dict[str, Any]], plant: Plant, seed: int, count: int, planted: bool
) -> tuple[bool, bool, int, int]:
    """(planted change found at its file, any change in the planted cell, changes in the other cells,
    other cells) of one series."""
    from ipcbench.cache import summarize
    from ipcbench.history import build

    made = series(documents, count, seed, plant if planted else None)
    lines = build([summarize(doc, Path(f"{doc['label']}.json")) for doc in made])
    target = next(line for line in lines if (*line.key, line.impl) == plant.key)
    found = any(abs(c.index - plant.start) <= 1 and c.worse(target.bigger_is_better) for c in target.changes)
    others = sum(len(line.changes) for line in lines if line is not target)
    return found, bool(target.changes), others, len(lines) - 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("real", nargs="*", type=Path, help="real result files or folders to resample")
    parser.add_argument("-o", "--output", type=Path, help="folder for the synthetic files")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plant", type=Plant.parse, help='"MECHANISM WORKLOAD SIZE FACTOR FROM_FILE"')
    parser.add_argument("--measure", type=Path, help="time load, history and report over this folder")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--detection", type=int, metavar="SEEDS", help="detection and false-change rates")
    parser.add_argument("--jobs", type=int, default=1, help="processes for --detection")
    args = parser.parse_args(argv)
    if args.measure:
        for row in measure(args.measure, args.repeats):
            print(json.dumps(row))
        return 0
    documents = [store.load(path) for path in store.find_results(args.real)]
    if args.detection:
        outcome = detection(documents, args.plant, args.detection, args.count, args.jobs)
        print(json.dumps(outcome, indent=1))
        return 0
    paths = write_series(series(documents, args.count, args.seed, args.plant), args.output)
    print(f"{len(paths)} files in {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
