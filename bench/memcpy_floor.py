"""Shared-memory stream throughput next to a plain memory copy of the same size, in the same sitting.

    .venv/bin/python bench/memcpy_floor.py [--size 1M] [--rounds 5]

A shared-memory stream copies every message twice (sender's buffer into a slot, slot into the receiver's
buffer), on two cores in parallel, and the receiver also compares every byte with the expected content
(``--verify-every 1``, the default contract). The memory copy is one ``bytearray`` slice assignment of the
same size, in one process, source and destination reused (so in cache when they fit), like the slots.
"""

from __future__ import annotations

import argparse
import statistics
import time

from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner
from ipcbench.units import format_rate, parse_size


def memcpy_rate(size: int, seconds: float = 0.2) -> float:
    source, target = bytearray(size), bytearray(size)
    source[:] = bytes(range(256)) * (size // 256) + bytes(size % 256)
    copies = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(16):
            target[:] = source
        copies += 16
    return copies * size / (time.perf_counter() - start)


def stream_rate(mechanism: str, size: int, verify_every: int, count: int) -> float:
    name, _, variant = mechanism.partition("/")
    runner = Runner(finalise(RunOptions(pin="cross", verify_every=verify_every)))
    run = runner.measure_run(Cell(name, variant or None, "stream", size), count=count, warmup=20)
    return float(run["bytes_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1M")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=400)
    args = parser.parse_args()
    size = parse_size(args.size)
    rows: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        rows.setdefault("memcpy (one copy, one core)", []).append(memcpy_rate(size))
        for mechanism in ("posix-shm/spin", "posix-shm/sem", "pipe"):
            for every in (1, 16):
                label = f"{mechanism} stream, full check every {every}"
                rows.setdefault(label, []).append(stream_rate(mechanism, size, every, args.count))
    for label, rates in rows.items():
        print(f"{label:45} {format_rate(statistics.median(rates)):>12}  (median of {len(rates)})")


if __name__ == "__main__":
    main()
