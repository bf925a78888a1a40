"""SIGKILL of the runner: nothing measured is lost, nothing leaks for good, nothing foreign is touched;
and the objects a run holds are private to its user (mode 0600, folders 0700, unpredictable names).

A SIGKILLed runner cannot clean up. What must hold anyway: the cells finished before the kill are in a
valid result file that says it is incomplete; the measuring children die with the runner
(``PR_SET_PDEATHSIG``); the objects it held stay behind as orphans, and the next ``ipcbench clean`` (or
``ipcbench run``) removes them, for every kind of object, while a live run's objects, an unrelated SysV
segment and a look-alike ``/dev/shm/ipcbench-*`` object that no ledger names all survive.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import posix_ipc
import pytest
import sysv_ipc

from ipcbench import store
from tests.conftest import run_cli
from tests.hardening.helpers import (
    Entry,
    ledger_of,
    marked_processes,
    new_marker,
    object_exists,
    privacy_problems,
    result_file,
    saved_cells,
    start_run,
    stop,
    wait_for,
)

# One run per mechanism, so that between them they hold every kind of object a ledger knows.
VICTIMS = ("sysv-shm/sem", "posix-shm/sem", "sysv-mq", "posix-mq", "fifo", "unix")
ALL_KINDS = {"sysv-shm", "sysv-sem", "posix-shm", "posix-sem", "sysv-mq", "posix-mq", "dir"}
# Eight cells of several runs each: seconds during which the run holds objects after its first cell (how
# many seconds depends on calibration, which a loaded machine upsets: there must be cells to spare).
LONG_RUN = (
    "--sizes",
    "64,128,256,512,1K,2K,4K,8K",
    "--workloads",
    "pingpong",
    "--profile",
    "quick",
    "--repeats",
    "3",
    "--budget",
    "1",
    "--timeout",
    "30",
)
# An ipcbench-style name that no ledger names; random, so two test runs on one machine never collide on it
# (a fixed name made the second run's fixture fail after its SysV segment was made, leaking the segment).
LOOKALIKE = f"/ipcbench-1-{secrets.token_hex(8)}"


class Victim:
    """A run to be killed mid-cell, with what it held at the moment of the kill."""

    def __init__(self, mechanism: str, output: Path, cells_first: int = 1) -> None:
        self.mechanism = mechanism
        self.cells_first = cells_first  # cells to be saved before the kill
        self.output = output
        self.marker = new_marker()
        self.process = start_run("--transports", mechanism, *LONG_RUN, output=output, marker=self.marker)
        self.orphans: list[Entry] = []
        self.privacy_problems: list[str] = []

    def try_kill(self, state_dir: Path) -> bool:
        """Kill the run if it has saved a cell and holds objects now; True once killed.

        The runner is stopped first (SIGSTOP), so what its ledger says and what exists cannot change
        between the look and the kill: between two runs of a cell the ledger is briefly empty."""
        if self.process.poll() is not None:
            out, err = self.process.communicate()
            raise AssertionError(f"{self.mechanism} ended before it could be killed: {out} {err}")
        if saved_cells(self.output) < self.cells_first or not ledger_of(state_dir, self.process.pid):
            return False
        self.process.send_signal(signal.SIGSTOP)
        held = ledger_of(state_dir, self.process.pid)
        if not held or not all(object_exists(*entry) for entry in held):
            self.process.send_signal(signal.SIGCONT)  # caught between two steps: look again later
            return False
        # While the run is frozen with its objects: are they private to their user?
        self.privacy_problems = [problem for entry in held for problem in privacy_problems(*entry)]
        self.process.kill()
        self.process.communicate()
        self.orphans = held
        return True


@pytest.fixture
def bystanders() -> Iterator[dict[str, object]]:
    """Objects that are not any dead run's: an unrelated SysV segment of ours (mode 0600, like ipcbench's)
    and a POSIX segment whose name looks like ipcbench's but that no ledger names."""
    with contextlib.ExitStack() as undo:
        segment = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, mode=0o600, size=4096)
        undo.callback(segment.remove)
        undo.callback(segment.detach)
        lookalike = posix_ipc.SharedMemory(LOOKALIKE, posix_ipc.O_CREX, mode=0o600, size=4096)
        undo.callback(lookalike.unlink)
        lookalike.close_fd()
        yield {"sysv": segment, "posix": lookalike}


