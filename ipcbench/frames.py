"""Result files as pandas DataFrames (``ipcbench.load``), and the file discovery that history, compare and
exports share.

A folder stands for every ipcbench result file below it. Other JSON files that live beside results (a
``pytest-benchmark.json``, an export) are passed over, because they are not ipcbench results at all; a file
that *is* an ipcbench result but is malformed, or of a newer schema, still raises ``ResultFileError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipcbench import idle, store, tuning
from ipcbench.errors import ResultFileError
from ipcbench.transports import cell_label

if TYPE_CHECKING:
    import pandas as pd

Loaded = tuple[Path, dict[str, Any]]
LATENCY_COLUMNS = ("p50", "p90", "p99", "p999", "min", "max", "mean", "stdev")


def looks_like_result(path: Path) -> bool:
    """Cheap sniff: a JSON object with a ``schema_version`` key (ours, valid or not) is a result file."""
    try:
        with path.open(encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError, RecursionError):
        return True  # broken: store.load will say what is wrong with it
    return isinstance(document, dict) and "schema_version" in document


def collect(paths: Iterable[Path | str]) -> list[Loaded]:
    """Load result files named directly, and every result file below named folders, oldest first.

    Raises ``ResultFileError`` for a missing path, a folder without results, or a broken result file.
    """
    loaded: dict[Path, Loaded] = {}  # by real path: a file named twice (or inside a named folder) counts once
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ResultFileError(f"{path}: no such file or folder")
        if path.is_dir():
            members = [p for p in store.find_results([path]) if looks_like_result(p)]
            if not members:
                raise ResultFileError(f"{path}: no result files in this folder")
        else:
            members = [path]
        for member in members:
            if member.resolve() not in loaded:
                loaded[member.resolve()] = (member, store.load(member))
    return sorted(loaded.values(), key=lambda item: (item[1]["created"], str(item[0])))


def newest(path: Path | str) -> Loaded:
    """A file stands for itself; a folder for its newest result file (by created time, then name)."""
    return collect([path])[-1]


def load(path: Path | str | Iterable[Path | str]) -> pd.DataFrame:
    """Load one result file, or every result file below a folder (or a list of either), as a DataFrame
    with one row per cell, oldest file first.

    Columns (figures are ``NaN`` where a cell has none: skipped and failed cells, latency of a stream, the
    ``unsync`` demonstration, whose counts of damaged messages are in its result file's ``unsync``;
    text that is absent, such as the variant of a pipe or the reason of a measured cell, is missing too,
    so select with ``frame.variant.isna()``):

    run and machine (the same on every row of one file)
        ``file`` (path as given), ``created`` (UTC ``Timestamp``), ``label``, ``run_status`` (complete,
        running, interrupted), ``run_id``, ``ipcbench_version``, ``schema_version``, ``machine`` (name),
        ``cpu_model``, ``cores``, ``kernel``, ``python``, ``virtualization``, ``profile``, ``repeats``
        (runs per cell asked for), ``placement`` (cross-core, same-core, unpinned), ``cpu_idle`` (``os``:
        the machine's own idle; ``poll``: idle CPUs held polling, ``--cpu-idle poll``; not comparable)
    cell identity
        ``transport``, ``variant`` (``"sem"``, ``"spin"``, ``"hybrid"`` or missing), ``impl`` (``python``, or
        ``native`` for the compiled tier of schema 2 on), ``mechanism`` (``posix-shm/spin``; a tuned cell
        with its setting, ``pipe[pipe_buffer=1M]``), ``tune`` (the ``--tune`` setting, ``pipe_buffer=1M``,
        or missing), ``workload`` (pingpong, stream, oneway, openloop: its throughput is the stream capacity
        it was swept against; the sweep itself is in the file's ``rate_sweep``), ``size`` (bytes), ``status``
        (ok, skipped, failed), ``reason``, ``remedy`` (the setting that would allow a skipped cell)
    latency (pingpong: round trip; oneway: the forward leg; nanoseconds over all samples of all runs)
        ``p50_ns``, ``p90_ns``, ``p99_ns``, ``p999_ns``, ``min_ns``, ``max_ns``, ``mean_ns``, ``stdev_ns``,
        ``p50_ci_low_ns``, ``p50_ci_high_ns`` (95% interval of the per-run p50 across runs)
    throughput
        ``bytes_per_s``, ``msgs_per_s``, ``bytes_per_s_ci_low``, ``bytes_per_s_ci_high``
    cost and stability
        ``cpu_initiator_ns``, ``cpu_peer_ns`` (CPU time per message of each process), ``messages``
        (measured messages, all runs), ``runs`` (number of independent runs), ``cv`` (coefficient of
        variation of the per-run figure), ``unstable`` (bool: the runs disagree; rerun before trusting it)
    per-run figures (lists, one entry per run, for your own statistics)
        ``run_p50_ns``, ``run_p99_ns`` (pingpong), ``run_bytes_per_s``, ``run_msgs_per_s``

    Below a folder, each file's rows are cached in ``.ipcbench-cache.sqlite3`` there (see ``ipcbench.cache``;
    ``IPCBENCH_CACHE=0`` turns it off): a thousand files load in seconds once they are cached.

    Example::

        frame = ipcbench.load("results/")
        ok = frame[frame.status == "ok"]
        ok.pivot_table(index="size", columns=["mechanism", "impl"], values="p50_ns", aggfunc="median")
    """
    import pandas as pd

    from ipcbench.cache import bulk, frame_columns, summaries

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    with bulk():
        columns = frame_columns(summaries(paths, tables=True))
        frame = pd.DataFrame({name: columns.get(name, []) for name in COLUMNS}, columns=list(COLUMNS))
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    figures = list(FIGURE_COLUMNS)
    frame[figures] = frame[figures].astype(float)  # the cache keeps a missing figure as null: NaN again
    return frame


def document_rows(document: dict[str, Any], file: Path | str = "") -> list[dict[str, Any]]:
    """One flat dict per cell of a loaded result document."""
    meta = {"file": str(file), **run_columns(document)}
    return [{**meta, **cell_columns(cell)} for cell in document["cells"]]


def run_columns(document: dict[str, Any]) -> dict[str, Any]:
    """The columns that are the same on every row of one file (all but ``file``)."""
    machine, config = document["machine"], document["config"]
    return {
        "created": document["created"],
        "label": document.get("label"),
        "run_status": document.get("status", "complete"),
        "run_id": document.get("run_id"),
        "ipcbench_version": document["ipcbench_version"],
        "schema_version": document["schema_version"],
        "machine": machine["name"],
        "cpu_model": machine.get("cpu_model"),
        "cores": machine.get("cores"),
        "kernel": machine.get("kernel"),
        "python": machine.get("python"),
        "virtualization": machine.get("virtualization"),
        "profile": config.get("profile"),
        "repeats": config.get("repeats"),
        "placement": config.get("placement"),
        "cpu_idle": idle.policy_of(document),
    }


def cell_columns(cell: dict[str, Any]) -> dict[str, Any]:
    nan = float("nan")
    # A demonstration (``unsync``) has no speed figure: its rows carry NaN, so no pivot ranks a race.
    shown = {} if store.is_demonstration(cell) else cell
    latency = shown.get("latency_ns") or {}
    throughput = shown.get("throughput") or {}
    cpu = shown.get("cpu_ns_per_msg") or {}
    runs = shown.get("runs") or []
    p50_ci = latency.get("ci95_p50") or (nan, nan)
    rate_ci = throughput.get("ci95_bytes_per_s") or (nan, nan)
    row: dict[str, Any] = {
        "transport": cell["transport"],
        "variant": cell.get("variant"),
        "impl": cell.get("impl", "python"),
        "mechanism": cell_label(cell),
        "tune": tuning.text(cell.get("tune")) or None,
        "workload": cell["workload"],
        "size": cell["size"],
        "status": cell["status"],
        "reason": cell.get("reason"),
        "remedy": cell.get("remedy"),
    }
    row.update({f"{key}_ns": _figure(latency.get(key)) for key in LATENCY_COLUMNS})
    row.update(
        p50_ci_low_ns=p50_ci[0],
        p50_ci_high_ns=p50_ci[1],
        bytes_per_s=_figure(throughput.get("bytes_per_s")),
        msgs_per_s=_figure(throughput.get("msgs_per_s")),
        bytes_per_s_ci_low=rate_ci[0],
        bytes_per_s_ci_high=rate_ci[1],
        cpu_initiator_ns=_figure(cpu.get("initiator")),
        cpu_peer_ns=_figure(cpu.get("peer")),
        messages=cell.get("messages"),
        runs=len(cell.get("runs") or []),
        cv=_figure(cell.get("cv")),
        unstable=bool(cell.get("unstable", False)),
        run_p50_ns=_per_run(runs, "p50_ns"),
        run_p99_ns=_per_run(runs, "p99_ns"),
        run_bytes_per_s=_per_run(runs, "bytes_per_s"),
        run_msgs_per_s=_per_run(runs, "msgs_per_s"),
    )
    return row


def _figure(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _per_run(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [float(run[key]) for run in runs if run.get(key) is not None]


_SPEED_COLUMNS = (
    *(f"{key}_ns" for key in LATENCY_COLUMNS),
    "p50_ci_low_ns",
    "p50_ci_high_ns",
    "bytes_per_s",
    "msgs_per_s",
    "bytes_per_s_ci_low",
    "bytes_per_s_ci_high",
    "cpu_initiator_ns",
    "cpu_peer_ns",
)
FIGURE_COLUMNS = (*_SPEED_COLUMNS, "cv")  # the columns of figures: NaN where a cell has none
COLUMNS = (
    "file",
    "created",
    "label",
    "run_status",
    "run_id",
    "ipcbench_version",
    "schema_version",
    "machine",
    "cpu_model",
    "cores",
    "kernel",
    "python",
    "virtualization",
    "profile",
    "repeats",
    "placement",
    "cpu_idle",
    "transport",
    "variant",
    "impl",
    "mechanism",
    "tune",
    "workload",
    "size",
    "status",
    "reason",
    "remedy",
    *_SPEED_COLUMNS,
    "messages",
    "runs",
    "cv",
    "unstable",
    "run_p50_ns",
    "run_p99_ns",
    "run_bytes_per_s",
    "run_msgs_per_s",
)
