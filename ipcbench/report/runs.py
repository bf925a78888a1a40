"""Loaded result files as the report sees them: a run, its cells indexed by mechanism, size and workload.

Everything else in the report asks this module for figures ("the per-run p50s of posix-shm/spin pingpong
at 4K"), so the knowledge of the result file's layout lives in one place.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipcbench import store
from ipcbench.units import format_size

# Metric -> (workload it is measured by, key in a per-run summary).
METRICS = {
    "latency": ("pingpong", "p50_ns"),
    "p99": ("pingpong", "p99_ns"),
    "throughput": ("stream", "bytes_per_s"),
    "msgs": ("stream", "msgs_per_s"),
}

Key = tuple[str, str, int]  # (mechanism label, workload, size)
LAYERS = ("kernel", "library")


def cell_label(cell: dict[str, Any]) -> str:
    """``posix-shm/spin``, or ``pipe`` for a mechanism without variants; a tuned cell with its setting
    (``pipe[pipe_buffer=1M]``)."""
    from ipcbench.transports import cell_label as labelled

    return labelled(cell)


def size_text(size: int) -> str:
    """``64 B``, ``4K``, ``1M``: the CLI's size notation, with a unit on bare byte counts."""
    text = format_size(size)
    return f"{text} B" if text.isdigit() else text


# How the report and ``ipcbench verdicts`` name the tiers.
TIER_NAMES = {
    "native": "native tier (C loops over the same objects: the mechanism)",
    "python": "Python tier (the same loops in Python: what a Python program gets)",
}


@dataclass(frozen=True)
class Run:
    """One result file: where it came from, its document, and the ok cells of one tier (``impl``) by
    (label, workload, size). The tier is the Python one where the file has it (what the report's
    single-run sections show), else the native one; ``in_tier`` gives the other view of the same file."""

    path: Path
    document: dict[str, Any]
    tier: str = ""  # "python" or "native"; "" picks python if measured, else native
    cells: dict[Key, dict[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tier:
            object.__setattr__(
                self, "tier", "python" if "python" in self.tiers or not self.tiers else "native"
            )
        index = {
            (cell_label(c), c["workload"], c["size"]): c
            for c in store.iter_ok_cells(self.document)
            if c.get("impl", "python") == self.tier
        }
        object.__setattr__(self, "cells", index)

    @property
    def tiers(self) -> list[str]:
        """The tiers with measured cells in this file, Python first."""
        found = {c.get("impl", "python") for c in store.iter_ok_cells(self.document)}
        return [tier for tier in ("python", "native") if tier in found]

    @property
    def demonstrations(self) -> list[dict[str, Any]]:
        """The demonstration cells (``unsync``) of this tier: never among ``cells``, so never in a figure,
        comparison or verdict; claim 3 cites them."""
        return [c for c in store.iter_demonstrations(self.document) if c.get("impl", "python") == self.tier]

    def in_tier(self, tier: str) -> Run:
        """The same file seen through another tier's cells."""
        return self if tier == self.tier else Run(self.path, self.document, tier)

    @property
    def machine(self) -> str:
        return str(self.document["machine"]["name"])

    @property
    def created(self) -> str:
        return str(self.document["created"])

    @property
    def status(self) -> str:
        return str(self.document.get("status", "complete"))

    @property
    def partial(self) -> bool:
        return self.status != "complete"

    @property
    def when(self) -> str:
        """``2026-11-26T14:00:00Z label``: the run among the runs of its machine."""
        label = self.document.get("label")
        return f"{self.created} {label}" if label else self.created

    @property
    def title(self) -> str:
        """``machine 2026-11-26T14:00:00Z label``: how a run is named in legends and tables."""
        label = self.document.get("label")
        return " ".join(part for part in (self.machine, self.created, label) if part)

    def cell(self, label: str, workload: str, size: int) -> dict[str, Any] | None:
        return self.cells.get((label, workload, size))

    def labels(self, workload: str | None = None) -> set[str]:
        return {key[0] for key in self.cells if workload in (None, key[1])}

    def sizes(self, workload: str | None = None) -> list[int]:
        return sorted({key[2] for key in self.cells if workload in (None, key[1])})

    def layer(self, label: str) -> str:
        """``kernel`` or ``library``, as the run recorded it; files from before layers were recorded held
        only kernel-layer mechanisms."""
        info = (self.document["config"].get("mechanisms") or {}).get(label.split("/")[0])
        layer = info.get("layer") if isinstance(info, dict) else None
        return layer if layer in LAYERS else "kernel"

    def only_layer(self, layer: str) -> Run:
        """This run with only the cells of one layer (the claims judge the kernel layer alone)."""
        cells = [c for c in self.document["cells"] if self.layer(cell_label(c)) == layer]
        return Run(self.path, {**self.document, "cells": cells}, self.tier)

    def values(self, label: str, metric: str, size: int) -> list[float] | None:
        """The per-run figures of one cell for a metric, or None when the cell was not measured."""
        workload, key = METRICS[metric]
        cell = self.cell(label, workload, size)
        if cell is None:
            return None
        values = [run.get(key) for run in cell["runs"]]
        found = [float(v) for v in values if isinstance(v, int | float) and v > 0]
        return found or None


def load_runs(paths: Iterable[Path]) -> list[Run]:
    """Every result file named, or below a named folder, once each, oldest first by creation time; other
    JSON files beside results are passed over, as in compare and history (``ResultFileError`` on the first
    bad result file)."""
    from ipcbench.frames import collect

    return [Run(path, _printable(document)) for path, document in collect(paths)]


def _printable(value: Any) -> Any:
    """The document with every string UTF-8 can encode: a JSON ``\udcff`` escape (an undecodable byte of a
    host name or label) becomes the text ``\udcff``, which the page, its figures and the file can hold."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {key: _printable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_printable(item) for item in value]
    return value


def newest_per_machine(runs: list[Run]) -> list[Run]:
    """The latest run of each machine, in order of first appearance: what verdicts and comparisons use."""
    latest: dict[str, Run] = {}
    for run in runs:
        latest[run.machine] = run
    return list(latest.values())


def _run_cpu(run: dict[str, Any]) -> float | None:
    cpu = run.get("cpu_ns_per_msg") or {}
    parts = [cpu.get("initiator"), cpu.get("peer")]
    numbers = [float(p) for p in parts if isinstance(p, int | float)]
    return sum(numbers) if len(numbers) == len(parts) else None


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def cores_busy(cell: dict[str, Any]) -> float | None:
    """CPUs kept busy by the pair while the cell ran: CPU time per message times messages per second.

    A spinning pair shows about 2.0 (each side burns a core while it waits); a blocking pair far less.
    The median over runs, so one run slowed down by another program does not make up a figure.
    """
    per_run = [
        (cpu, run["msgs_per_s"]) for run in cell.get("runs") or [] if (cpu := _run_cpu(run)) is not None
    ]
    return _median([cpu * rate / 1e9 for cpu, rate in per_run])


def cpu_per_message(cell: dict[str, Any]) -> float | None:
    """CPU nanoseconds per message, both sides together (per round trip for pingpong); median over runs."""
    return _median([cpu for run in cell.get("runs") or [] if (cpu := _run_cpu(run)) is not None])
