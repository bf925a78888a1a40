"""The ``hybrid`` wait (poll for a bounded time, then sleep on the semaphore): a peer that stops mid-run
is still timed out, with nothing left behind; the spin budget in force is recorded."""

from __future__ import annotations

import time

import pytest

from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner


def runner(**overrides: object) -> Runner:
    return Runner(finalise(RunOptions(profile="quick", repeats=1, **overrides)))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["posix-shm", "sysv-shm"])
@pytest.mark.parametrize("workload", ["pingpong", "stream"])
def test_a_peer_that_stops_mid_run_is_timed_out(name: str, workload: str) -> None:
    # In stream the peer only receives: a hang of the initiator's sender stalls it on its semaphore.
    role = "peer" if workload == "pingpong" else "initiator"
    started = time.monotonic()
    cell = runner(timeout_s=1.0, fault=f"hang@5:{role}").measure_cell(Cell(name, "hybrid", workload, 64))
    assert cell["status"] == "failed"
    assert cell["reason"].startswith("timed out after 1 s"), cell["reason"]
    assert time.monotonic() - started < 10  # one calibration run's timeout, and start-up


def test_the_spin_budget_in_force_is_recorded() -> None:
    run = runner().measure_run(Cell("posix-shm", "hybrid", "pingpong", 64), count=50, warmup=5)
    assert run["params"]["wait"] == "hybrid" and run["params"]["spin_us"] == 50.0
    same = runner(pin="same").measure_run(Cell("sysv-shm", "hybrid", "stream", 64), count=50, warmup=5)
    assert same["params"]["wait"] == "block" and same["params"]["spin_us"] == 0  # one core: no spinning
