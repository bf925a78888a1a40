"""Trust for the ``openloop`` workload: its corrected and uncorrected latency against the smallest
hand-written open loop over a pipe, at the same offered rates, in one sitting, alternating round by round.

    .venv/bin/python bench/minimal_openloop.py [--rounds 3] [--count 5000] [--size 64] [--rates 5000,20000]

The minimal loop shares no code with ipcbench: two forked processes pinned across cores, one pipe; the
sender spins on ``clock_gettime_ns(CLOCK_MONOTONIC)`` until message ``i``'s intended time
``start + i / rate``, notes the actual time and writes; the receiver reads each whole message and notes
the clock. Corrected latency is arrival minus intended time, uncorrected arrival minus actual send time.
It prints, per rate, the median over rounds of each run's p50 and p99, both ways, for both loops.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner

CPUS = sorted(os.sched_getaffinity(0))[:2]


def _receive(fd: int, size: int, count: int) -> np.ndarray:
    clock, mono, arrivals = time.clock_gettime_ns, time.CLOCK_MONOTONIC, np.zeros(count, dtype=np.int64)
    buf = bytearray(size)
    view = memoryview(buf)
    for index in range(count):
        got = 0
        while got < size:
            n = os.readv(fd, (view[got:],))
            if n == 0:
                raise EOFError
            got += n
        arrivals[index] = clock(mono)
    return arrivals


def _send(fd: int, size: int, count: int, interval: int, start: int) -> np.ndarray:
    clock, mono, sends = time.clock_gettime_ns, time.CLOCK_MONOTONIC, np.zeros(count, dtype=np.int64)
    message = bytes(size)
    for index in range(count):
        intended = start + index * interval
        now = clock(mono)
        while now < intended:
            now = clock(mono)
        os.write(fd, message)
        sends[index] = now
    return sends


def minimal_pipe(count: int, size: int, rate: float) -> tuple[float, float, float, float]:
    """(corrected p50, p99, uncorrected p50, p99) of the hand-written loop."""
    data, report = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.sched_setaffinity(0, {CPUS[1]})
            arrivals = _receive(data[0], size, count)
            os.write(report[1], arrivals.tobytes())
        finally:
            os._exit(0)
    interval = round(1e9 / rate)
    start = time.clock_gettime_ns(time.CLOCK_MONOTONIC) + 1_000_000
    sends = _send(data[1], size, count, interval, start)
    raw = b""
    while len(raw) < 8 * count:
        raw += os.read(report[0], 8 * count - len(raw))
    os.waitpid(pid, 0)
    for fd in (*data, *report):
        os.close(fd)
    arrivals = np.frombuffer(raw, dtype=np.int64)
    corrected = arrivals - (start + interval * np.arange(count, dtype=np.int64))
    uncorrected = arrivals - sends
    return _p50_p99(corrected) + _p50_p99(uncorrected)


def _p50_p99(samples: np.ndarray) -> tuple[float, float]:
    p50, p99 = np.percentile(samples, [50, 99])
    return float(p50), float(p99)


def ipcbench_pipe(runner: Runner, count: int, size: int, rate: float) -> tuple[float, float, float, float]:
    run = runner.measure_run(Cell("pipe", None, "openloop", size), count=count, warmup=100, rate=rate)
    return _p50_p99(run.samples) + _p50_p99(run.uncorrected)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rates", default="5000,20000")
    args = parser.parse_args()
    runner = Runner(finalise(RunOptions(pin="cross")))
    os.sched_setaffinity(0, {CPUS[0]})
    print(f"pipe, {args.size} B, {args.rounds} rounds of {args.count} messages, pinned across CPUs {CPUS}")
    print(f"{'rate /s':>9} {'loop':16} {'corr p50':>10} {'corr p99':>10} {'unc p50':>10} {'unc p99':>10}")
    for rate in (float(text) for text in args.rates.split(",")):
        minimal, ours = [], []
        for _ in range(args.rounds):
            minimal.append(minimal_pipe(args.count, args.size, rate))
            ours.append(ipcbench_pipe(runner, args.count, args.size, rate))
        for name, rows in (("minimal", minimal), ("ipcbench", ours)):
            figures = [statistics.median(column) for column in zip(*rows, strict=True)]
            print(f"{rate:9.0f} {name:16} " + " ".join(f"{value / 1000:8.1f}us" for value in figures))


if __name__ == "__main__":
    main()
