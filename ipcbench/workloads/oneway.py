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
from collections.abc import Callable
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
        return _timed_side(
            job,
            cpu_clock,
            clock,
            lambda at, n, into: _initiator_legs(ep, payload, received, at, n, into, clock),
        )

    def peer(self, ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        buffer = bytearray(job.size)
        signal_ready(sync_w)
        return _timed_side(
            job, cpu_clock, None, lambda at, n, into: _peer_legs(ep, payload, buffer, at, n, into, ep.clock)
        )

    # The native tier: the same legs in C (loops.c, the same wire layout and checks), CLOCK_MONOTONIC read
    # with clock_gettime itself rather than through Python's call overhead.
    def native_initiator(
        self, channel: Any, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        wait_ready(sync_r)
        return _timed_side(
            job, cpu_clock, clock, lambda at, n, into: channel.oneway_initiate(payload.buffer, at, n, into)
        )

    def native_peer(self, channel: Any, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        signal_ready(sync_w)
        return _timed_side(
            job, cpu_clock, None, lambda at, n, into: channel.oneway_answer(payload.buffer, at, n, into)
        )


def _timed_side(
    job: Job,
    cpu_clock: Clock,
    clock: Clock | None,
    legs: Callable[[int, int, array.array[int] | None], None],
) -> dict[str, Any]:
    """One side's run: the warm-up, then ``job.count`` legs received into its samples, with its CPU time
    (and, on the initiator, which passes its ``clock``, the elapsed time)."""
    legs(0, job.warmup, None)
    samples = array.array("q", bytes(8 * job.count))
    meter = CpuMeter(cpu_clock)
    start = clock() if clock is not None else 0
    legs(job.warmup, job.count, samples)
    elapsed = {"elapsed_ns": clock() - start} if clock is not None else {}
    return {"samples": samples.tobytes(), **elapsed, **meter.stop()}


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
