"""The wake-up probe: a fixed, tiny measurement of the machine's state, taken beside the cells of a run.

On small VMs a blocking wake-up (a process asleep in the kernel, woken by its peer) costs ~90 us in one
phase and ~300 us in the next (a guest whose idle CPUs halt: every wake-up comes back through the host),
and cross-core cache-line handoffs have modes of their own. Those phases last minutes, so two result files
measured minutes apart can differ by 3x in every blocking round trip while each file's runs agree with one
another. A noise floor estimated inside one file cannot see that; ``compare`` needs a witness that the
machine, not the code, changed.

The probe is that witness. It shares no code with ipcbench's transports or workloads, so no change under
test can move it: two forked processes, pinned like the cells' pair, exchange

* ``pipe``: 64 B round trips over two raw ``os.pipe``s, both sides blocking in ``read`` (two blocking
  wake-ups per round trip, the least that any blocking mechanism pays), and
* ``spin``: handoffs of one byte through a shared anonymous mapping, both sides polling (no wake-up at all:
  the control that tells a wake-up change from a slower machine).

Each is capped in count and time, so a probe takes a few tens of milliseconds in the fast mode and at most
~0.3 s in the slow one. The runner probes before the first cell, after the middle one and after the last
(under 1 s in all), and stores each probe's percentiles under the result file's optional ``wake_probe``.
"""

from __future__ import annotations

import mmap
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ipcbench import peer
from ipcbench.errors import PeerError
from ipcbench.records import PeerReport

METHOD = (
    "raw os.pipe ping-pong of 64 B (both sides blocking in read) and a one-byte spin handoff through a "
    "shared anonymous mapping, between two forked processes pinned like the cells; no ipcbench transport"
)
WAIT_OF_KIND = {"pipe": "block", "spin": "spin"}  # each probe: the ``wait`` mode of the cells it speaks for
KINDS = tuple(WAIT_OF_KIND)
PERCENTILES = (10, 50, 90, 99)
WARMUP = 50
PIPE_ROUND_TRIPS, PIPE_CAP_S = 1000, 0.15
SPIN_HANDOFFS, SPIN_CAP_S = 2000, 0.03
TIMEOUT_S = 10.0
MESSAGE = 64
PONG = 128  # the spin echo's byte: another cache line than the initiator's


def measure(initiator_cpu: int | None, peer_cpu: int | None) -> dict[str, Any]:
    """One probe: ``{"pipe": {"round_trips", "p10_ns", "p50_ns", ...}, "spin": {...}}``, or
    ``{"error": ...}`` when it could not run (never raises for that: a probe must not fail a run)."""
    # Spinning sides yield unless they are known to run on two CPUs (unpinned, they may share one).
    same_core = initiator_cpu is None or initiator_cpu == peer_cpu
    ping, pong = os.pipe(), os.pipe()
    held = [*ping, *pong]  # the runner's copies, closed once both children hold theirs
    shared = mmap.mmap(-1, mmap.PAGESIZE)  # MAP_SHARED | MAP_ANONYMOUS: both children see one page
    children: list[peer.Child] = []
    try:
        echo = _echo(ping[0], pong[1], shared, same_core)
        children.append(peer.fork_child("probe echo", echo, peer_cpu))
        timed = _timed(ping[1], pong[0], shared, same_core)
        children.append(peer.fork_child("probe initiator", timed, initiator_cpu))
        while held:
            os.close(held.pop())
        peer.wait_all(children, TIMEOUT_S)
    except (PeerError, OSError) as exc:
        return {"error": str(exc)}
    finally:
        peer.kill_all(children)
        for fd in held:
            os.close(fd)
        shared.close()
    report = children[1].report
    if report is None or report.samples is None or report.messages is None:
        return {"error": "the probe's initiator sent no samples"}
    samples = np.frombuffer(report.samples, dtype=np.int64)
    return {"pipe": _summary(samples[: report.messages]), "spin": _summary(samples[report.messages :])}


def _summary(samples: np.ndarray) -> dict[str, Any]:
    figures = np.percentile(samples, PERCENTILES) if len(samples) else [None] * len(PERCENTILES)
    summary: dict[str, Any] = {"round_trips": len(samples)}
    summary.update(
        {f"p{q}_ns": None if v is None else float(v) for q, v in zip(PERCENTILES, figures, strict=True)}
    )
    return summary


