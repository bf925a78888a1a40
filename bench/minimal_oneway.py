"""Trust for the ``oneway`` workload: its legs against the smallest hand-written one-way loop over a pipe,
and against ipcbench's own pingpong (RTT/2), measured in the same sitting, alternating round by round.

    .venv/bin/python bench/minimal_oneway.py [--rounds 5] [--count 20000] [--size 64]

The minimal loop shares no code with ipcbench: two forked processes pinned across cores, one pipe per
direction, the sender packs ``clock_gettime_ns(CLOCK_MONOTONIC)`` into the first 8 bytes just before
``write``, the receiver reads the clock right after ``read`` returns the whole message. It prints the
median over rounds of each run's p50: forward and back legs of both, and ipcbench's RTT/2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import time

import numpy as np

from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner

CPUS = sorted(os.sched_getaffinity(0))[:2]
STAMP = struct.Struct("<q")


def _read_all(fd: int, buf: bytearray) -> None:
    view, got = memoryview(buf), 0
    while got < len(buf):
        n = os.readv(fd, (view[got:],))
        if n == 0:
            raise EOFError
        got += n


def _legs(read_fd: int, write_fd: int, buf: bytearray, count: int, first: bool) -> np.ndarray:
    """``count`` round trips; returns the legs this side received (the way back for the first side)."""
    clock, mono, write = time.clock_gettime_ns, time.CLOCK_MONOTONIC, os.write
    legs = np.zeros(count, dtype=np.int64)
    for index in range(count):
        if first:
            STAMP.pack_into(buf, 0, clock(mono))
            write(write_fd, buf)
        _read_all(read_fd, buf)
        legs[index] = clock(mono) - STAMP.unpack_from(buf, 0)[0]
        if not first:
            STAMP.pack_into(buf, 0, clock(mono))
            write(write_fd, buf)
    return legs


def minimal_pipe(count: int, size: int) -> tuple[float, float]:
    """(forward p50, back p50) of the hand-written loop."""
    to_peer, to_me, report = os.pipe(), os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.sched_setaffinity(0, {CPUS[1]})
            forward = _legs(to_peer[0], to_me[1], bytearray(size), count, first=False)
            os.write(report[1], struct.pack("<d", float(np.median(forward))))
        finally:
            os._exit(0)
    back = _legs(to_me[0], to_peer[1], bytearray(size), count, first=True)
    forward_p50 = struct.unpack("<d", os.read(report[0], 8))[0]
    os.waitpid(pid, 0)
    for fd in (*to_peer, *to_me, *report):
        os.close(fd)
    return forward_p50, float(np.median(back))


def ipcbench_legs(runner: Runner, count: int, size: int) -> tuple[float, float, float]:
    """(forward p50, back p50, RTT/2 p50) from ipcbench's oneway and pingpong runs over a pipe."""
    oneway = runner.measure_run(Cell("pipe", None, "oneway", size), count=count, warmup=1000)
    pingpong = runner.measure_run(Cell("pipe", None, "pingpong", size), count=count, warmup=1000)
    return (
        float(np.median(oneway.samples)),
        float(np.median(oneway.back_samples)),
        float(np.median(pingpong.samples)) / 2,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    runner = Runner(finalise(RunOptions(pin="cross")))
    os.sched_setaffinity(0, {CPUS[0]})
    minimal, ours = [], []
    for _ in range(args.rounds):
        minimal.append(minimal_pipe(args.count, args.size))
        ours.append(ipcbench_legs(runner, args.count, args.size))
    mf, mb = (statistics.median(column) for column in zip(*minimal, strict=True))
    of, ob, half = (statistics.median(column) for column in zip(*ours, strict=True))
    print(f"pipe, {args.size} B, {args.rounds} rounds of {args.count} round trips, pinned across CPUs {CPUS}")
    print(f"{'':24} {'forward p50':>12} {'back p50':>10}")
    print(f"{'minimal loop':24} {mf:10.0f}ns {mb:8.0f}ns")
    print(
        f"{'ipcbench oneway':24} {of:10.0f}ns {ob:8.0f}ns   "
        f"({100 * (of - mf) / mf:+.1f}% / {100 * (ob - mb) / mb:+.1f}%)"
    )
    print(f"{'ipcbench pingpong RTT/2':24} {half:10.0f}ns")


if __name__ == "__main__":
    main()
