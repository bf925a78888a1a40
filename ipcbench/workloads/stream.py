"""``stream``: throughput, as many messages in flight as the mechanism accepts.

The initiator sends ``count`` messages back to back, using whatever pipelining the mechanism has (buffers,
queue depth, ring slots); the peer receives each into its own buffer and checks its sequence numbers and
full content (every message by default; ``verify_every`` can thin the full comparison), then acknowledges
the last one on the sync pipe. Throughput is measured by the initiator from its first send to the ack.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ipcbench.payload import Payload
from ipcbench.transports.base import Endpoint
from ipcbench.unsync import Expected, count_race
from ipcbench.workloads.base import Clock, CpuMeter, Job, Workload, ack, signal_ready, wait_ack, wait_ready


class Stream(Workload):
    """Throughput: bytes/s and messages/s over the whole transfer, per run."""

    name = "stream"
    unstable_cv: ClassVar[float] = 0.5
    demonstrates = True

    def initiator(
        self, ep: Endpoint, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        send, message = ep.send, payload.message
        wait_ready(sync_r)
        for seq in range(job.warmup):
            send(message(seq))
        wait_ack(sync_r, job.warmup - 1)
        meter = CpuMeter(cpu_clock)
        start = clock()
        for seq in range(job.warmup, job.warmup + job.count):
            send(message(seq))
        wait_ack(sync_r, job.warmup + job.count - 1)
        elapsed = clock() - start
        return {"elapsed_ns": elapsed, **meter.stop()}

    def peer(self, ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        if ep.racy_read is not None:
            return _count_damage(ep, job, sync_w, cpu_clock)
        payload = Payload(job.size, job.seed)
        received = bytearray(job.size)
        signal_ready(sync_w)
        _receive(ep, payload, received, 0, job.warmup, job.verify_every)
        ack(sync_w, job.warmup - 1)
        meter = CpuMeter(cpu_clock)
        _receive(ep, payload, received, job.warmup, job.count, job.verify_every)
        usage = meter.stop()
        ack(sync_w, job.warmup + job.count - 1)
        return usage

    def native_initiator(
        self, channel: Any, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        wait_ready(sync_r)
        channel.send_messages(payload.buffer, 0, job.warmup)
        wait_ack(sync_r, job.warmup - 1)
        meter = CpuMeter(cpu_clock)
        start = clock()
        channel.send_messages(payload.buffer, job.warmup, job.count)
        wait_ack(sync_r, job.warmup + job.count - 1)
        elapsed = clock() - start
        return {"elapsed_ns": elapsed, **meter.stop()}

    def native_peer(self, channel: Any, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        signal_ready(sync_w)
        channel.receive_messages(payload.buffer, 0, job.warmup, job.verify_every)
        ack(sync_w, job.warmup - 1)
        meter = CpuMeter(cpu_clock)
        channel.receive_messages(payload.buffer, job.warmup, job.count, job.verify_every)
        usage = meter.stop()
        ack(sync_w, job.warmup + job.count - 1)
        return usage


def _count_damage(ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
    """The ``unsync`` demonstration's reader: every read classified with the payload checks and counted
    (``ipcbench.unsync``), never a failure; the counts of the measured messages go in the report."""
    assert ep.racy_read is not None
    expected = Expected(Payload(job.size, job.seed))
    received = bytearray(job.size)
    signal_ready(sync_w)
    count_race(ep.racy_read, expected, received, 0, job.warmup)
    ack(sync_w, job.warmup - 1)
    meter = CpuMeter(cpu_clock)
    counts = count_race(ep.racy_read, expected, received, job.warmup, job.count)
    usage = meter.stop()
    ack(sync_w, job.warmup + job.count - 1)
    return {**usage, "unsync": counts}


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
