"""The ``hybrid`` wait (poll for a bounded time, then sleep on the semaphore): a peer that stops mid-run
is still timed out, with nothing left behind; the spin budget in force is recorded; the native tier's
hybrid keeps the counters and the semaphores in step exactly as the Python tier's does (one end of each
tier over the same objects)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest

from ipcbench import native
from ipcbench.ledger import Ledger
from ipcbench.payload import Payload
from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner
from ipcbench.transports import REGISTRY
from ipcbench.transports.base import ChannelSpec
from tests.conftest import IMPLS, skip_unless_tier_runs


def runner(**overrides: object) -> Runner:
    return Runner(finalise(RunOptions(profile="quick", repeats=1, **overrides)))  # type: ignore[arg-type]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", ["posix-shm", "sysv-shm"])
@pytest.mark.parametrize("workload", ["pingpong", "stream"])
def test_a_peer_that_stops_mid_run_is_timed_out(name: str, workload: str, impl: str) -> None:
    skip_unless_tier_runs(impl, name, "hybrid")
    # In stream the peer only receives: a hang of the initiator's sender stalls it on its semaphore.
    role = "peer" if workload == "pingpong" else "initiator"
    started = time.monotonic()
    hanging = runner(timeout_s=1.0, fault=f"hang@5:{role}")
    cell = hanging.measure_cell(Cell(name, "hybrid", workload, 64, impl))
    assert cell["status"] == "failed"
    assert cell["reason"].startswith("timed out after 1 s"), cell["reason"]
    assert time.monotonic() - started < 10  # one calibration run's timeout, and start-up


def test_the_spin_budget_in_force_is_recorded() -> None:
    run = runner().measure_run(Cell("posix-shm", "hybrid", "pingpong", 64), count=50, warmup=5)
    assert run["params"]["wait"] == "hybrid" and run["params"]["spin_us"] == 50.0
    same = runner(pin="same").measure_run(Cell("sysv-shm", "hybrid", "stream", 64), count=50, warmup=5)
    assert same["params"]["wait"] == "block" and same["params"]["spin_us"] == 0  # one core: no spinning


def semaphore_values(name: str, handles: dict[str, Any]) -> list[int]:
    if name == "posix-shm":
        import posix_ipc

        semaphores = [posix_ipc.Semaphore(sem) for sem in handles["sem_names"]]
        values = [sem.value for sem in semaphores]
        for sem in semaphores:
            sem.close()
        return values
    import sysv_ipc

    return [sysv_ipc.Semaphore(key).value for key in handles["sem_keys"]]


@pytest.mark.parametrize("name", ["posix-shm", "sysv-shm"])
def test_native_and_python_hybrid_ends_keep_counters_and_semaphores_in_step(name: str) -> None:
    skip_unless_tier_runs("native", name, "hybrid")
    slots = 4
    spec = ChannelSpec(64, "hybrid", slots, spin_ns=1000)
    transport, ledger = REGISTRY[name](spec), Ledger()
    with contextlib.ExitStack() as cleanup:  # every step undone even if an earlier one raised
        cleanup.callback(ledger.sweep, type(transport).ledger_kinds)
        cleanup.callback(transport.destroy)
        transport.create(ledger)
        python_end = transport.open("peer")
        cleanup.callback(python_end.close)
        native_end = transport.open("initiator")
        cleanup.callback(native_end.close)
        channel = native.open_channel(native_end, spec, "initiator")
        cleanup.callback(channel.close)  # first: it holds the initiator's mapped segment
        sender, checker, received = Payload(64, 3), Payload(64, 3), bytearray(64)
        for first in range(0, 3 * slots, slots):  # a full ring at a time, three times round: never blocks
            channel.send_messages(sender.buffer, first, slots)
            for seq in range(first, first + slots):
                python_end.recv_into(received)
                checker.verify(seq, received)
        back, back_checker = Payload(64, 5), Payload(64, 5)
        for seq in range(slots):
            python_end.send(back.message(seq))
        channel.receive_messages(back_checker.buffer, 0, slots, 1)  # raises PayloadError on any mismatch
        with python_end.handles()["segment"][:256].cast("q") as header:
            # published and consumed, direction 0 then 1 (q-index 16*d and 16*d + 8 of the header)
            counters = (header[0], header[8], header[16], header[24])
        assert counters == (3 * slots, 3 * slots, slots, slots)
        # every take matched by a post: nothing filled, every slot free, in both directions
        assert semaphore_values(name, python_end.handles()) == [0, slots, 0, slots]
