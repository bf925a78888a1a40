"""The native tier against an independent C loop, and the Python tier against both, in one sitting.

    make bench-ref            # builds bench/native_ref/ipcref, then runs this
    .venv/bin/python bench/native_vs_ref.py [--rounds 5] [--mechanisms pipe,posix-shm/spin]

For every mechanism: the p50 round trip at 64 B (median over rounds of each run's p50) and the stream rate
at 1 MiB (median over rounds), from three sources run back to back in each round, so drift touches all
three alike: the reference program (``bench/native_ref/ipcref``, its own objects and loops, sharing no code
with ipcbench), ipcbench ``impl=native`` and ipcbench ``impl=python`` (one run each, no calibration, the
same message counts). Everything is pinned across cores: initiator on the first usable CPU, peer on the
second, as ipcbench's default placement. Message queues cannot carry 1 MiB under the default limits: their
stream column uses the largest size the kernel allows here (said in the table).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
from pathlib import Path

from ipcbench.machine import read_limits
from ipcbench.plan import Cell, RunOptions, finalise, in_tier
from ipcbench.runner import Runner
from ipcbench.transports import REGISTRY, all_pairs, label

REFERENCE = Path(__file__).resolve().parent / "native_ref" / "ipcref"
CPUS = sorted(os.sched_getaffinity(0))[:2]
SMALL, LARGE = 64, 1 << 20


def counts(mechanism: str, workload: str) -> int:
    if workload == "pingpong":
        return 20_000 if mechanism.endswith("/spin") else 2_000
    return 300


def stream_size(name: str) -> int:
    """1 MiB, or the largest message this machine's queue limits allow (never clamped silently: shown)."""
    limits = read_limits()
    size = LARGE
    while REGISTRY[name].skip_reason(size, limits) is not None and size > 64:
        size //= 2
    return size


def reference(mechanism: str, workload: str, size: int, count: int) -> dict[str, float]:
    argv = [str(REFERENCE), mechanism, workload, str(size), str(count), str(CPUS[0]), str(CPUS[1])]
    return dict(json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout))


def ipcbench(runner: Runner, cell: Cell, count: int) -> dict[str, float]:
    run = runner.measure_run(cell, count, warmup=max(2, min(1000, count // 10)))
    samples = run["_samples"]
    p50 = float(sorted(samples)[len(samples) // 2]) if samples is not None else 0.0
    return {"p50_ns": p50, "bytes_per_s": run["bytes_per_s"]}


def one_round(runner: Runner, name: str, variant: str | None, sizes: dict[str, int]) -> dict[str, float]:
    mechanism, figures = label(name, variant), {}
    for workload, key in (("pingpong", "p50_ns"), ("stream", "bytes_per_s")):
        size, count = sizes[workload], counts(mechanism, workload)
        figures[f"ref {workload}"] = reference(mechanism, workload, size, count)[key]
        for impl in ("native", "python"):
            if not in_tier(impl, name, variant):
                continue
            figures[f"{impl} {workload}"] = ipcbench(
                runner, Cell(name, variant, workload, size, impl), count
            )[key]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mechanisms", help="comma list (default: every mechanism and variant)")
    args = parser.parse_args()
    pairs = [p for p in all_pairs() if in_tier("native", *p)]  # the mechanisms the reference covers
    if args.mechanisms:
        wanted = set(args.mechanisms.split(","))
        pairs = [p for p in pairs if label(*p) in wanted]
    runner = Runner(finalise(RunOptions(profile="quick", pin="cross", timeout_s=120)))
    print(f"{args.rounds} rounds, initiator on CPU {CPUS[0]}, peer on CPU {CPUS[1]}; medians over rounds")
    header = (
        "| mechanism | p50 RTT 64 B: ref C | native | native/ref | python | python-native | python/native "
    )
    header += "| stream size | stream ref C | native | native/ref | python | python/native |"
    print(header + "\n|" + "---|" * 14)
    for name, variant in pairs:
        sizes = {"pingpong": SMALL, "stream": stream_size(name)}
        rounds = [one_round(runner, name, variant, sizes) for _ in range(args.rounds)]
        med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        print(row(label(name, variant), med, sizes["stream"]), flush=True)


def row(mechanism: str, med: dict[str, float], stream_bytes: int) -> str:
    def us(ns: float | None) -> str:
        return "n/a" if ns is None else f"{ns / 1000:.2f} us"

    def mbs(rate: float | None) -> str:
        return "n/a" if rate is None else f"{rate / 1e6:,.0f} MB/s"

    def ratio(a: float | None, b: float | None) -> str:
        return "n/a" if a is None or b is None or not b else f"{a / b:.2f}x"

    ref_p, nat_p, py_p = med["ref pingpong"], med["native pingpong"], med.get("python pingpong")
    ref_s, nat_s, py_s = med["ref stream"], med["native stream"], med.get("python stream")
    extra = None if py_p is None else py_p - nat_p
    cells = [mechanism, us(ref_p), us(nat_p), ratio(nat_p, ref_p), us(py_p), us(extra), ratio(py_p, nat_p)]
    cells += [f"{stream_bytes // 1024} KiB", mbs(ref_s), mbs(nat_s), ratio(nat_s, ref_s), mbs(py_s)]
    cells.append(ratio(nat_s, py_s))
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    main()
