"""Drawing the report's figures on every core, while the page's other work goes on.

The one-run and comparison figures need nothing but the loaded runs; the Trends figures need the history
(change points over every file, seconds over a thousand files). So the first are started before the
history is built: ``Drawing`` forks a drawer per spare core at once, and the caller builds the history
meanwhile, on the core left. ``finish`` then draws the later figures, in the calling process and in
drawers forked then (they inherit the history), and every drawer done with those takes what is left of
the first ones. A figure is drawn once, by whoever is free: the figures to draw are indices in a pipe,
and a read of one index is atomic. Drawers send back only the SVG text. With one core everything is drawn
in the calling process, in order. The history's change points are found the same way (``report.command``).

Drawers are forked processes, never threads: matplotlib's drawing is Python, and forked processes inherit
the loaded runs and history without copying them. The caller holds no threads while drawers fork (a
fork from a threaded process can deadlock on a lock held by another thread).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

# figure name -> the call that draws it (SVG text, or None); other jobs return anything that pickles
Jobs = dict[str, Callable[[], Any]]
_INDEX = struct.Struct("<H")  # one figure in the pipe: a read of this size from a pipe is atomic


@contextmanager
def few_collections(rare: bool = True) -> Iterator[None]:
    """Garbage collection tuned for drawing. Drawing makes millions of short-lived objects, figures full
    of reference cycles among them; the loaded files, summaries and series are millions of long-lived ones
    that every full collection would walk again (a fifth of a report's time over a thousand files). Frozen,
    they are left alone, and (``rare``) collections come less often: a tenth of the drawing's time was
    collections. Everything frozen inside is unfrozen on the way out."""
    thresholds = gc.get_threshold()
    gc.freeze()
    if rare:
        gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@contextmanager
def kept() -> Iterator[None]:
    """Inside ``few_collections``: no collection while the long-lived objects of a stage are made (the
    summaries, the history: hundreds of thousands, none in a cycle), and they are frozen after. Else the
    first allocation after the stage walks them all in a young collection, then again in the older ones
    (measured in a report over 1,000 files: 0.9 s of the parent's CPU, half of it in its serial start,
    collecting nothing). Not for a stage that leaves cycles behind: they would stay till the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()  # also resets the count of new objects that would start the next collection
        if enabled:
            gc.enable()


class _Queue:
    """Figures to draw, each taken once by whichever process reads its index from the pipe first."""

    def __init__(self, jobs: Jobs) -> None:
        if len(jobs) > 16_000:  # the indices must fit in the pipe before anyone reads (64 KiB)
            raise ValueError(f"{len(jobs)} figures: at most 16,000 at once")
        self.jobs, self.names = jobs, list(jobs)
        self.fd, write = os.pipe()
        os.write(write, b"".join(_INDEX.pack(index) for index in range(len(self.names))))
        os.close(write)  # closed before any fork: an empty pipe then reads as the end

    def take(self) -> str | None:
        data = os.read(self.fd, _INDEX.size)
        return self.names[_INDEX.unpack(data)[0]] if data else None

    def close(self) -> None:
        os.close(self.fd)


def _drain(queues: list[_Queue]) -> dict[str, Any]:
    """Draw figures of the first queue until it is empty, then of the next."""
    drawn = {}
    for queue in queues:
        while (name := queue.take()) is not None:
            drawn[name] = queue.jobs[name]()
    return drawn


def _drawer(queues: list[_Queue], send: Connection) -> None:
    """A forked drawer: its figures, or the error that stopped it (a warning made an error in the tests
    comes back as it was raised)."""
    # Ctrl-C is the caller's to handle; it ends its drawers with SIGTERM, which ends them quietly here
    # (not through the handler the command installed, which would print a drawer's traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        outcome: dict[str, Any] | Exception = _drain(queues)
    except Exception as error:  # raised again in the caller
        outcome = error
    try:
        send.send(outcome)
    except Exception as error:  # an exception that does not pickle: its text
        send.send(RuntimeError(f"{type(error).__name__}: {outcome}"))


class Drawing:
    """The figures of ``first`` drawn by forked drawers from now on (see the module's docstring); the
    later ones and what is left given to ``finish``."""

    def __init__(self, first: Jobs, forks: int | None = None) -> None:
        self.spare = len(os.sched_getaffinity(0)) - 1  # cores besides the caller's
        self.queues = [_Queue(first)]
        self.drawers: list[tuple[BaseProcess, Connection]] = []
        self._fork(min(self.spare, len(first), self.spare if forks is None else forks), self.queues)

    def __enter__(self) -> Drawing:
        return self

    def __exit__(self, *exc: object) -> None:
        for process, receive in self.drawers:  # only left here when the caller failed
            process.terminate()
            process.join()
            process.close()
            receive.close()
        for queue in self.queues:
            queue.close()

    def finish(self, later: Jobs, meanwhile: Callable[[], object] | None = None) -> dict[str, Any]:
        """Every figure: ``later`` drawn first (give the slowest first), here and by as many new drawers
        as cores are spare, then what the first drawers have not started; ``meanwhile`` is called here
        once nothing is left to start, while the drawers finish theirs."""
        self.queues.insert(0, _Queue(later))
        self._fork(min(self.spare, len(later)), self.queues)
        drawn = _drain(self.queues)
        if meanwhile is not None:
            meanwhile()
        while self.drawers:
            process, receive = self.drawers.pop()
            outcome = _receive(receive)
            process.join()
            process.close()
            if isinstance(outcome, Exception):
                raise outcome
            drawn.update(outcome)
        return drawn

    def _fork(self, count: int, queues: list[_Queue]) -> None:
        context = multiprocessing.get_context("fork")  # inherits the runs and the history as they are
        for _ in range(count):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_drawer, args=(list(queues), send), daemon=True)
            process.start()
            send.close()  # the drawer's end: if it dies, receiving ends instead of waiting
            self.drawers.append((process, receive))


def _receive(receive: Connection) -> dict[str, Any] | Exception:
    try:
        outcome: dict[str, Any] | Exception = receive.recv()
    except EOFError:
        outcome = RuntimeError("a drawing process ended without sending its figures")
    finally:
        receive.close()
    return outcome
