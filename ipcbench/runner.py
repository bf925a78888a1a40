"""Runs every cell of a plan with real peer processes and saves the result file after each one.

For each cell: skip it (with the reason and the setting that would allow it) if the mechanism cannot
carry the size here; otherwise calibrate the message count to the time budget, then measure ``repeats``
independent runs. Every run creates its own kernel objects, forks a fresh initiator and peer, waits for
them with a deadline, and destroys the objects in a ``finally``. A failing run fails its cell with the
reason and the next cell goes on. Ctrl-C (or SIGTERM) stops the run, kills the children, removes the
objects and saves the file marked ``interrupted``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from ipcbench import __version__, idle, machine, native, stats, store, unsync, wakeprobe, workloads
from ipcbench.calibration import Budget
from ipcbench.errors import PeerError
from ipcbench.faults import Fault
from ipcbench.ledger import Ledger, clean
from ipcbench.payload import random_bytes
from ipcbench.peer import Child, kill_all, spawn, wait_all
from ipcbench.plan import Cell, RunOptions, cells, placement
from ipcbench.records import CellRecord, PeerReport, RunRecord
from ipcbench.transports import REGISTRY, ChannelSpec, Registry, Transport
from ipcbench.transports.base import DEFAULT_SPIN_NS
from ipcbench.transports.origin import mechanism_info
from ipcbench.workloads import Job
from ipcbench.workloads.openloop import RATE_FRACTIONS, delivered_rate, latencies, sweep_entry

KIB = 1 << 10
Progress = Callable[[str, int, int, Cell, dict[str, Any] | None], None]


def ring_slots(size: int) -> int:
    """Messages in flight per direction for ring and queue mechanisms: about 256 KiB, 2 to 64 slots, a
    power of two (never a multiple of the payload's 7 patterns, so a stale slot always shows)."""
    fits = max(2, min(64, (256 * KIB) // size))
    return 1 << (fits.bit_length() - 1)


class Runner:
    """Measures the cells of one ``RunOptions`` into one result file."""

    def __init__(
        self, options: RunOptions, progress: Progress | None = None, registry: Registry = REGISTRY
    ) -> None:
        self.options = options
        self.registry = registry
        self.progress = progress or (lambda *args: None)
        self.ledger = Ledger()
        self.fault = Fault.parse(options.fault)
        self.initiator_cpu, self.peer_cpu, self.placement = placement(options.pin)
        self.limits: dict[str, Any] = machine.read_limits()
        if options.repeats is None or options.budget_s is None:
            raise ValueError("RunOptions must be finalised (plan.finalise) before running")
        self.repeats: int = options.repeats
        self.budget_s: float = options.budget_s
        self.cleaned: list[str] = []
        self.seed = secrets.randbits(32)  # of every run's payload (``payload.random_bytes``)

    # ---- the run ------------------------------------------------------------------------------------

    def run(self, path: Path | None = None) -> tuple[dict[str, Any], Path]:
        """Measure every cell; the file at the returned path is valid after every cell."""
        document = self._new_document()  # before the run's own idle request: the fingerprint reads the limit
        # The request is made before the first file is written (a refusal leaves no file) and ends with the
        # run, however it ends (``idle.hold``).
        with idle.hold(self.options.cpu_idle):
            self.cleaned = clean(self.ledger.directory)  # the objects of any installed mechanism
            document["objects_cleaned_at_start"] = self.cleaned
            return self._measure_all(document, path)

    def _measure_all(self, document: dict[str, Any], path: Path | None) -> tuple[dict[str, Any], Path]:
        if path is None:
            # Parallel runs (CI jobs) can start in the same second with the same label: claim a free name.
            path = store.result_path(self.options.output, document["machine"]["name"], self.options.label)
            store.ensure_writable(path.parent)
            path = store.create(document, path)
        else:
            store.ensure_writable(path.parent)
            store.save(document, path)
        plan = cells(self.options, self.registry)
        text = store.Growing()
        try:
            self.probe(document, "start", 0)
            for index, cell in enumerate(plan):
                self.progress("start", index, len(plan), cell, None)
                result = self.measure_cell(cell)
                document["cells"].append(result)
                if index + 1 == (len(plan) + 1) // 2 < len(plan):
                    self.probe(document, "middle", index + 1)
                store.save(document, path, text)
                self.progress("done", index, len(plan), cell, result)
            self.probe(document, "end", len(plan))
            document["status"] = "complete"
        except BaseException:
            document["status"] = "interrupted"
            raise
        finally:
            document["finished"] = store.now_utc()
            store.save(document, path, text)
        return document, path

    def probe(self, document: dict[str, Any], at: str, cells_done: int) -> None:
        """The wake-up probe (``wakeprobe``): compare's witness of the machine's state beside the cells."""
        if self.options.wake_probe:
            wakeprobe.probe_at(document, at, cells_done, (self.initiator_cpu, self.peer_cpu))

    def _new_document(self) -> dict[str, Any]:
        fingerprint = machine.fingerprint()
        if self.options.machine_name:
            fingerprint["name"] = self.options.machine_name
        self.limits = fingerprint["limits"]
        config = {
            k: v for k, v in asdict(self.options).items() if k not in ("output", "fault", "machine_name")
        }
        config.update(
            transports=[f"{n}/{v}" if v else n for n, v in self.options.transports],
            placement=self.placement,
            pinning={"initiator_cpu": self.initiator_cpu, "peer_cpu": self.peer_cpu},
            harness_overhead_ns=harness_overhead(),
            clock="time.perf_counter_ns (CLOCK_MONOTONIC)",
            native_clock="clock_gettime(CLOCK_MONOTONIC) in the C loop",
            native_tier={"available": native.unavailable() is None, "reason": native.unavailable()},
            clock_resolution_ns=time.get_clock_info("perf_counter").resolution * 1e9,
            cpu_clock="time.process_time_ns (CLOCK_PROCESS_CPUTIME_ID)",
            gc="disabled in measuring processes",
            fault_injected=self.options.fault,
            mechanisms={name: mechanism_info(self.registry[name]) for name, _ in self.options.transports},
        )
        return {
            "schema_version": store.SCHEMA_VERSION,
            "ipcbench_version": __version__,
            "created": store.now_utc(),
            "finished": None,
            "label": self.options.label,
            "status": "running",
            "run_id": secrets.token_hex(6),
            "machine": fingerprint,
            "config": config,
            "objects_cleaned_at_start": self.cleaned,
            "cells": [],
        }

    # ---- one cell -----------------------------------------------------------------------------------

    def measure_cell(self, cell: Cell) -> dict[str, Any]:
        """The cell as the result file stores it."""
        return self.cell_record(cell).to_json()

    def cell_record(self, cell: Cell) -> CellRecord:
        base = CellRecord(
            cell.transport, cell.variant, cell.workload, cell.size, cell.impl, dict(cell.tune) or None
        )
        transport = self.registry[cell.transport]
        blocked = transport.unavailable() or tier_unavailable(cell, transport)
        skip = transport.skip_reason(cell.size, self.limits)
        if blocked is not None:
            return replace(base, status="skipped", reason=blocked)
        if skip is not None:
            return replace(base, status="skipped", reason=skip.reason, remedy=skip.remedy)
        if cell.size < (least := workloads.get(cell.workload).min_size):
            reason = f"{cell.workload} messages carry a send time: at least {least} bytes"
            return replace(base, status="skipped", reason=reason, remedy=f"--sizes {least} or more")
        if cell.variant in transport.demonstrations and not workloads.get(cell.workload).demonstrates:
            reason = f"{cell.mechanism} is a demonstration, shown with stream only"
            return replace(base, status="skipped", reason=reason, remedy="--workloads stream")
        if dict(cell.tune).get("receive") == "inplace" and workloads.get(cell.workload).lockstep:
            reason = "in-place receive applies to stream (a lockstep reply is its own copy)"
            return replace(base, status="skipped", reason=reason, remedy="--workloads stream")
        load_before = machine.load_snapshot()
        started = store.now_utc()
        try:
            meter = machine.LoadMeter()
            if workloads.get(cell.workload).sweeps:
                runs, sweep = self.measure_sweep(cell)
            else:
                runs, sweep = self.measure_runs(cell), None
            during = meter.stop()
            shared = self.initiator_cpu is not None and self.initiator_cpu == self.peer_cpu
            measured = summarise(replace(base, started=started), runs, during, transport.fake_clocks, shared)
            if sweep is not None:
                capacity = measured.throughput["msgs_per_s"] if measured.throughput else None
                measured = replace(measured, capacity_msgs_per_s=capacity, rate_sweep=sweep)
        except Exception as exc:  # whatever went wrong fails this cell only: the next cell goes on
            reason = failure_reason(cell, exc, transport)
            load = {"before": load_before, "after": machine.load_snapshot()}
            return replace(base, status="failed", reason=reason, started=started, load=load)
        load = {"before": load_before, "after": machine.load_snapshot(), "during": during}
        return replace(measured, finished=store.now_utc(), load=load)

    @property
    def budget(self) -> Budget:
        return Budget(self.budget_s, self.options.min_messages, self.options.max_messages)

    def measure_runs(self, cell: Cell) -> list[RunRecord]:
        """``repeats`` independent runs of one count, calibrated to the budget (``calibration``): inside the
        first run where the workload can (its warm-up and probe then precede its measured messages), else
        by short runs of the runner's own first."""
        if workloads.get(cell.workload).calibrates_in_run:
            first = self.measure_run_with_load(cell, 0)
            count = first.messages
            return [first] + [self.measure_run_with_load(cell, count) for _ in range(self.repeats - 1)]
        count = self.calibrate(cell)
        return [self.measure_run_with_load(cell, count) for _ in range(self.repeats)]

    def measure_sweep(self, cell: Cell) -> tuple[list[RunRecord], list[dict[str, Any]]]:
        """An open-loop cell: the stream capacity at its size first (those runs become the cell's runs and
        ``throughput``), then ``repeats`` runs at each fraction of it, each entry of the ``rate_sweep``.
        A run lasts about ``budget_s`` at its rate; a rate not kept stays the rate offered."""
        capacity_runs = self.measure_runs(replace(cell, workload="stream"))
        capacity = float(np.median([run.msgs_per_s for run in capacity_runs]))
        low, high = self.options.min_messages, self.options.max_messages
        sweep = []
        for fraction in RATE_FRACTIONS:
            offered = fraction * capacity
            count = int(min(high, max(low, self.budget_s * offered)))
            runs = [self.measure_run_with_load(cell, count, offered) for _ in range(self.repeats)]
            corrected, uncorrected = [run.samples for run in runs], [run.uncorrected for run in runs]
            achieved = [float(run.achieved_msgs_per_s or 0.0) for run in runs]
            sweep.append(sweep_entry(fraction, offered, corrected, uncorrected, achieved))
        return capacity_runs, sweep

    def measure_run_with_load(self, cell: Cell, count: int, rate: float = 0.0) -> RunRecord:
        """A measured run, with what other programs did to the CPUs meanwhile (``run.load``): a load that
        differs between the runs of a cell makes them disagree for a reason other than the mechanism.
        ``count`` 0: the run calibrates itself after a short warm-up."""
        meter = machine.LoadMeter()
        budget = self.budget if count == 0 else None
        run = self.measure_run(cell, count, warmup_for(count), rate, budget)
        return replace(run, load=meter.stop())

    def calibrate(self, cell: Cell) -> int:
        """Messages per run so that one run measures for about ``budget_s``, from runs of its own (for a
        workload that cannot calibrate inside a run): the chunks of ``calibration`` as separate runs."""
        budget = self.budget
        count = budget.first_chunk(cell.size)
        elapsed_s = self._calibration_run(cell, count)
        while (grown := budget.next_chunk(count, elapsed_s)) is not None:
            count = grown
            elapsed_s = self._calibration_run(cell, count)
        per_message_s = elapsed_s / count
        if budget.confirms(per_message_s):
            per_message_s = min(per_message_s, self._calibration_run(cell, count) / count)
        return budget.count(per_message_s)

    def _calibration_run(self, cell: Cell, count: int) -> float:
        return max(int(self.measure_run(cell, count, warmup=2).elapsed_ns), 1) / 1e9

    def measure_run(
        self, cell: Cell, count: int, warmup: int, rate: float = 0.0, budget: Budget | None = None
    ) -> RunRecord:
        """One independent run: fresh objects, fresh initiator and peer, always cleaned up. With a
        ``budget`` the run finds its own count (``workloads.base.probe``; ``count`` is then ignored)."""
        same_core = self.initiator_cpu is not None and self.initiator_cpu == self.peer_cpu
        lockstep = workloads.get(cell.workload).lockstep
        tune = dict(cell.tune)
        slots = 1 if lockstep else tune.get("slots") or tune.get("queue_depth") or ring_slots(cell.size)
        spin_ns = 1000 * tune["spin_us"] if "spin_us" in tune else DEFAULT_SPIN_NS
        spec = ChannelSpec(cell.size, cell.variant, slots, same_core, lockstep, spin_ns, cell.tune)
        transport = self.registry[cell.transport](spec)
        job = Job(
            cell.workload,
            cell.size,
            warmup,
            count,
            self.seed,
            self.options.verify_every,
            cell.impl,
            rate,
            same_core,
            budget,
        )
        children: list[Child] = []
        sync = socket.socketpair()  # the side channel: initiator's end, peer's end
        held = [end.detach() for end in sync]  # the runner's copies, closed once the children hold theirs
        random_bytes(cell.size, self.seed)  # drawn here once, inherited by both processes of every run
        try:
            transport.create(self.ledger)
            params = transport.params()
            ends = (held[0], held[1])
            children.append(spawn("peer", transport, job, ends, self.peer_cpu, self.fault))
            children.append(spawn("initiator", transport, job, ends, self.initiator_cpu, self.fault))
            transport.release_parent()
            while held:
                os.close(held.pop())
            wait_all(children, self.options.timeout_s)
        finally:
            kill_all(children)
            for fd in held:
                with contextlib.suppress(OSError):
                    os.close(fd)
            transport.destroy()
            self.ledger.sweep(type(transport).ledger_kinds)
        initiator, peer = children[1].report, children[0].report
        if initiator is None or peer is None:
            raise AssertionError("unreachable: wait_all returns only when both sides reported")
        return run_record(cell, count, initiator, peer, params)


def tier_unavailable(cell: Cell, transport: type[Transport]) -> str | None:
    """Why this cell's tier cannot run it: no native tier here, or a variant only the native tier has."""
    if cell.impl == "native":
        if not workloads.get(cell.workload).native_loops:
            return f"the {cell.workload} workload has no native loops yet: its cells run in the Python tier"
        reason = native.unavailable()
        return None if reason is None else f"native tier unavailable: {reason}"
    if cell.variant in transport.native_only:
        return f"the {cell.variant} variant runs in the native tier only (Python has no process-shared mutex)"
    return None


def failure_reason(cell: Cell, exc: Exception, transport: type[Transport]) -> str:
    """One line saying why a cell failed. A ``PeerError`` already explains itself (a child failed, died or
    hung); anything else happened while the runner set the run up, almost always because a kernel limit
    ran out, so the mechanism explains it and the limits that bound it are quoted with their values now."""
    if isinstance(exc, PeerError):
        return str(exc)
    text = exc.strerror if isinstance(exc, OSError) and exc.errno is None and exc.strerror else str(exc)
    reason = f"could not set up the run: {type(exc).__name__}: {text}"
    limits = machine.read_limits()
    explained = transport.explain_failure(exc, ChannelSpec(cell.size, cell.variant, ring_slots(cell.size)))
    if explained is not None:
        reason += f" ({explained})"
    relevant = [f"{key}={limits.get(key)}" for key in transport.limits]
    return f"{reason}; limits here: {', '.join(relevant)}" if relevant else reason


def warmup_for(count: int) -> int:
    return max(2, min(1000, count // 10))


def run_record(
    cell: Cell, count: int, initiator: PeerReport, peer: PeerReport, params: dict[str, Any]
) -> RunRecord:
    """One run's figures from the two processes' reports (raw samples kept in ``samples``, never stored)."""
    count = initiator.messages or count  # a run that calibrated itself says how many it measured
    elapsed = max(int(initiator.elapsed_ns or 0), 1)
    workload = workloads.get(cell.workload)
    samples = back = None
    p50 = p99 = None
    source = peer if workload.samples_from_peer else initiator
    if workload.latency and source.samples is not None:
        samples = np.frombuffer(source.samples, dtype=np.int64)
        p50, p99 = (float(v) for v in np.percentile(samples, [50, 99]))
    if workload.samples_from_peer and initiator.samples is not None:  # the way back
        back = np.frombuffer(initiator.samples, dtype=np.int64)
    timing: dict[str, Any] = {}
    if initiator.sends is not None and peer.arrivals is not None:  # an open loop's schedule
        timing = open_loop_timing(initiator, peer)
        samples = timing.pop("samples")
        p50, p99 = (float(v) for v in np.percentile(samples, [50, 99]))
    return RunRecord(
        messages=count,
        elapsed_ns=elapsed,
        msgs_per_s=count * 1e9 / elapsed,
        bytes_per_s=count * cell.size * 1e9 / elapsed,
        cpu_ns_per_msg={
            f"{role}{suffix}": getattr(side, f"cpu{suffix}_ns") / count
            for role, side in (("initiator", initiator), ("peer", peer))
            for suffix in ("", "_user", "_sys")
        },
        cpus={"initiator": initiator.cpu, "peer": peer.cpu},
        p50_ns=p50,
        p99_ns=p99,
        params=params,
        samples=samples,
        back_samples=back,
        **timing,
        unsync=peer.unsync,
    )


def open_loop_timing(initiator: PeerReport, peer: PeerReport) -> dict[str, Any]:
    """An open-loop run's latencies from its intended send times (``samples``) and its actual ones
    (``uncorrected``), and the rate it delivered against its schedule."""
    sends = np.frombuffer(initiator.sends or b"", dtype=np.int64)
    arrivals = np.frombuffer(peer.arrivals or b"", dtype=np.int64)
    start, interval = int(initiator.start_ns or 0), int(initiator.interval_ns or 1)
    corrected, uncorrected = latencies(start, interval, sends, arrivals)
    achieved = delivered_rate(start, interval, arrivals)
    return {"samples": corrected, "uncorrected": uncorrected, "achieved_msgs_per_s": achieved}


def summarise(
    base: CellRecord,
    runs: list[RunRecord],
    during: dict[str, Any] | None = None,
    fake_clocks: bool = False,
    shared_cpu: bool = False,
) -> CellRecord:
    """The measured cell from its runs (which it leaves as they are): each figure the median of its runs'
    figures, with an interval across runs; tails from all raw samples; and whether the runs can be trusted
    (``stats.instability``, with ``during``: what other programs did meanwhile).

    A pair that shares one CPU (``shared_cpu``) keeps one of its own sides waiting for it all the time, so
    CPU pressure then measures the pair, not other programs: only their CPU time counts as a busy machine."""
    workload = workloads.get(base.workload)
    rates = [run.bytes_per_s for run in runs]
    throughput = stats.throughput_summary(rates, [run.msgs_per_s for run in runs])
    latency = histogram = None
    if workload.latency:
        samples = np.concatenate([run.samples for run in runs])
        latency = stats.latency_summary(samples, [float(run["p50_ns"]) for run in runs])
        histogram = stats.encode_histogram(samples)
    back = None
    if workload.samples_from_peer:
        legs = [run.back_samples for run in runs]
        back = stats.latency_summary(np.concatenate(legs), [float(np.percentile(leg, 50)) for leg in legs])
    basis = [run[workload.headline] for run in runs]
    loads = [run.load for run in runs]
    if fake_clocks:  # the machine's load cannot touch the figures
        during, loads = None, []
    if shared_cpu:
        during = {**(during or {}), "cpu_pressure": None}
        loads = [{**load, "cpu_pressure": None} if load else load for load in loads]
    reason = stats.instability(basis, base.workload, during, loads, len(os.sched_getaffinity(0)))
    return replace(
        base,
        latency_ns=latency,
        latency_back_ns=back,
        throughput=throughput,
        cpu_ns_per_msg={
            key: float(np.mean([run.cpu_ns_per_msg[key] for run in runs])) for key in runs[0].cpu_ns_per_msg
        },
        messages=int(sum(run.messages for run in runs)),
        histogram=histogram,
        params=runs[0].params,
        runs=tuple(runs),
        unsync=unsync.total([run.unsync for run in runs if run.unsync]) if runs[0].unsync else None,
        cv=stats.coefficient_of_variation(basis),
        unstable=reason is not None,
        unstable_reason=reason,
    )


def harness_overhead(iterations: int = 20_000) -> dict[str, float]:
    """What the harness itself costs per timed round trip, measured like hyperfine calibrates its shell:
    the clock read pair, and the pingpong loop over a do-nothing endpoint (call and check overhead)."""
    from ipcbench.payload import Payload
    from ipcbench.transports.base import Endpoint
    from ipcbench.workloads.pingpong import round_trips

    clock = time.perf_counter_ns
    start = clock()
    for _ in range(iterations):
        clock()
    timer_ns = (clock() - start) / iterations
    payload = Payload(64, 0)
    received = bytearray(64)
    loopback: list[Any] = [None]

    def send(view: Any) -> None:
        loopback[0] = view

    def recv_into(view: Any) -> None:
        view[:] = loopback[0]

    endpoint = Endpoint(send, recv_into, lambda: None, {})
    samples = np.zeros(iterations, dtype=np.int64)
    round_trips(endpoint, payload, received, 0, iterations, samples, clock)  # type: ignore[arg-type]
    return {"timer_ns": timer_ns, "loop_p50_ns": float(np.median(samples))}
