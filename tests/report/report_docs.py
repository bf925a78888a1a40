"""Hand-made result documents with known answers, for the report's tests.

A cell is described by its per-run figures (the p50 of each run for pingpong, bytes/s of each run for
stream); everything else a valid result file holds is derived from them, and every document goes through
``store.parse`` so the tests only ever see files the real loader accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ipcbench import stats, store
from ipcbench.report.runs import Run

PIPES_AND_SOCKETS = ("pipe", "fifo", "unix", "tcp")
QUEUES = ("sysv-mq", "posix-mq")
SHARED = ("sysv-shm/sem", "sysv-shm/spin", "posix-shm/sem", "posix-shm/spin")


def _split(label: str) -> tuple[str, str | None]:
    transport, _, variant = label.partition("/")
    return transport, variant or None


def _wait(variant: str | None) -> str:
    return "spin" if variant == "spin" else "block"


def pingpong(
    label: str, size: int, p50s: list[float], busy_per_side: float | None = None, impl: str = "python"
) -> dict[str, Any]:
    """A pingpong cell whose runs have these p50 round trips (ns). ``busy_per_side``: CPU share of each
    process (1.0 for a spinning side; default: 1.0 when spinning, 0.4 otherwise)."""
    transport, variant = _split(label)
    busy = busy_per_side if busy_per_side is not None else (1.0 if variant == "spin" else 0.4)
    median = float(np.median(p50s))
    samples = np.concatenate([np.full(98, p) for p in p50s] + [np.array([median * 2, median * 10])])
    runs = [_run(1e9 / p, size, busy * p, p) for p in p50s]
    return {
        "transport": transport,
        "variant": variant,
        "workload": "pingpong",
        "size": size,
        "impl": impl,
        "status": "ok",
        "reason": None,
        "remedy": None,
        "latency_ns": stats.latency_summary(samples, p50s),
        "throughput": _throughput(runs),
        "cpu_ns_per_msg": {"initiator": busy * median, "peer": busy * median},
        "messages": sum(r["messages"] for r in runs),
        "runs": runs,
        "histogram": stats.encode_histogram(samples),
        "params": {"wait": _wait(variant), "slots": None},
        "cv": stats.coefficient_of_variation(p50s),
        "unstable": False,
    }


def stream(label: str, size: int, rates: list[float], impl: str = "python") -> dict[str, Any]:
    """A stream cell whose runs moved these bytes per second."""
    transport, variant = _split(label)
    runs = [_run(rate / size, size, 0.5e9 * size / rate, None) for rate in rates]
    return {
        "transport": transport,
        "variant": variant,
        "workload": "stream",
        "size": size,
        "impl": impl,
        "status": "ok",
        "reason": None,
        "remedy": None,
        "latency_ns": None,
        "throughput": _throughput(runs),
        "cpu_ns_per_msg": {"initiator": 1000.0, "peer": 1000.0},
        "messages": sum(r["messages"] for r in runs),
        "runs": runs,
        "histogram": None,
        "params": {"wait": _wait(variant), "slots": None},
        "cv": stats.coefficient_of_variation(rates),
        "unstable": False,
    }


def _run(msgs_per_s: float, size: int, cpu_ns: float, p50: float | None) -> dict[str, Any]:
    run: dict[str, Any] = {
        "messages": 1000,
        "elapsed_ns": int(1000 * 1e9 / msgs_per_s),
        "msgs_per_s": msgs_per_s,
        "bytes_per_s": msgs_per_s * size,
        "cpu_ns_per_msg": {"initiator": cpu_ns, "peer": cpu_ns},
        "cpus": {"initiator": 0, "peer": 1},
    }
    if p50 is not None:
        run.update(p50_ns=p50, p99_ns=p50 * 2)
    return run


def _throughput(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return stats.throughput_summary([r["bytes_per_s"] for r in runs], [r["msgs_per_s"] for r in runs])


def skipped(
    label: str,
    workload: str,
    size: int,
    reason: str = "too big here",
    remedy: str | None = "sysctl -w kernel.msgmax=1048576",
    impl: str = "python",
) -> dict[str, Any]:
    transport, variant = _split(label)
    return {
        "transport": transport,
        "variant": variant,
        "workload": workload,
        "size": size,
        "impl": impl,
        "status": "skipped",
        "reason": reason,
        "remedy": remedy,
    }


def document(
    cells: list[dict[str, Any]],
    machine: str = "box",
    created: str = "2026-01-01T00:00:00Z",
    label: str | None = None,
    status: str = "complete",
    placement: str = "cross-core",
) -> dict[str, Any]:
    """A whole, valid result document around ``cells``."""
    return store.parse(
        json.dumps(
            {
                "schema_version": store.SCHEMA_VERSION,
                "ipcbench_version": "0.1.0",
                "created": created,
                "label": label,
                "status": status,
                "machine": {
                    "name": machine,
                    "cpu_model": "Test CPU",
                    "cores": 2,
                    "kernel": "6.0",
                    "limits": {"msgmax": 8192, "mq_msgsize_max": 8192},
                },
                "config": {
                    "profile": "quick",
                    "repeats": 3,
                    "budget_s": 0.02,
                    "placement": placement,
                    "transports": sorted(
                        {c["transport"] + (f"/{c['variant']}" if c["variant"] else "") for c in cells}
                    ),
                    "sizes": sorted({c["size"] for c in cells}),
                    "workloads": ["pingpong", "stream"],
                    "harness_overhead_ns": {"timer_ns": 100.0, "loop_p50_ns": 300.0},
                },
                "cells": cells,
            }
        )
    )


def run_of(doc: dict[str, Any], name: str = "memory.json") -> Run:
    return Run(Path(name), doc)


def save(doc: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def around(value: float, spread: float = 0.01) -> list[float]:
    """Three per-run figures tightly around ``value`` (a precise cell)."""
    return [value * (1 - spread), value, value * (1 + spread)]


def full_run(
    shm_speedup: float = 5.0,
    sem_speedup: float = 1.0,
    sizes: tuple[int, ...] = (64, 4096, 1 << 20),
    **kwargs: Any,
) -> dict[str, Any]:
    """Every mechanism at every size. Spinning shared memory is ``shm_speedup`` times faster than the
    others (latency and throughput), semaphore shared memory ``sem_speedup`` times; queues skip 1M."""
    cells = []
    for size in sizes:
        base_latency, base_rate = 10_000.0 + size / 100, 1e8 + size * 1000.0
        for label in PIPES_AND_SOCKETS + SHARED + QUEUES:
            if label in QUEUES and size > 8192:
                cells += [skipped(label, "pingpong", size), skipped(label, "stream", size)]
                continue
            factor = shm_speedup if label.endswith("spin") else sem_speedup if label.endswith("sem") else 1.0
            cells.append(pingpong(label, size, around(base_latency / factor)))
            cells.append(stream(label, size, around(base_rate * factor)))
    return document(cells, **kwargs)


def small_run(**kwargs: Any) -> dict[str, Any]:
    """Three mechanisms at two sizes: enough for every section, quick to draw."""
    cells = []
    for size in (64, 4096):
        for label, factor in (("pipe", 1.0), ("posix-shm/sem", 1.0), ("posix-shm/spin", 5.0)):
            cells.append(pingpong(label, size, around(10_000.0 / factor)))
            cells.append(stream(label, size, around(1e8 * factor)))
    return document(cells, **kwargs)
