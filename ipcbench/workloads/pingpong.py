"""``pingpong``: round trips, one message in flight, every round trip timed.

The initiator stamps message i, takes a timestamp, sends it and receives the echo (the endpoint's
``exchange``), takes a timestamp, and stores the round trip into a preallocated array; then it checks the
echo in full (outside the timed interval). The peer echoes every message unchanged (the endpoint's
``echo``), without looking at it: the initiator's check covers both directions end to end.
"""

from __future__ import annotations

import array
from typing import Any, ClassVar

from ipcbench.errors import PayloadError
from ipcbench.payload import Payload
from ipcbench.transports.base import Endpoint
from ipcbench.workloads.base import (
    Clock,
    CpuMeter,
    Job,
    Workload,
    follow,
    probe,
    signal_ready,
    wait_ready,
)


class Pingpong(Workload):
    """Latency: the round trip's percentiles from every sample, p50 and p99 per run."""

    name = "pingpong"
    lockstep = True
    latency = True
    run_fields = ("p50_ns", "p99_ns")
    metrics = ("p50", "p99", "throughput")
    # A pingpong cell's throughput is one over its mean round trip, a noisier view of what p50 says.
    gate_metrics = ("p50", "p99")
    headline = "p50_ns"
    unstable_cv: ClassVar[float] = 0.25
    calibrates_in_run: ClassVar[bool] = True

    def initiator(
        self, ep: Endpoint, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        received = bytearray(job.size)
        wait_ready(sync_r)
        round_trips(ep, payload, received, 0, job.warmup, None, clock)
        first, count = probe(
            sync_r, job, clock, lambda at, n: round_trips(ep, payload, received, at, n, None, clock)
        )
        samples = array.array("q", bytes(8 * count))
        meter = CpuMeter(cpu_clock)
        start = clock()
        round_trips(ep, payload, received, first, count, samples, clock)
        elapsed = clock() - start
        return {"samples": samples.tobytes(), "elapsed_ns": elapsed, "messages": count, **meter.stop()}

    def peer(self, ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        buffer = bytearray(job.size)
        signal_ready(sync_w)
        ep.echo(buffer, job.warmup)
        _, count = follow(sync_w, job, lambda _, n: ep.echo(buffer, n))
        meter = CpuMeter(cpu_clock)
        ep.echo(buffer, count)
        return meter.stop()

    def native_initiator(
        self, channel: Any, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        wait_ready(sync_r)
        channel.exchange(payload.buffer, 0, job.warmup, None)
        first, count = probe(sync_r, job, clock, lambda at, n: channel.exchange(payload.buffer, at, n, None))
        samples = array.array("q", bytes(8 * count))
        meter = CpuMeter(cpu_clock)
        start = clock()
        channel.exchange(payload.buffer, first, count, samples)  # each round trip timed in C
        elapsed = clock() - start
        return {"samples": samples.tobytes(), "elapsed_ns": elapsed, "messages": count, **meter.stop()}

    def native_peer(self, channel: Any, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        signal_ready(sync_w)
        channel.echo(job.warmup)
        _, count = follow(sync_w, job, lambda _, n: channel.echo(n))
        meter = CpuMeter(cpu_clock)
        channel.echo(count)
        return meter.stop()

    def headline_value(self, cell: dict[str, Any]) -> float:
        if cell.get("latency_ns"):
            return float(cell["latency_ns"]["p50"])
        return super().headline_value(cell)


def round_trips(
    ep: Endpoint,
    payload: Payload,
    received: bytearray,
    first: int,
    count: int,
    samples: array.array[int] | None,
    clock: Clock,
) -> None:
    """``count`` timed round trips from message ``first`` on (into ``samples`` unless None), each checked."""
    exchange, message = ep.exchange, payload.message
    for index in range(count):
        seq = first + index
        outgoing = message(seq)
        sent_at = clock()
        exchange(outgoing, received)
        round_trip_ns = clock() - sent_at
        if samples is not None:
            samples[index] = round_trip_ns
        if received != outgoing:
            raise PayloadError(payload.diagnose(seq, received))
