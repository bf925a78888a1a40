"""The workloads, written once and run unchanged over every transport.

Both run in two forked processes: the *initiator* and the *peer*. A side pipe (``sync``), separate from
the mechanism and identical for all of them, carries the start barrier and the stream's acknowledgements,
so no mechanism pays for a control message the others do not.

* ``pingpong``: the initiator stamps message i, takes a timestamp, sends it and receives the echo (the
  endpoint's ``exchange``), takes a timestamp, and stores the round trip into a preallocated array; then
  it checks the echo in full (outside the timed interval). The peer echoes every message unchanged (the
  endpoint's ``echo``), without looking at it: the initiator's check covers both directions end to end.
* ``stream``: the initiator sends ``count`` messages back to back, using whatever pipelining the mechanism
  has (buffers, queue depth, ring slots); the peer receives each into its own buffer and checks its
  sequence numbers and full content (every message by default; ``verify_every`` can thin the full
  comparison), then acknowledges the last one on the sync pipe. Throughput is measured by the initiator
  from its first send to the ack.

Each side runs ``warmup`` messages first (not measured) and reports the CPU time it spent on the measured
messages (``CLOCK_PROCESS_CPUTIME_ID``, with the user/system split from ``getrusage``).
"""

from __future__ import annotations

import array
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ipcbench.errors import PayloadError, PeerError
from ipcbench.payload import SEQ, Payload
from ipcbench.transports.base import Endpoint

WORKLOADS = ("pingpong", "stream")
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
            raise PeerError("the other side of the run went away (sync pipe closed)")
        data += chunk
    return data


def signal_ready(sync_w: int) -> None:
    os.write(sync_w, b"R")


def wait_ready(sync_r: int) -> None:
    _read_exact(sync_r, 1)


def _ack(sync_w: int, seq: int) -> None:
    os.write(sync_w, SEQ.pack(seq))


def _wait_ack(sync_r: int, seq: int) -> None:
    got = SEQ.unpack(_read_exact(sync_r, SEQ.size))[0]
    if got != seq:
        raise PayloadError(f"the receiver acknowledged message {got}, expected {seq}")


def pingpong_initiator(ep: Endpoint, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock) -> dict[str, Any]:
    payload = Payload(job.size, job.seed)
    received = bytearray(job.size)
    wait_ready(sync_r)
    _pingpong(ep, payload, received, 0, job.warmup, None, clock)
    samples = array.array("q", bytes(8 * job.count))
    meter = CpuMeter(cpu_clock)
    start = clock()
    _pingpong(ep, payload, received, job.warmup, job.count, samples, clock)
    elapsed = clock() - start
    return {"samples": samples.tobytes(), "elapsed_ns": elapsed, **meter.stop()}


def _pingpong(
    ep: Endpoint,
    payload: Payload,
    received: bytearray,
    first: int,
    count: int,
    samples: array.array[int] | None,
    clock: Clock,
) -> None:
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


def pingpong_peer(ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
    buffer = bytearray(job.size)
    signal_ready(sync_w)
    ep.echo(buffer, job.warmup)
    meter = CpuMeter(cpu_clock)
    ep.echo(buffer, job.count)
    return meter.stop()


def stream_initiator(ep: Endpoint, job: Job, sync_r: int, clock: Clock, cpu_clock: Clock) -> dict[str, Any]:
    payload = Payload(job.size, job.seed)
    send, message = ep.send, payload.message
    wait_ready(sync_r)
    for seq in range(job.warmup):
        send(message(seq))
    _wait_ack(sync_r, job.warmup - 1)
    meter = CpuMeter(cpu_clock)
    start = clock()
    for seq in range(job.warmup, job.warmup + job.count):
        send(message(seq))
    _wait_ack(sync_r, job.warmup + job.count - 1)
    elapsed = clock() - start
    return {"elapsed_ns": elapsed, **meter.stop()}


def stream_peer(ep: Endpoint, job: Job, sync_w: int, cpu_clock: Clock) -> dict[str, Any]:
    payload = Payload(job.size, job.seed)
    received = bytearray(job.size)
    signal_ready(sync_w)
    _receive(ep, payload, received, 0, job.warmup, job.verify_every)
    _ack(sync_w, job.warmup - 1)
    meter = CpuMeter(cpu_clock)
    _receive(ep, payload, received, job.warmup, job.count, job.verify_every)
    usage = meter.stop()
    _ack(sync_w, job.warmup + job.count - 1)
    return usage


def _receive(ep: Endpoint, payload: Payload, received: bytearray, first: int, count: int, every: int) -> None:
    recv_into, verify, verify_seq = ep.recv_into, payload.verify, payload.verify_seq
    last = first + count - 1
    for seq in range(first, first + count):
        recv_into(received)
        if seq % every == 0 or seq == last:
            verify(seq, received)
        else:
            verify_seq(seq, received)


INITIATORS = {"pingpong": pingpong_initiator, "stream": stream_initiator}
PEERS = {"pingpong": pingpong_peer, "stream": stream_peer}
