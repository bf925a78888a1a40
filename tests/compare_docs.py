"""Hand-made result documents with known answers, for the compare, history, export and frame tests.

A cell is given by its per-run figures (p50 of each run for pingpong, bytes/s of each run for stream);
everything else a result file holds is derived from them, and every document is validated by
``store.validate``, so the tests only see documents that the real loader accepts.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np

from ipcbench import stats, store

MECHANISMS = (
    "pipe",
    "fifo",
    "unix",
    "tcp",
    "sysv-shm/sem",
    "sysv-shm/spin",
    "posix-shm/sem",
    "posix-shm/spin",
)
# Per-run spread shared by every cell: +-1%, so 3 runs against 3 runs separate only on a real shift.
SPREAD = (1.0, 1.01, 0.99)


def _split(mechanism: str) -> tuple[str, str | None]:
    transport, _, variant = mechanism.partition("/")
    return transport, variant or None


def _run(size: int, seconds_per_message: float, p50: float | None) -> dict[str, Any]:
    messages = 1000
    run: dict[str, Any] = {
        "messages": messages,
        "elapsed_ns": messages * seconds_per_message * 1e9,
        "bytes_per_s": size / seconds_per_message,
        "msgs_per_s": 1 / seconds_per_message,
        "cpu_ns_per_msg": {"initiator": 500.0, "peer": 500.0},
        "cpus": {"initiator": 0, "peer": 1},
    }
    if p50 is not None:
        run.update(p50_ns=p50, p99_ns=p50 * 1.5)
    return run


def pingpong(mechanism: str, size: int, p50s: list[float], unstable: bool = False) -> dict[str, Any]:
    transport, variant = _split(mechanism)
    runs = [_run(size, p50 / 1e9, p50) for p50 in p50s]
    median = float(np.median(p50s))
    latency = {
        "p50": median,
        "p90": median * 1.2,
        "p99": median * 1.5,
        "p999": median * 3,
        "min": min(p50s) * 0.9,
        "max": median * 10,
        "mean": median * 1.1,
        "stdev": median * 0.1,
        "ci95_p50": [min(p50s), max(p50s)],
    }
    return _cell(transport, variant, "pingpong", size, runs, latency, unstable)


def stream(mechanism: str, size: int, rates: list[float], unstable: bool = False) -> dict[str, Any]:
    transport, variant = _split(mechanism)
    runs = [_run(size, size / rate, None) for rate in rates]
    return _cell(transport, variant, "stream", size, runs, None, unstable)


def _cell(
    transport: str,
    variant: str | None,
    workload: str,
    size: int,
    runs: list[dict[str, Any]],
    latency: dict[str, Any] | None,
    unstable: bool,
) -> dict[str, Any]:
    rates = [run["bytes_per_s"] for run in runs]
    messages = [run["msgs_per_s"] for run in runs]
    return {
        "transport": transport,
        "variant": variant,
        "workload": workload,
        "size": size,
        "impl": "python",
        "status": "ok",
        "reason": None,
        "remedy": None,
        "latency_ns": latency,
        "throughput": stats.throughput_summary(rates, messages),
        "cpu_ns_per_msg": {"initiator": 500.0, "peer": 500.0},
        "messages": sum(run["messages"] for run in runs),
        "runs": runs,
        "histogram": None,
        "params": {"wait": "block", "slots": None},
        "cv": 0.01,
        "unstable": unstable,
    }


def not_measured(mechanism: str, workload: str, size: int, status: str, reason: str) -> dict[str, Any]:
    transport, variant = _split(mechanism)
    return {
        "transport": transport,
        "variant": variant,
        "workload": workload,
        "size": size,
        "impl": "python",
        "status": status,
        "reason": reason,
        "remedy": None,
    }


def document(
    cells: list[dict[str, Any]],
    machine: str = "m1",
    created: str = "2026-11-26T14:00:00Z",
    profile: str = "quick",
    cpu_model: str = "Test CPU",
    label: str | None = None,
) -> dict[str, Any]:
    doc = {
        "schema_version": store.SCHEMA_VERSION,
        "ipcbench_version": "0.1.0",
        "created": created,
        "finished": created,
        "label": label,
        "status": "complete",
        "run_id": "0123456789ab",
        "machine": {
            "name": machine,
            "cpu_model": cpu_model,
            "cores": 2,
            "smt": False,
            "kernel": "6.1.0",
            "python": "3.11.7",
            "virtualization": "none",
            "clocksource": "tsc",
            "governor": None,
            "limits": {},
            "packages": {},
        },
        "config": {"profile": profile, "repeats": 3, "placement": "cross-core", "transports": []},
        "cells": cells,
    }
    store.validate(doc, "hand-made document")
    return doc


def grid(
    factor: dict[tuple[str, str, int], float] | None = None,
    sizes: tuple[int, ...] = (64, 4096),
    base_ns: float = 10_000.0,
    base_rate: float = 1e9,
) -> list[dict[str, Any]]:
    """Every mechanism, pingpong and stream, at each size, runs spread by SPREAD. ``factor`` slows named
    cells: (mechanism, workload, size) -> factor (latency times it, throughput divided by it)."""
    factor = factor or {}
    cells = []
    for size in sizes:
        for mechanism in MECHANISMS:
            slow = factor.get((mechanism, "pingpong", size), 1.0)
            cells.append(pingpong(mechanism, size, [base_ns * s * slow for s in SPREAD]))
        for mechanism in MECHANISMS:
            slow = factor.get((mechanism, "stream", size), 1.0)
            cells.append(stream(mechanism, size, [base_rate * s / slow for s in SPREAD]))
    return cells


def scaled(doc: dict[str, Any], factors: list[float]) -> dict[str, Any]:
    """A copy with cell i's runs slowed by factors[i % len(factors)] (a different session's noise)."""
    result = copy.deepcopy(doc)
    for index, cell in enumerate(c for c in result["cells"] if c["status"] == "ok"):
        factor = factors[index % len(factors)]
        for run in cell["runs"]:
            if "p50_ns" in run:
                run["p50_ns"] *= factor
                run["p99_ns"] *= factor
            run["bytes_per_s"] /= factor
            run["msgs_per_s"] /= factor
    return result


def write(doc: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path
