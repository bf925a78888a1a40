"""``openloop``: a sender on a fixed schedule, as a producer at a steady rate is.

Message ``i`` of a run is *intended* to leave at ``start + i * interval`` (``interval = 1e9 / rate``). The
initiator waits for that moment (sleeping while it is far, spinning for the last stretch), reads the clock
(the *actual* send time) and sends; when it has fallen behind it sends at once, never skipping a message
and never stretching the schedule. The peer receives each message, reads the clock as soon as the message
is whole and its sequence checked, then checks the payload in full as ``stream`` does.

Both sides keep their times in preallocated arrays and report them; latency is computed afterwards
(``latencies``), two ways:

* **corrected** (from the intended send time): what a producer at that rate really sees, including the
  time a message waited because earlier ones were late (coordinated omission corrected, as wrk2 and
  HdrHistogram do);
* **uncorrected** (from the actual send time): what a sender that times only its own sends would report.

A closed loop (``pingpong``) never lets messages queue; this one does, so its tail rises as the offered
rate nears the mechanism's capacity. The runner first measures that capacity (``stream``, same mechanism
and size), then runs the loop at each of ``RATE_FRACTIONS`` of it; ``sweep_entry`` turns the runs at one
offered rate into one entry of the cell's ``rate_sweep``. A rate the pair could not keep is marked
``kept: false`` and still reported at the rate offered, never lowered to what was achieved.
"""

from __future__ import annotations

import array
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from ipcbench.errors import PayloadError
from ipcbench.payload import SEQ, Payload
from ipcbench.transports.base import Endpoint
from ipcbench.workloads.base import Clock, CpuMeter, Job, Workload, ack, signal_ready, wait_ack, wait_ready

# Offered rates, as fractions of the stream capacity measured for the same mechanism and size.
RATE_FRACTIONS = (0.1, 0.5, 0.9, 1.0, 1.2)
# A rate is kept when messages were delivered at no less than this share of it.
KEEP_SHARE = 0.95
# Closer than this to a send time the sender spins on the clock instead of sleeping (a sleep overshoots by
# tens of microseconds on these machines).
SPIN_BEFORE_NS = 200_000
SWEEP_KEYS = ("p50", "p90", "p99", "p999", "max")
Sleep = Callable[[float], None]


