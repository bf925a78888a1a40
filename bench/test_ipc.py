"""The ipcbench workloads as pytest-benchmark benchmarks, over the same transports and the same loops.

One benchmark per (mechanism, variant, workload, size, impl). Each round is one ipcbench run of a fixed number
of messages, in pytest-benchmark's pedantic mode:

* ``setup`` (not timed) creates the kernel objects, forks the peer with ``ipcbench.peer.spawn`` (which
  runs ``ipcbench.workloads``' peer side, pinned to its own CPU, GC off, exactly as ``ipcbench run`` does),
  waits until the peer is ready, and opens the initiator's endpoint in this process;
* the timed target is the initiator's side of the workload (``Workload.initiator``): the
  warm-up messages and the measured ones, with every round trip also timed into an array;
* ``teardown`` (not timed) closes the endpoint, removes the kernel objects and collects the peer.

So pytest-benchmark's time per round is the time of the round's messages, round trips (pingpong) or sent
and acknowledged (stream), including the workload's own warm-up of about a tenth as many messages (as in
``ipcbench run``: every round is a fresh process pair, whose first messages fault pages in). ``extra_info``
carries what ipcbench reports, timed by the workload itself without the warm-up: round-trip percentiles
over all rounds, throughput, CPU per message, the message size, mechanism, variant, tier and placement.
For ``impl=native`` the target runs the same initiator protocol with its loop in C (``ipcbench.native``),
over a channel on the same endpoint, and the peer runs the native peer side.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import secrets
import select
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from ipcbench import native, workloads
from ipcbench.ledger import Ledger
from ipcbench.machine import read_limits
from ipcbench.peer import Child, kill_all, spawn, wait_all
from ipcbench.plan import placement
from ipcbench.runner import ring_slots, warmup_for
from ipcbench.transports import REGISTRY, ChannelSpec, label
from ipcbench.transports.base import Endpoint, Transport
from ipcbench.workloads import Job

KIB, MIB = 1 << 10, 1 << 20
TIMEOUT_S = 30.0


def messages_per_round(workload: str, size: int) -> int:
    """Few enough that the whole default suite stays under a minute, enough that a round lasts about a
    millisecond or more (far above the timer's resolution and the per-round overhead)."""
    if size >= MIB:
        return 6 if workload == "pingpong" else 12
    if size >= 4 * KIB:
        return 200 if workload == "pingpong" else 1000
    return 300 if workload == "pingpong" else 3000


def channel_spec(variant: str | None, workload: str, size: int, same_core: bool) -> ChannelSpec:
    """The channel ``Runner.measure_run`` would make for this cell."""
    fields = {field.name for field in dataclasses.fields(ChannelSpec)}
    if "lockstep" in fields:  # pingpong keeps one message in flight: one slot, no ring to fill
        lockstep = workload == "pingpong"
        return ChannelSpec(
            size=size,
            variant=variant,
            slots=1 if lockstep else ring_slots(size),  # type: ignore[call-arg]
            same_core=same_core,
            lockstep=lockstep,
        )
    return ChannelSpec(size=size, variant=variant, slots=ring_slots(size), same_core=same_core)


class Round:
    """One round's kernel objects, peer process and initiator endpoint (built in setup, torn down after)."""

    def __init__(self, spec: ChannelSpec, transport_name: str, job: Job, peer_cpu: int | None) -> None:
        self.transport: Transport = REGISTRY[transport_name](spec)
        self.job = job
        self.children: list[Child] = []
        self.endpoint: Endpoint | None = None
        self.channel: Any = None  # the native tier's C channel over the endpoint's handles
        self.sync_r = -1
        ledger = Ledger()
        self.transport.create(ledger)
        sync_r, sync_w = os.pipe()
        try:
            self.children.append(spawn("peer", self.transport, job, (sync_r, sync_w), peer_cpu, None))
        finally:
            os.close(sync_w)
        self.sync_r = sync_r
        # Open before waiting: a FIFO's open and a socket's accept in the peer wait for this side.
        self.endpoint = self.transport.open("initiator")
        # Started outside the timed region: wait until the peer says it is ready (without reading the byte,
        # which the workload's own wait_ready consumes at the start of the timed target).
        ready, _, _ = select.select([sync_r], [], [], TIMEOUT_S)
        if not ready:
            self.close()
            raise TimeoutError(f"the peer was not ready after {TIMEOUT_S:g} s")

    def run(self) -> dict[str, Any]:
        assert self.endpoint is not None
        clocks = (time.perf_counter_ns, time.process_time_ns)
        workload = workloads.get(self.job.workload)
        if self.job.impl == "native":  # the same initiator protocol, its loop in C over the same objects
            if self.channel is None:
                self.channel = native.open_channel(self.endpoint, self.transport.spec, "initiator")
            return workload.native_initiator(self.channel, self.job, self.sync_r, *clocks)
        return workload.initiator(self.endpoint, self.job, self.sync_r, *clocks)

    def close(self) -> None:
        # Order matters: nothing may open a file descriptor between the endpoint's close and destroy(),
        # because destroy() closes the transport's fd numbers again (a no-op only while they stay free).
        # A native channel goes first: it holds the endpoint's mapped segment.
        try:
            if self.channel is not None:
                self.channel.close()
                self.channel = None
            if self.endpoint is not None:
                self.endpoint.close()
            self.transport.destroy()
            wait_all(self.children, TIMEOUT_S)
        finally:
            kill_all(self.children)
            if self.sync_r >= 0:
                os.close(self.sync_r)
                self.sync_r = -1


@pytest.fixture
def pinned() -> Iterator[tuple[int | None, int | None, str]]:
    """Place this process (the initiator) and the peer like ``ipcbench run --pin auto``; GC off meanwhile."""
    initiator_cpu, peer_cpu, where = placement("auto")
    saved = os.sched_getaffinity(0)
    gc_was_enabled = gc.isenabled()
    if initiator_cpu is not None:
        os.sched_setaffinity(0, {initiator_cpu})
    gc.disable()
    try:
        yield initiator_cpu, peer_cpu, where
    finally:
        os.sched_setaffinity(0, saved)
        if gc_was_enabled:
            gc.enable()


def test_ipc(
    benchmark: Any,
    ipc_cell: tuple[str, str | None, str, int, str],
    pinned: tuple[Any, ...],
    request: pytest.FixtureRequest,
) -> None:
    transport_name, variant, workload, size, impl = ipc_cell
    cls = REGISTRY[transport_name]
    blocked = cls.unavailable() or (native.unavailable() if impl == "native" else None)
    skip = cls.skip_reason(size, read_limits())
    if blocked or skip:
        pytest.skip(blocked or skip.text())  # type: ignore[union-attr]
    initiator_cpu, peer_cpu, where = pinned
    count = messages_per_round(workload, size)
    spec = channel_spec(variant, workload, size, initiator_cpu is not None and initiator_cpu == peer_cpu)
    reports: list[dict[str, Any]] = []
    current: list[Round] = []

    def setup() -> None:
        job = Job(workload, size, warmup_for(count), count, secrets.randbits(32), impl=impl)
        current.append(Round(spec, transport_name, job, peer_cpu))

    def target() -> None:
        reports.append(current[-1].run())

    def teardown() -> None:
        current.pop().close()

    rounds = request.config.getoption("--ipc-rounds")
    try:
        benchmark.pedantic(target, setup=setup, teardown=teardown, rounds=rounds, warmup_rounds=1)
    finally:
        while current:
            current.pop().close()
    info = extra_info(transport_name, variant, workload, size, count, where, reports)
    benchmark.extra_info.update(info, impl=impl)


def extra_info(
    transport: str,
    variant: str | None,
    workload: str,
    size: int,
    count: int,
    where: str,
    reports: list[dict[str, Any]],
) -> dict[str, Any]:
    """What ipcbench would record for the cell, from the rounds' own reports (warm-up round included:
    its messages are measured the same way, only its time is left out by pytest-benchmark)."""
    elapsed = [report["elapsed_ns"] for report in reports]
    info: dict[str, Any] = {
        "mechanism": label(transport, variant),
        "transport": transport,
        "variant": variant,
        "workload": workload,
        "size": size,
        "messages_per_round": count,
        "warmup_messages_per_round": warmup_for(count),
        "placement": where,
        "bytes_per_s": float(np.median([count * size * 1e9 / ns for ns in elapsed])),
        "msgs_per_s": float(np.median([count * 1e9 / ns for ns in elapsed])),
        "cpu_ns_per_msg_initiator": float(np.median([report["cpu_ns"] / count for report in reports])),
    }
    if workload == "pingpong":
        samples = np.concatenate([np.frombuffer(report["samples"], dtype=np.int64) for report in reports])
        for name, q in (("p50_ns", 50), ("p90_ns", 90), ("p99_ns", 99), ("p999_ns", 99.9)):
            info[name] = float(np.percentile(samples, q))
        info["round_p50_ns"] = [
            float(np.median(np.frombuffer(report["samples"], dtype=np.int64))) for report in reports
        ]
    return info