def _timed(write_fd: int, read_fd: int, shared: mmap.mmap, same_core: bool) -> Callable[[], PeerReport]:
    def run() -> PeerReport:
        pipe = _pipe_round_trips(write_fd, read_fd)
        spin = _spin_handoffs(shared, same_core)
        # The echo needs to know when the pipe part ends, since its count is capped by time: a zero byte.
        return PeerReport(ok=True, samples=pipe.tobytes() + spin.tobytes(), messages=len(pipe))

    return run


def _pipe_round_trips(write_fd: int, read_fd: int) -> np.ndarray:
    clock, message = time.perf_counter_ns, b"w" * MESSAGE
    times: list[int] = []
    stop = clock() + int(PIPE_CAP_S * 1e9)
    for index in range(WARMUP + PIPE_ROUND_TRIPS):
        start = clock()
        os.write(write_fd, message)
        if len(os.read(read_fd, MESSAGE)) != MESSAGE:
            raise PeerError("the probe's echo sent a short message")
        end = clock()
        if index >= WARMUP:
            times.append(end - start)
            if end > stop:
                break
    os.write(write_fd, b"\0" * MESSAGE)  # the end of the pipe part
    return np.asarray(times, dtype=np.int64)


def _spin_handoffs(shared: mmap.mmap, same_core: bool) -> np.ndarray:
    clock, times = time.perf_counter_ns, []
    stop = clock() + int(SPIN_CAP_S * 1e9)
    value = 0
    for index in range(WARMUP + SPIN_HANDOFFS):
        value = value % 255 + 1  # 1..255: 0 is the echo's "done"
        start = clock()
        shared[0] = value
        while shared[PONG] != value:
            if same_core:
                os.sched_yield()  # one CPU for both: let the echo run
        end = clock()
        if index >= WARMUP:
            times.append(end - start)
            if end > stop:
                break
    shared[0] = 0  # done
    return np.asarray(times, dtype=np.int64)


def _echo(read_fd: int, write_fd: int, shared: mmap.mmap, same_core: bool) -> Callable[[], PeerReport]:
    def run() -> PeerReport:
        while (message := os.read(read_fd, MESSAGE)) != b"\0" * MESSAGE:
            os.write(write_fd, message)
        seen = 0
        while True:
            value = shared[0]
            if value == seen:
                if same_core:
                    os.sched_yield()
                continue
            if value == 0:
                return PeerReport(ok=True)
            seen = shared[PONG] = value

    return run


def probe_at(document: dict[str, Any], at: str, cells_done: int, cpus: tuple[int | None, int | None]) -> None:
    """Take one probe and append it to ``document["wake_probe"]`` (created on the first probe)."""
    section = document.setdefault(
        "wake_probe", {"method": METHOD, "initiator_cpu": cpus[0], "peer_cpu": cpus[1], "probes": []}
    )
    started = time.time()
    found = measure(*cpus)
    found.update(at=at, after_cells=cells_done, seconds=round(time.time() - started, 4))
    section["probes"].append(found)


def p50s(document: dict[str, Any], kind: str) -> list[float]:
    """The ``kind`` probe's p50 of every probe in the file that measured it (empty: no probe)."""
    section = document.get("wake_probe") or {}
    return [
        float(probe[kind]["p50_ns"])
        for probe in section.get("probes", [])
        if isinstance(probe.get(kind), dict) and probe[kind].get("p50_ns")
    ]


def text(document: dict[str, Any]) -> str | None:
    """``wake-up probe p50 (pipe / spin): start 63.7 / 0.81 us, middle ...``, for ``show``; None without."""
    probes = (document.get("wake_probe") or {}).get("probes") or []
    if not probes:
        return None
    parts = [
        f"{probe.get('at')} {probe['pipe']['p50_ns'] / 1e3:.1f} / {probe['spin']['p50_ns'] / 1e3:.2f} us"
        if probe.get("pipe")
        and probe.get("spin")
        and probe["pipe"].get("p50_ns")
        and probe["spin"].get("p50_ns")
        else f"{probe.get('at')} failed ({probe.get('error')})"
        for probe in probes
    ]
    return f"wake-up probe p50 (pipe / spin): {', '.join(parts)}"
