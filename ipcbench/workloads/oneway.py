"""``oneway``: lockstep like ``pingpong``, but each leg of a round trip is timed on its own.

The sender of a message writes ``CLOCK_MONOTONIC`` (``time.perf_counter_ns`` on Linux: one clock for the
whole machine, so two processes can subtract each other's readings) into the message just before sending
it; the receiver reads the same clock as soon as the message is whole and its sequence number checked. The
peer keeps the forward leg (initiator to peer) and reports it; the initiator keeps the way back. Every
message is checked in full after the clock is read (outside both legs): the stamp is the only range the
receiver cannot predict, and ``Payload.verify_stamped`` compares everything else.

Why beside ``pingpong``: RTT/2 assumes both legs cost the same. They need not (a spinning side wakes at
once, a sleeping one pays a wake-up), so the legs are stored apart (``latency_ns`` forward,
``latency_back_ns`` back) and can be set beside pingpong's RTT/2.
"""

from __future__ import annotations

import array
from typing import Any

from ipcbench.errors import PayloadError
from ipcbench.payload import SEQ, STAMP_AT, STAMPED_MIN, Payload
from ipcbench.transports.base import Endpoint
from ipcbench.workloads.base import Clock, CpuMeter, Job, signal_ready, wait_ready
from ipcbench.workloads.pingpong import Pingpong


class Oneway(Pingpong):
    """Latency of each leg: the forward leg's percentiles (the peer's samples), the way back's beside them.
    A latency workload like ``pingpong`` (same metrics, gate, headline and instability bound): only the
    loops differ."""

    name = "oneway"
    samples_from_peer = True
    by_default = False
    min_size = STAMPED_MIN
    calibrates_in_run = False  # its loops take a fixed count: the runner calibrates it with runs of its own

    def initiator(
        self, ep: Endpoint, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        received = bytearray(job.size)
        wait_ready(sync_r)
        _initiator_legs(ep, payload, received, 0, job.warmup, None, clock)
        back = array.array("q", bytes(8 * job.count))
        meter = CpuMeter(cpu_clock)
        start = clock()
        _initiator_legs(ep, payload, received, job.warmup, job.count, back, clock)
        elapsed = clock() - start
        return {"samples": back.tobytes(), "elapsed_ns": elapsed, **meter.stop()}

    def peer(self, ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        buffer = bytearray(job.size)
        signal_ready(sync_w)
        _peer_legs(ep, payload, buffer, 0, job.warmup, None, ep.clock)
        forward = array.array("q", bytes(8 * job.count))
        meter = CpuMeter(cpu_clock)
        _peer_legs(ep, payload, buffer, job.warmup, job.count, forward, ep.clock)
        return {"samples": forward.tobytes(), **meter.stop()}

    # The native tier: the same legs in C (loops.c, the same wire layout and checks), CLOCK_MONOTONIC read
    # with clock_gettime itself rather than through Python's call overhead.
    def native_initiator(
        self, channel: Any, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        wait_ready(sync_r)
        channel.oneway_initiate(payload.buffer, 0, job.warmup, None)
        back = array.array("q", bytes(8 * job.count))
        meter = CpuMeter(cpu_clock)
        start = clock()
        channel.oneway_initiate(payload.buffer, job.warmup, job.count, back)
        elapsed = clock() - start
        return {"samples": back.tobytes(), "elapsed_ns": elapsed, **meter.stop()}

    def native_peer(self, channel: Any, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        signal_ready(sync_w)
        channel.oneway_answer(payload.buffer, 0, job.warmup, None)
        forward = array.array("q", bytes(8 * job.count))
        meter = CpuMeter(cpu_clock)
        channel.oneway_answer(payload.buffer, job.warmup, job.count, forward)
        return {"samples": forward.tobytes(), **meter.stop()}


def _initiator_legs(
    ep: Endpoint,
    payload: Payload,
    received: bytearray,
    first: int,
    count: int,
    back: array.array[int] | None,
    clock: Clock,
) -> None:
    send, recv_into, message = ep.send, ep.recv_into, payload.message
    stamp, read = SEQ.pack_into, SEQ.unpack_from
    for index in range(count):
        seq = first + index
        outgoing = message(seq)
        stamp(outgoing, STAMP_AT, clock())
        send(outgoing)
        recv_into(received)
        if read(received, 0)[0] != seq:
            raise PayloadError(payload.diagnose(seq, received))
        arrived = clock()
        if back is not None:
            back[index] = arrived - read(received, STAMP_AT)[0]
        payload.verify_stamped(seq, received)


def _peer_legs(
    ep: Endpoint,
    payload: Payload,
    buffer: bytearray,
    first: int,
    count: int,
    forward: array.array[int] | None,
    clock: Clock,
) -> None:
    send, recv_into = ep.send, ep.recv_into
    stamp, read = SEQ.pack_into, SEQ.unpack_from
    for index in range(count):
        seq = first + index
        recv_into(buffer)
        if read(buffer, 0)[0] != seq:
            raise PayloadError(payload.diagnose(seq, buffer))
        arrived = clock()
        if forward is not None:
            forward[index] = arrived - read(buffer, STAMP_AT)[0]
        expected = payload.verify_stamped(seq, buffer)
        sent_at = clock()
        stamp(buffer, STAMP_AT, sent_at)
        send(buffer)
        # The initiator's copy of this window ends up holding the reply's stamp (it checks the reply with
        # it): ours must too, or the overlapping windows drift apart.
        stamp(expected, STAMP_AT, sent_at)
