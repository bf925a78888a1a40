"""What every workload is: a class declaring its loops, its metrics and the fields its cells carry.

A workload runs in two forked processes: the *initiator* and the *peer*. A side channel (``sync``, a Unix
socket pair), separate from the mechanism and identical for all of them, carries the start barrier, the
stream's acknowledgements and, in a run that calibrates itself, the size of each probe chunk, so no
mechanism pays for a control message the others do not. Generic code (runner,
store, stats, compare, history, exports) asks the workload instead of comparing names.

The workloads themselves live one per module beside this one (``pingpong.py``, ``stream.py``) and are
listed in ``__init__.py``.

Each side runs ``warmup`` messages first (not measured), then, in a run that calibrates itself, the probe
chunks (checked, not measured; see ``calibration``), and reports the CPU time it spent on the measured
messages (``CLOCK_PROCESS_CPUTIME_ID``, with the user/system split from ``getrusage``).
"""

from __future__ import annotations

import os
import resource
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ipcbench.calibration import Budget
from ipcbench.errors import PayloadError, PeerError
from ipcbench.payload import SEQ
from ipcbench.transports.base import Endpoint

Clock = Callable[[], int]


@dataclass(frozen=True)
class Job:
    """What both sides of one run must agree on."""

    workload: str
    size: int
    warmup: int
    count: int
    seed: int
    verify_every: int = 1
    impl: str = "python"  # "native": the same protocol with the hot loops in C (ipcbench.native)
    rate: float = 0.0  # messages/s an open loop's schedule offers (0 elsewhere)
    same_core: bool = False  # both sides share one CPU: a side waiting on the clock must yield it
    # Set: ``count`` is not known yet; the run probes the rate after its warm-up and measures about
    # ``budget.seconds`` of messages (``probe``), in workloads that calibrate in their run.
    budget: Budget | None = None


class CpuMeter:
    """CPU time of this process over an interval: total (precise) and the user/system split (rusage)."""

    def __init__(self, clock: Clock = time.process_time_ns) -> None:
        self._clock = clock
        self._start = clock()
        self._usage = resource.getrusage(resource.RUSAGE_SELF)

    def stop(self) -> dict[str, int]:
        total = self._clock() - self._start
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "cpu_ns": total,
            "cpu_user_ns": int((usage.ru_utime - self._usage.ru_utime) * 1e9),
            "cpu_sys_ns": int((usage.ru_stime - self._usage.ru_stime) * 1e9),
        }


