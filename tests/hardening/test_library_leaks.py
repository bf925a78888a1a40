"""The new mechanisms leave nothing behind after Ctrl-C or a SIGKILL of the runner: ``SharedMemory``
segments, eventfds (which die with their processes), the SEQPACKET socket file and the folder of zmq's
``ipc://`` socket file. A killed run's objects are removed by the next ``ipcbench clean`` from its ledger,
without help from multiprocessing's resource tracker (which must not warn either)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipcbench import store
from tests.conftest import ROOT, restore_sigint, run_cli
from tests.hardening.helpers import marked_processes, object_exists, saved_cells, stop, wait_for
from tests.hardening.test_kill import Victim, kill_all_mid_cell

NEW = "mp-pipe,mp-queue,mp-shm,posix-shm/eventfd,unix-seqpacket,zmq"


@pytest.mark.slow
def test_sigkilled_library_runs_are_cleaned(tmp_path: Path, state_dir: Path) -> None:
    victims = [Victim(m, tmp_path / m.replace("/", "-")) for m in ("mp-shm/sem", "zmq", "unix-seqpacket")]
    try:
        kill_all_mid_cell(victims, state_dir)
        for victim in victims:
            wait_for(lambda v=victim: not marked_processes(v.marker), 10, f"{victim.mechanism}'s children")
        orphans = [entry for victim in victims for entry in victim.orphans]
        assert {kind for kind, _ in orphans} == {"posix-shm", "dir"}
        assert all(object_exists(*entry) for entry in orphans)
        cleaned = run_cli("clean")
        assert cleaned.returncode == 0, cleaned.stderr
        assert not [entry for entry in orphans if object_exists(*entry)]
    finally:
        for victim in victims:
            stop(victim.process, signal.SIGKILL)
        run_cli("clean")


def test_ctrl_c_during_library_mechanisms_leaves_nothing(tmp_path: Path) -> None:
    arguments = ["--transports", NEW, "--sizes", "64,4K", "--budget", "0.05", "--repeats", "3"]
    command = [sys.executable, "-m", "ipcbench", "run", *arguments, "--output", str(tmp_path), "--quiet"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=restore_sigint,
    )
    try:
        wait_for(lambda: saved_cells(tmp_path) >= 2, 60, "two saved cells")
        time.sleep(0.2)  # inside a later cell, with objects and children alive
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "resource_tracker" not in stderr and "leaked" not in stderr
    document = store.load(next(tmp_path.glob("*/*.json")))
    assert document["status"] == "interrupted"
    assert all(cell["status"] == "ok" for cell in document["cells"])
