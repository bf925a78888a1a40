"""Harness fidelity for the library layer: ipcbench's pingpong over ``multiprocessing.Pipe``,
``multiprocessing.Queue`` and pyzmq PAIR against the smallest hand-written loop over the same library, in
the same sitting, alternating so drift touches both alike.

    .venv/bin/python bench/minimal_library.py [--rounds 5] [--count 5000] [--size 64]

Each minimal loop does only what a user's ping-pong must: send the message, receive the echo into a
buffer, read the clock twice; the echoing side is a forked child pinned to the other CPU, like ipcbench's
default placement. Prints the p50 round trip of each (median over rounds of the per-run p50).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable

import numpy as np
from minimal_pingpong import _forked, _timed, side_by_side

FORK = multiprocessing.get_context("fork")


def minimal_mp_pipe(count: int, size: int) -> float:
    mine, theirs = FORK.Pipe()

    def echo() -> None:
        buf = bytearray(size)
        for _ in range(count):
            theirs.recv_bytes_into(buf)
            theirs.send_bytes(buf)

    pid = _forked(echo)
    message, buf = bytearray(os.urandom(size)), bytearray(size)

    def loop(samples: np.ndarray) -> None:
        clock, send, recv = time.perf_counter_ns, mine.send_bytes, mine.recv_bytes_into
        for i in range(count):
            start = clock()
            send(message)
            recv(buf)
            samples[i] = clock() - start

    result = _timed(loop, count)
    os.waitpid(pid, 0)
    mine.close()
    theirs.close()
    return result


def minimal_mp_queue(count: int, size: int) -> float:
    to_peer, to_me = FORK.Queue(), FORK.Queue()

    def echo() -> None:
        for _ in range(count):
            to_me.put(to_peer.get())
        to_me.close()
        to_me.join_thread()

    pid = _forked(echo)
    message, buf = bytearray(os.urandom(size)), bytearray(size)

    def loop(samples: np.ndarray) -> None:
        clock, put, get = time.perf_counter_ns, to_peer.put, to_me.get
        for i in range(count):
            start = clock()
            put(bytes(message))
            buf[:] = get()
            samples[i] = clock() - start

    result = _timed(loop, count)
    os.waitpid(pid, 0)
    for queue in (to_peer, to_me):
        queue.close()
        queue.join_thread()
    return result


def minimal_zmq(count: int, size: int) -> float:
    import zmq

    with tempfile.TemporaryDirectory(prefix="ipcz-") as folder:
        address = f"ipc://{folder}/z"

        def echo() -> None:
            context = zmq.Context()
            sock = context.socket(zmq.PAIR)
            sock.connect(address)
            buf = bytearray(size)
            for _ in range(count):
                sock.recv_into(buf)
                sock.send(buf)
            sock.close(linger=2000)
            context.term()

        context = zmq.Context()
        sock = context.socket(zmq.PAIR)
        sock.bind(address)
        pid = _forked(echo)
        message, buf = bytearray(os.urandom(size)), bytearray(size)

        def loop(samples: np.ndarray) -> None:
            clock, send, recv = time.perf_counter_ns, sock.send, sock.recv_into
            for i in range(count):
                start = clock()
                send(message)
                recv(buf)
                samples[i] = clock() - start

        result = _timed(loop, count)
        os.waitpid(pid, 0)
        sock.close()
        context.term()
    return result


MINIMAL: dict[str, Callable[[int, int], float]] = {
    "mp-pipe": minimal_mp_pipe,
    "mp-queue": minimal_mp_queue,
    "zmq": minimal_zmq,
}


if __name__ == "__main__":
    side_by_side(MINIMAL, __doc__ or "", 5000)