def kill_all_mid_cell(victims: list[Victim], state_dir: Path) -> None:
    # Every run removes dead runs' orphans when it starts: kill none before all have started measuring,
    # or a late starter would clean up after an early victim before we look.
    wait_for(
        lambda: all(
            saved_cells(victim.output) >= victim.cells_first and victim.process.poll() is None
            for victim in victims
        ),
        90,
        "every victim to start measuring",
    )
    pending = list(victims)

    def step() -> bool:
        pending[:] = [victim for victim in pending if not victim.try_kill(state_dir)]
        return not pending

    wait_for(step, 90, "every victim to save a cell and hold objects")


@pytest.mark.slow
def test_sigkilled_runs_are_cleaned_and_nothing_else_is(
    tmp_path: Path, state_dir: Path, bystanders: dict[str, object]
) -> None:
    live_marker = new_marker()
    live = start_run(
        "--transports",
        "sysv-shm/sem",
        "--sizes",
        "64",
        "--workloads",
        "pingpong",
        "--timeout",
        "60",
        output=tmp_path / "live",
        marker=live_marker,
        env={"IPCBENCH_INJECT_FAULT": "hang@5:peer"},
    )  # holds its objects until stopped
    victims = [Victim(mechanism, tmp_path / mechanism.replace("/", "-")) for mechanism in VICTIMS]
    try:
        kill_all_mid_cell(victims, state_dir)
        live_objects = wait_for(lambda: ledger_of(state_dir, live.pid), 30, "the live run to hold objects")

        # Children die with their runner, and the orphans are really there.
        for victim in victims:
            wait_for(lambda v=victim: not marked_processes(v.marker), 10, f"{victim.mechanism}'s children")
        orphans = [entry for victim in victims for entry in victim.orphans]
        assert {kind for kind, _ in orphans} == ALL_KINDS
        assert all(object_exists(*entry) for entry in orphans)

        # Every object was private to its user while the runs held them, under an unguessable name or key.
        assert [problem for victim in victims for problem in victim.privacy_problems] == []
        keys = [identifier for kind, identifier in orphans if kind.startswith("sysv-")]
        assert len(set(keys)) == len(keys)
        assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700

        # What was measured is kept, in a valid file that says it is incomplete.
        for victim in victims:
            document = store.load(result_file(victim.output))
            assert document["status"] == "running" and len(document["cells"]) >= 1
            assert all(cell["status"] == "ok" for cell in document["cells"]), document["cells"]
            assert "INCOMPLETE" in (store.incomplete_reason(document) or "")

        cleaned = run_cli("clean")
        assert cleaned.returncode == 0, cleaned.stderr
        said = " ".join(cleaned.stdout.split())  # rich wraps long lines
        assert "left alone: objects of 1 run(s) still alive" in said
        assert said.count("left by dead run") == len(orphans)

        assert not [entry for entry in orphans if object_exists(*entry)]
        assert all(object_exists(*entry) for entry in live_objects)
        assert ledger_of(state_dir, live.pid) == live_objects
        assert object_exists("sysv-shm", str(bystanders["sysv"].key))  # type: ignore[attr-defined]
        assert Path(f"/dev/shm{LOOKALIKE}").exists()
    finally:
        for victim in victims:
            stop(victim.process, signal.SIGKILL)
        assert stop(live) == 130  # SIGTERM: the live run cleans up after itself
        run_cli("clean")  # whatever a failed assertion above left behind
    assert store.load(result_file(tmp_path / "live"))["status"] == "interrupted"
    assert not marked_processes(live_marker)


@pytest.mark.slow
def test_the_next_run_removes_orphans_of_a_killed_one(tmp_path: Path, state_dir: Path) -> None:
    victim = Victim("posix-mq", tmp_path / "victim", cells_first=0)
    try:
        kill_all_mid_cell([victim], state_dir)
    finally:
        stop(victim.process, signal.SIGKILL)
    assert victim.orphans and all(object_exists(*entry) for entry in victim.orphans)

    result = run_cli(
        "run",
        "--transports",
        "pipe",
        "--sizes",
        "64",
        "--workloads",
        "pingpong",
        "--profile",
        "quick",
        "--repeats",
        "1",
        "--output",
        str(tmp_path / "next"),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert " ".join(result.stdout.split()).count("removed an orphan") == len(victim.orphans)
    assert not [entry for entry in victim.orphans if object_exists(*entry)]
    document = store.load(result_file(tmp_path / "next"))
    assert len(document["objects_cleaned_at_start"]) == len(victim.orphans)
