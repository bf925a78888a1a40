"""``stream``: throughput, as many messages in flight as the mechanism accepts.

The initiator sends ``count`` messages back to back, using whatever pipelining the mechanism has (buffers,
queue depth, ring slots); the peer receives each into its own buffer and checks its sequence numbers and
full content (every message by default; ``verify_every`` can thin the full comparison), then acknowledges
the last one on the sync pipe. Throughput is measured by the initiator from its first send to the ack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from ipcbench.payload import Payload
from ipcbench.transports.base import Endpoint
from ipcbench.unsync import Expected, count_race
from ipcbench.workloads.base import (
    Clock,
    CpuMeter,
    Job,
    Workload,
    ack,
    follow,
    probe,
    signal_ready,
    wait_ack,
    wait_ready,
)


class Stream(Workload):
    """Throughput: bytes/s and messages/s over the whole transfer, per run."""

    name = "stream"
    unstable_cv: ClassVar[float] = 0.5
    demonstrates = True
    calibrates_in_run: ClassVar[bool] = True

    def initiator(
        self, ep: Endpoint, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        send, message = ep.send, payload.message

        def chunk(first: int, count: int) -> None:  # sent, and received by the peer
            for seq in range(first, first + count):
                send(message(seq))
            wait_ack(sync_r, first + count - 1)

        return _initiate(job, sync_r, clock, cpu_clock, chunk)

    def peer(self, ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        if ep.racy_read is not None:
            return _count_damage(ep, job, sync_w, cpu_clock)
        payload = Payload(job.size, job.seed)
        received = bytearray(job.size)
        every = job.verify_every
        return _follow(job, sync_w, cpu_clock, lambda at, n: _receive(ep, payload, received, at, n, every))

    def native_initiator(
        self, channel: Any, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)

        def chunk(first: int, count: int) -> None:
            channel.send_messages(payload.buffer, first, count)
            wait_ack(sync_r, first + count - 1)

        return _initiate(job, sync_r, clock, cpu_clock, chunk)

    def native_peer(self, channel: Any, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        every = job.verify_every
        return _follow(
            job, sync_w, cpu_clock, lambda at, n: channel.receive_messages(payload.buffer, at, n, every)
        )


Chunk = Callable[[int, int], object]


def _initiate(job: Job, sync_r: int, clock: Clock, cpu_clock: Clock, chunk: Chunk) -> dict[str, Any]:
    """The initiator's run in either tier: warm-up, the probe if the run calibrates itself, then ``count``
    messages timed from the first send to the peer's acknowledgement of the last."""
    wait_ready(sync_r)
    chunk(0, job.warmup)
    first, count = probe(sync_r, job, clock, chunk)
    meter = CpuMeter(cpu_clock)
    start = clock()
    chunk(first, count)
    elapsed = clock() - start
    return {"elapsed_ns": elapsed, "messages": count, **meter.stop()}


def _follow(job: Job, sync_w: int, cpu_clock: Clock, receive: Chunk) -> dict[str, Any]:
    """The peer's run in either tier: every chunk received and checked, then acknowledged; the CPU time is
    that of the measured messages (taken before the last acknowledgement, which the initiator times)."""

    def chunk(first: int, count: int) -> None:
        receive(first, count)
        ack(sync_w, first + count - 1)

    signal_ready(sync_w)
    chunk(0, job.warmup)
    first, count = follow(sync_w, job, chunk)
    meter = CpuMeter(cpu_clock)
    receive(first, count)
    usage = meter.stop()
    ack(sync_w, first + count - 1)
    return usage


def _count_damage(ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
    """The ``unsync`` demonstration's reader: every read classified with the payload checks and counted
    (``ipcbench.unsync``), never a failure; the counts of the measured messages go in the report."""
    racy_read = ep.racy_read
    assert racy_read is not None
    expected = Expected(Payload(job.size, job.seed))
    received = bytearray(job.size)
    counted: list[dict[str, int]] = []  # per chunk: warm-up, probe chunks if any, the measured messages

    def receive(first: int, count: int) -> None:
        counted.append(count_race(racy_read, expected, received, first, count))

    usage = _follow(job, sync_w, cpu_clock, receive)
    return {**usage, "unsync": counted[-1]}


def _receive(ep: Endpoint, payload: Payload, received: bytearray, first: int, count: int, every: int) -> None:
    if ep.recv_view is not None:
        _receive_inplace(ep, payload, first, count, every)
        return
    recv_into, verify, verify_seq = ep.recv_into, payload.verify, payload.verify_seq
    last = first + count - 1
    for seq in range(first, first + count):
        recv_into(received)
        if seq % every == 0 or seq == last:
            verify(seq, received)
        else:
            verify_seq(seq, received)


def _receive_inplace(ep: Endpoint, payload: Payload, first: int, count: int, every: int) -> None:
    """``--tune receive=inplace``: the same checks, on the message where it lies in the shared-memory slot;
    the slot is freed after them."""
    recv_view, release, verify, verify_seq = ep.recv_view, ep.release, payload.verify_view, payload.verify_seq
    assert recv_view is not None and release is not None
    last = first + count - 1
    for seq in range(first, first + count):
        slot = recv_view()
        if seq % every == 0 or seq == last:
            verify(seq, slot)
        else:
            verify_seq(seq, slot)
        release()
