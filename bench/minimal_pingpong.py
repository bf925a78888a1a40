"""Harness fidelity: ipcbench's pingpong against the smallest hand-written Python loop over the same kernel
mechanism, measured in the same sitting, alternating so drift touches both alike.

    .venv/bin/python bench/minimal_pingpong.py [--rounds 5] [--count 20000] [--size 64] [--cpu-idle poll]

For pipe, unix and posix-shm/spin it prints the p50 round trip of each (median over rounds of the per-run
p50) and the difference. The minimal loops do only what any ping-pong must: write the message, read the
echo, read the clock twice; both sides pinned across cores like ipcbench's default placement.
"""

from __future__ import annotations

import argparse
import mmap
import os
import socket
import statistics
import time
from collections.abc import Callable

import numpy as np
import posix_ipc

from ipcbench import idle
from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner

CPUS = sorted(os.sched_getaffinity(0))[:2]


def _forked(child: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        os.sched_setaffinity(0, {CPUS[1]})
        try:
            child()
        finally:
            os._exit(0)
    return pid


def _timed(loop: Callable[[np.ndarray], None], count: int) -> float:
    samples = np.zeros(count, dtype=np.int64)
    loop(samples)
    return float(np.median(samples))


def minimal_pipe(count: int, size: int) -> float:
    to_peer, to_me = os.pipe(), os.pipe()

    def echo() -> None:
        buf = bytearray(size)
        for _ in range(count):
            os.readv(to_peer[0], (buf,))
            os.write(to_me[1], buf)

    pid = _forked(echo)
    message, buf = bytearray(os.urandom(size)), bytearray(size)

    def loop(samples: np.ndarray) -> None:
        clock, write, readv, w, r = time.perf_counter_ns, os.write, os.readv, to_peer[1], to_me[0]
        for i in range(count):
            start = clock()
            write(w, message)
            readv(r, (buf,))
            samples[i] = clock() - start

    result = _timed(loop, count)
    os.waitpid(pid, 0)
    for fd in (*to_peer, *to_me):
        os.close(fd)
    return result


def minimal_unix(count: int, size: int) -> float:
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def echo() -> None:
        buf = bytearray(size)
        for _ in range(count):
            theirs.recv_into(buf, 0, socket.MSG_WAITALL)
            theirs.sendall(buf)

    pid = _forked(echo)
    message, buf = bytearray(os.urandom(size)), bytearray(size)

    def loop(samples: np.ndarray) -> None:
        clock, send, recv = time.perf_counter_ns, mine.sendall, mine.recv_into
        for i in range(count):
            start = clock()
            send(message)
            recv(buf, 0, socket.MSG_WAITALL)
            samples[i] = clock() - start

    result = _timed(loop, count)
    os.waitpid(pid, 0)
    mine.close()
    theirs.close()
    return result


def minimal_posix_shm_spin(count: int, size: int) -> float:
    shm = posix_ipc.SharedMemory(
        f"/ipcbench-minimal-{os.getpid()}", posix_ipc.O_CREX, mode=0o600, size=256 + 2 * size
    )
    mapping = mmap.mmap(shm.fd, shm.size)
    shm.close_fd()
    try:
        mv = memoryview(mapping)
        flags = mv[:256].cast("q")  # [0]: messages to peer, [8]: echoes back
        to_peer, to_me = mv[256 : 256 + size], mv[256 + size : 256 + 2 * size]

        def echo() -> None:
            buf = bytearray(size)
            for i in range(1, count + 1):
                while flags[0] < i:
                    pass
                buf[:] = to_peer
                to_me[:] = buf
                flags[8] = i

        pid = _forked(echo)
        message, buf = bytearray(os.urandom(size)), bytearray(size)

        def loop(samples: np.ndarray) -> None:
            clock = time.perf_counter_ns
            for i in range(count):
                start = clock()
                to_peer[:] = message
                flags[0] = i + 1
                while flags[8] <= i:
                    pass
                buf[:] = to_me
                samples[i] = clock() - start

        result = _timed(loop, count)
        os.waitpid(pid, 0)
        for view in (flags, to_peer, to_me, mv):
            view.release()
        mapping.close()
    finally:
        shm.unlink()
    return result


MINIMAL = {"pipe": minimal_pipe, "unix": minimal_unix, "posix-shm/spin": minimal_posix_shm_spin}


def ipcbench_p50(runner: Runner, mechanism: str, count: int, size: int) -> float:
    name, _, variant = mechanism.partition("/")
    run = runner.measure_run(Cell(name, variant or None, "pingpong", size), count=count, warmup=1000)
    return float(np.median(run["_samples"]))


def side_by_side(loops: dict[str, Callable[[int, int], float]], description: str, count: int) -> None:
    """Parse the options, then run each minimal loop and ipcbench alternately and print both p50s."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=count)
    parser.add_argument("--size", type=int, default=64)
    idle.add_option(parser)
    args = parser.parse_args()
    runner = Runner(finalise(RunOptions(pin="cross")))
    os.sched_setaffinity(0, {CPUS[0]})
    print(f"CPU idle: {args.cpu_idle}")
    print(f"{'mechanism':16} {'minimal p50':>12} {'ipcbench p50':>13} {'difference':>10}")
    with idle.held_or_exit(args.cpu_idle):  # both sides of every round under the same policy
        for mechanism, minimal in loops.items():
            mine, theirs = [], []
            for _ in range(args.rounds):
                mine.append(minimal(args.count, args.size))
                theirs.append(ipcbench_p50(runner, mechanism, args.count, args.size))
            m, t = statistics.median(mine), statistics.median(theirs)
            print(f"{mechanism:16} {m:10.0f}ns {t:11.0f}ns {100 * (t - m) / m:+9.1f}%", flush=True)


if __name__ == "__main__":
    side_by_side(MINIMAL, __doc__ or "", 20000)
