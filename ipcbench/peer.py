"""The two measuring processes of a run, forked from the runner, and how the runner waits for them.

Children are forked (not spawned): they inherit the already-imported modules and the transport object, so
a fresh pair costs a millisecond or two instead of a Python start-up. Each child:

* asks the kernel to SIGKILL it if the runner dies (``PR_SET_PDEATHSIG``), so a spinning orphan can never
  burn a core after a crash; ignores SIGINT (the runner owns Ctrl-C and kills its children itself);
* turns off the garbage collector (a collection pause would land in the samples);
* pins itself to its CPU if placement asks for it, opens its endpoint, runs its side of the workload, and
  writes one pickled report to its result pipe, then ``os._exit``s (never returning into runner code).

The runner waits with ``select`` on the result pipes (blocking, never polling, so the measuring pair has
the machine's cores to itself) until both have reported, one has failed, or the deadline has passed; then
it kills and reaps whatever is left.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import selectors
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipcbench import workloads
from ipcbench.errors import PeerError
from ipcbench.faults import Fault, FaultySender
from ipcbench.records import PeerReport
from ipcbench.transports.base import Transport
from ipcbench.workloads import Job, Workload

PR_SET_PDEATHSIG = 1
RUNNER_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@dataclass
class Child:
    role: str
    pid: int
    result_fd: int
    data: bytearray = field(default_factory=bytearray)
    report: PeerReport | None = None
    status: int | None = None


def _libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


LIBC = _libc()  # opened once, in the runner: every child inherits it instead of opening it again


def _die_with_parent(parent: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def current_cpu() -> int | None:
    """The CPU this process runs on (``sched_getcpu``; else field 39 of /proc/self/stat, where it last
    ran)."""
    with contextlib.suppress(AttributeError):
        cpu = int(LIBC.sched_getcpu())
        if cpu >= 0:
            return cpu
    try:
        return int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return None


def _child_main(
    role: str, transport: Transport, job: Job, sync: tuple[int, int], fault: Fault | None
) -> PeerReport:
    sync_r, sync_w = sync
    endpoint = transport.open(role)
    clock, cpu_clock = endpoint.clock, endpoint.cpu_clock
    workload = workloads.get(job.workload)
    try:
        side, over = _side(role, job, workload, endpoint, transport, fault)
        try:
            if role == "initiator":
                os.close(sync_w)
                report = side(over, job, sync_r, clock, cpu_clock)
            else:
                os.close(sync_r)
                report = side(over, job, sync_w, cpu_clock)
        finally:
            over.close()  # a native channel first: it holds the endpoint's mapped segment
    finally:
        endpoint.close()
    return PeerReport(ok=True, cpu=current_cpu(), **report)


def _side(
    role: str, job: Job, workload: Workload, endpoint: Any, transport: Transport, fault: Fault | None
) -> tuple[Callable[..., dict[str, Any]], Any]:
    """This role's half of the workload in the job's tier, and what it runs over: the endpoint (Python), a
    C channel over the endpoint's handles (native); either with the test-only fault switch set."""
    faulty = fault is not None and fault.role == role
    if job.impl == "native":
        from ipcbench import native

        channel = native.open_channel(endpoint, transport.spec, role)
        if faulty and fault is not None:
            channel.set_fault(fault.kind, fault.seq)
        return (workload.native_initiator if role == "initiator" else workload.native_peer), channel
    over = FaultySender(endpoint, fault) if faulty and fault is not None else endpoint
    return (workload.initiator if role == "initiator" else workload.peer), over


def spawn(
    role: str, transport: Transport, job: Job, sync: tuple[int, int], cpu: int | None, fault: Fault | None
) -> Child:
    """Fork one measuring process; the runner keeps the read end of its result pipe."""
    return fork_child(role, lambda: _child_main(role, transport, job, sync, fault), cpu)


def fork_child(role: str, body: Callable[[], PeerReport], cpu: int | None = None) -> Child:
    """Fork a child that runs ``body`` (pinned to ``cpu`` first when given, with the collector off) and
    pickles its report to the runner; the runner keeps the read end of the result pipe."""
    result_r, result_w = os.pipe()
    parent = os.getpid()
    # Ctrl-C and SIGTERM are held while forking: one arriving at that moment is delivered to the runner
    # right after (never lost), and the child sets its own dispositions before it can receive either.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, RUNNER_SIGNALS)
    try:
        pid = os.fork()
    finally:
        if os.getpid() == parent:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
    if pid == 0:  # pragma: no cover - runs in the child, which never returns
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(result_r)
            _die_with_parent(parent)
            gc.disable()
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})
            report = body()
        except BaseException as exc:
            code = 1
            report = PeerReport(ok=False, error=_describe(exc), traceback=traceback.format_exc(limit=8))
        try:
            with os.fdopen(result_w, "wb") as out:
                pickle.dump(report, out)
        finally:
            os._exit(code)
    os.close(result_w)
    return Child(role, pid, result_r)


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    return f"{name}: {exc}" if str(exc) else name


def wait_all(children: list[Child], timeout_s: float) -> None:
    """Collect every child's report; raise ``PeerError`` on failure, death or timeout. Always reaps."""
    try:
        _collect(children, time.monotonic() + timeout_s, timeout_s)
    finally:
        kill_all(children)


# Once one side has failed, how long the other may take to say why it failed too: the receiver that
# caught a bad message explains more than the sender that only saw the connection drop.
GRACE_AFTER_FAILURE_S = 1.0


def _collect(children: list[Child], deadline: float, timeout_s: float) -> None:
    failures: list[PeerError] = []
    with selectors.DefaultSelector() as selector:
        for child in children:
            selector.register(child.result_fd, selectors.EVENT_READ, child)
        pending = len(children)
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if failures:
                    break
                raise PeerError(
                    f"timed out after {timeout_s:g} s: {_waiting_for(children)} did not finish "
                    "(hung, or far slower than calibrated)"
                )
            for key, _ in selector.select(remaining):
                child = key.data
                chunk = os.read(child.result_fd, 1 << 20)
                if chunk:
                    child.data += chunk
                    continue
                selector.unregister(child.result_fd)
                pending -= 1
                failure = _finish(child)
                if failure is not None:
                    failures.append(failure)
                    deadline = min(deadline, time.monotonic() + GRACE_AFTER_FAILURE_S)
    if failures:
        raise min(failures, key=lambda f: "PayloadError" not in str(f))


def _waiting_for(children: list[Child]) -> str:
    names = [child.role for child in children if child.report is None]
    return " and ".join(names) or "a child"


def _finish(child: Child) -> PeerError | None:
    """The child closed its result pipe: decode its report, or explain how it died."""
    os.close(child.result_fd)
    child.result_fd = -1
    try:
        report = pickle.loads(child.data) if child.data else None
        child.report = report if isinstance(report, PeerReport) else None
    except Exception:
        child.report = None
    if child.report is None:
        _, status = os.waitpid(child.pid, 0)
        child.status = status
        return PeerError(f"the {child.role} process died without a report ({_exit_text(status)})")
    if not child.report.ok:
        return PeerError(f"{child.role}: {child.report.error}")
    return None


def _exit_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return f"killed by {signal.Signals(number).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def kill_all(children: list[Child]) -> None:
    """SIGKILL and reap every child still alive; close result pipes. Idempotent."""
    for child in children:
        if child.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                child.status = os.waitpid(child.pid, 0)[1]
        if child.result_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(child.result_fd)
            child.result_fd = -1