def _read_exact(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise PeerError("the other side of the run went away (side channel closed)")
        data += chunk
    return data


def signal_ready(sync_w: int) -> None:
    os.write(sync_w, b"R")


def wait_ready(sync_r: int) -> None:
    _read_exact(sync_r, 1)


def tell(sync: int, value: int) -> None:
    """The initiator tells the peer the next chunk's size (positive) or the measured count (negative)."""
    os.write(sync, SEQ.pack(value))


def probe(sync: int, job: Job, clock: Clock, chunk: Callable[[int, int], object]) -> tuple[int, int]:
    """The initiator's calibration inside a run (``calibration``): ``chunk(first, n)`` carries messages
    ``first`` to ``first + n - 1`` (checked as ever) and is timed here, chunk after chunk, each announced to
    the peer on the side channel. Returns the first measured message and the count to measure; with a fixed
    count (no ``job.budget``) that is the one after the warm-up, and nothing is sent."""
    budget, first = job.budget, job.warmup
    if budget is None:
        return first, job.count

    def timed(count: int) -> float:
        nonlocal first
        tell(sync, count)
        start = clock()
        chunk(first, count)
        first += count
        return (clock() - start) / 1e9

    count = budget.first_chunk(job.size)
    elapsed_s = timed(count)
    while (grown := budget.next_chunk(count, elapsed_s)) is not None:
        count = grown
        elapsed_s = timed(count)
    per_message_s = elapsed_s / count
    if budget.confirms(per_message_s):
        per_message_s = min(per_message_s, timed(count) / count)
    measured = budget.count(per_message_s)
    tell(sync, -measured)
    return first, measured


def follow(sync: int, job: Job, chunk: Callable[[int, int], object]) -> tuple[int, int]:
    """The peer's side of ``probe``: carry each announced chunk; return the first measured message and the
    count to measure."""
    first = job.warmup
    if job.budget is None:
        return first, job.count
    while (count := SEQ.unpack(_read_exact(sync, SEQ.size))[0]) > 0:
        chunk(first, count)
        first += count
    return first, -count


def ack(sync_w: int, seq: int) -> None:
    os.write(sync_w, SEQ.pack(seq))


def wait_ack(sync_r: int, seq: int) -> None:
    got = SEQ.unpack(_read_exact(sync_r, SEQ.size))[0]
    if got != seq:
        raise PayloadError(f"the receiver acknowledged message {got}, expected {seq}")


class Workload(ABC):
    """One way of exercising a channel, run unchanged over every transport; what generic code needs to
    know about it is declared here instead of being found by comparing names."""

    name: ClassVar[str]
    # At most one message in flight, and every reply implies the request was consumed: the channel gets one
    # slot per direction and may drop its flow control (``ChannelSpec.lockstep``).
    lockstep: ClassVar[bool] = False
    # Its cells carry a latency summary and histogram (``latency_ns``, ``histogram``; null otherwise) ...
    latency: ClassVar[bool] = False
    # ... and its runs these per-run figures beyond the ones every run has (messages, elapsed, rates, CPU).
    run_fields: ClassVar[tuple[str, ...]] = ()
    # The figures ``compare`` measures for its cells (``compare.METRICS``) and those that may fail the gate.
    metrics: ClassVar[tuple[str, ...]] = ("throughput",)
    gate_metrics: ClassVar[tuple[str, ...]] = ("throughput",)
    # The per-run figure that stands for a run (``stats.instability`` judges its spread; history, exports
    # and compare's noise floor follow it) ...
    headline: ClassVar[str] = "bytes_per_s"
    # ... and the coefficient of variation of it across runs above which the runs disagree.
    unstable_cv: ClassVar[float]
    # A latency workload whose samples come from the peer (the forward leg of ``oneway``), and whose
    # initiator's samples are a second leg, stored as ``latency_back_ns``.
    samples_from_peer: ClassVar[bool] = False
    # The smallest message it can carry (``oneway`` stamps a send time into the message); smaller: skipped.
    min_size: ClassVar[int] = 16
    # Measured when ``--workloads`` names none (``oneway`` only when asked for).
    by_default: ClassVar[bool] = True
    # Has C loops for the native tier (a native cell of a workload without them is skipped, with the reason).
    native_loops: ClassVar[bool] = True
    # Measured as a sweep of offered rates after the mechanism's stream capacity (``openloop``), not as
    # ``repeats`` runs of one calibrated count.
    sweeps: ClassVar[bool] = False
    # Its receiving side counts a demonstration's damage (``ipcbench.unsync``) instead of failing on it:
    # the demonstration variants (``Transport.demonstrations``) are planned with such workloads only.
    demonstrates: ClassVar[bool] = False
    # Probes its rate inside its first measured run (``probe``, ``follow``) instead of in runs of its own.
    calibrates_in_run: ClassVar[bool] = False

    @abstractmethod
    def initiator(
        self, ep: Endpoint, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        """The side that starts each exchange and keeps the time; returns its report (``elapsed_ns``,
        CPU times, and ``samples`` for a latency workload)."""

    @abstractmethod
    def peer(self, ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        """The other side; returns its CPU times."""

    # The native tier: the same protocol with the hot loops in C, over an ``ipcbench.native`` channel that
    # borrows the endpoint's handles. The barrier, acknowledgements, CPU meter and payload buffer stay
    # here in Python, shared with the Python halves, so the two tiers differ in the loops alone.
    def native_initiator(
        self, channel: Any, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        """The initiator's side in the native tier (a workload without C loops has no native cells)."""
        raise NotImplementedError(f"the {self.name} workload has no native loops")

    def native_peer(self, channel: Any, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        raise NotImplementedError(f"the {self.name} workload has no native loops")

    def headline_value(self, cell: dict[str, Any]) -> float:
        """The one figure of a measured cell that history and exports follow."""
        return float(cell["throughput"]["bytes_per_s"])