class Openloop(Workload):
    """Latency against offered load: one ``rate_sweep`` entry per offered rate, corrected and uncorrected.
    The cell's ``throughput`` is the stream capacity the rates were taken from (its headline, as for a
    ``stream`` cell); it carries no ``latency_ns`` of its own."""

    name = "openloop"
    unstable_cv: ClassVar[float] = 0.5
    # The runner measures the capacity first, then a sweep of rates (``Runner.measure_sweep``).
    sweeps = True
    # Several runs at each of five rates after a capacity measurement: too long for the default plan.
    by_default = False

    def initiator(
        self, ep: Endpoint, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        # Sharing one CPU, a sender spinning towards its next send time would keep the receiver off it.
        relax = os.sched_yield if job.same_core else None

        def send(first: int, count: int, start: int, interval: int, sends: array.array[int] | None) -> None:
            send_on_schedule(ep, payload, first, count, interval, start, sends, clock, time.sleep, relax)

        return _initiate(job, sync_r, clock, cpu_clock, send)

    def peer(self, ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        received = bytearray(job.size)

        def receive(first: int, count: int, arrivals: array.array[int] | None) -> None:
            receive_timed(ep, payload, received, first, count, arrivals, ep.clock)

        return _follow(job, sync_w, cpu_clock, receive)

    # The native tier: the same schedule and checks in C (loops.c), CLOCK_MONOTONIC read with clock_gettime
    # itself; the times come back in the same arrays, so ``latencies`` and the sweep treat both tiers alike.
    def native_initiator(
        self, channel: Any, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock
    ) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)

        def send(first: int, count: int, start: int, interval: int, sends: array.array[int] | None) -> None:
            channel.openloop_send(
                payload.buffer, first, count, start, interval, SPIN_BEFORE_NS, sends, job.same_core
            )

        return _initiate(job, sync_r, clock, cpu_clock, send)

    def native_peer(self, channel: Any, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
        payload = Payload(job.size, job.seed)
        return _follow(
            job, sync_w, cpu_clock, lambda at, n, into: channel.openloop_receive(payload.buffer, at, n, into)
        )


def _initiate(
    job: Job,
    sync_r: int,
    clock: Clock,
    cpu_clock: Clock,
    send: Callable[[int, int, int, int, array.array[int] | None], None],
) -> dict[str, Any]:
    """The initiator's run in either tier: the warm-up on the schedule, then ``job.count`` messages from a
    fresh start time, each actual send time kept; elapsed until the peer acknowledged the last."""
    interval = interval_ns(job.rate)
    wait_ready(sync_r)
    send(0, job.warmup, clock(), interval, None)
    wait_ack(sync_r, job.warmup - 1)
    sends = array.array("q", bytes(8 * job.count))
    meter = CpuMeter(cpu_clock)
    start = clock()
    send(job.warmup, job.count, start, interval, sends)
    usage = meter.stop()
    wait_ack(sync_r, job.warmup + job.count - 1)
    elapsed = clock() - start
    schedule = {"sends": sends.tobytes(), "start_ns": start, "interval_ns": interval}
    return {**schedule, "elapsed_ns": elapsed, **usage}


def _follow(
    job: Job, sync_w: int, cpu_clock: Clock, receive: Callable[[int, int, array.array[int] | None], None]
) -> dict[str, Any]:
    """The peer's run in either tier: the warm-up acknowledged, then ``job.count`` arrival times."""
    signal_ready(sync_w)
    receive(0, job.warmup, None)
    ack(sync_w, job.warmup - 1)
    arrivals = array.array("q", bytes(8 * job.count))
    meter = CpuMeter(cpu_clock)
    receive(job.warmup, job.count, arrivals)
    usage = meter.stop()
    ack(sync_w, job.warmup + job.count - 1)
    return {"arrivals": arrivals.tobytes(), **usage}


def interval_ns(rate: float) -> int:
    """The schedule's step for an offered rate (messages/s), at least one nanosecond."""
    if not rate > 0:
        raise ValueError(f"an open loop needs a positive rate, got {rate}")
    return max(1, round(1e9 / rate))


def send_on_schedule(
    ep: Endpoint,
    payload: Payload,
    first: int,
    count: int,
    interval: int,
    start: int,
    sends: array.array[int] | np.ndarray | None,
    clock: Clock,
    sleep: Sleep,
    relax: Callable[[], None] | None = None,
) -> None:
    """Send ``count`` messages, message ``i`` not before ``start + i * interval``; store the actual times.
    ``relax`` is called between clock reads while spinning onto a send time (``sched_yield`` on one CPU)."""
    send, message = ep.send, payload.message
    for index in range(count):
        intended = start + index * interval
        now = clock()
        if intended - now > SPIN_BEFORE_NS:
            sleep((intended - now - SPIN_BEFORE_NS) / 1e9)
            now = clock()
        while now < intended:
            if relax is not None:
                relax()
            now = clock()
        send(message(first + index))
        if sends is not None:
            sends[index] = now


def receive_timed(
    ep: Endpoint,
    payload: Payload,
    received: bytearray,
    first: int,
    count: int,
    arrivals: array.array[int] | None,
    clock: Clock,
) -> None:
    """Receive ``count`` messages, reading the clock once each is whole and its sequence right; the full
    check follows, outside the timed interval."""
    if ep.recv_view is not None:
        _receive_timed_inplace(ep, payload, first, count, arrivals, clock)
        return
    recv_into, verify, read = ep.recv_into, payload.verify, SEQ.unpack_from
    for index in range(count):
        seq = first + index
        recv_into(received)
        if read(received, 0)[0] != seq:
            raise PayloadError(payload.diagnose(seq, received))
        if arrivals is not None:
            arrivals[index] = clock()
        verify(seq, received)


def _receive_timed_inplace(
    ep: Endpoint, payload: Payload, first: int, count: int, arrivals: array.array[int] | None, clock: Clock
) -> None:
    """``--tune receive=inplace``: the message is whole once its slot is published; checked where it lies."""
    recv_view, release, verify, read = ep.recv_view, ep.release, payload.verify_view, SEQ.unpack_from
    assert recv_view is not None and release is not None
    for index in range(count):
        seq = first + index
        slot = recv_view()
        if read(slot, 0)[0] != seq:
            raise PayloadError(payload.diagnose(seq, slot))
        if arrivals is not None:
            arrivals[index] = clock()
        verify(seq, slot)
        release()


def latencies(
    start: int, interval: int, sends: np.ndarray, arrivals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(corrected, uncorrected) latency of every message: its arrival minus its intended send time, and
    minus its actual send time."""
    intended = start + interval * np.arange(len(arrivals), dtype=np.int64)
    return arrivals - intended, arrivals - sends


def delivered_rate(start: int, interval: int, arrivals: np.ndarray) -> float:
    """Messages per second delivered, counted against the schedule: from the first intended send to the
    last arrival, plus the interval the last message owns. A pair that kept the rate delivers at the offered
    rate (less the last message's latency over the whole run); a backlog delivered in a late burst does not
    count as kept."""
    span = int(arrivals[-1]) - start + interval
    return len(arrivals) * 1e9 / max(span, 1)


def percentiles(samples: np.ndarray) -> dict[str, float]:
    """The sweep's keys (p50, p90, p99, p999, max) from raw samples."""
    values = np.percentile(samples, [50, 90, 99, 99.9])
    return {**dict(zip(SWEEP_KEYS[:4], (float(v) for v in values), strict=True)), "max": float(samples.max())}


def sweep_entry(
    fraction: float,
    offered: float,
    corrected: Sequence[np.ndarray],
    uncorrected: Sequence[np.ndarray],
    achieved: Sequence[float],
) -> dict[str, Any]:
    """One ``rate_sweep`` entry from the runs at one offered rate: each run's corrected and uncorrected
    samples and its delivered rate. Percentiles pool every sample; the achieved rate is the runs' median,
    and the rate counts as kept only if that median reaches ``KEEP_SHARE`` of the offered one."""
    pooled, pooled_uncorrected = np.concatenate(list(corrected)), np.concatenate(list(uncorrected))
    median_achieved = float(np.median(achieved))
    return {
        "fraction_of_capacity": fraction,
        "offered_msgs_per_s": offered,
        "achieved_msgs_per_s": median_achieved,
        "kept": bool(median_achieved >= KEEP_SHARE * offered),
        "latency_ns": percentiles(pooled),
        "latency_uncorrected_ns": percentiles(pooled_uncorrected),
        "runs_p50_ns": [float(np.percentile(run, 50)) for run in corrected],
        "runs_p99_ns": [float(np.percentile(run, 99)) for run in corrected],
        "messages": len(pooled),
    }


def knee(sweep: Sequence[dict[str, Any]], key: str = "p99") -> float | None:
    """The lowest offered rate at which the corrected ``key`` latency is at least twice the lowest rate's
    (None: it never doubled over the rates swept)."""
    if not sweep:
        return None
    ordered = sorted(sweep, key=lambda entry: entry["offered_msgs_per_s"])
    floor = ordered[0]["latency_ns"][key]
    for entry in ordered[1:]:
        if entry["latency_ns"][key] >= 2 * floor:
            return float(entry["offered_msgs_per_s"])
    return None
