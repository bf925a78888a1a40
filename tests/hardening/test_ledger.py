"""The ledger's clean-up removes only what is provably a dead run's own, and survives damaged ledgers.

A ledger entry is a claim written before the object exists; ``clean`` also asks the kernel whether the
object carries the dead owner's marks. These tests plant ledgers for owners that are dead (a pid that does
not exist) and name objects that are not theirs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import posix_ipc
import pytest
import sysv_ipc

from ipcbench.ledger import Ledger, _owner_alive, clean, live_runs, owner_tag, process_start_time
from tests.conftest import run_cli
from tests.hardening.helpers import object_exists, wait_for

DEAD_PID = 4_000_000  # above pid_max (4194304 at most, and far above any pid in use here)


def uptime_ticks() -> int:
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK"))


def dead_owner(started_ticks: int = 0) -> str:
    return f"{DEAD_PID}-{started_ticks}"


def plant(directory: Path, owner: str, entries: object) -> Path:
    path = directory / f"{owner}.ledger"
    path.write_text(json.dumps({"owner": owner, "entries": entries}))
    return path


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture
def segment() -> Iterator[sysv_ipc.SharedMemory]:
    made = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, mode=0o600, size=4096)
    made.detach()
    yield made
    made.remove()


def test_a_zombie_owner_is_dead() -> None:
    process = subprocess.Popen(["sleep", "30"])
    tag = owner_tag(process.pid)
    try:
        assert _owner_alive(tag)
        os.kill(process.pid, signal.SIGKILL)  # not reaped: a zombie, still in /proc with its start time
        wait_for(
            lambda: Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z",
            5,
            "the zombie",
        )
        assert process_start_time(process.pid) == tag.partition("-")[2]
        assert not _owner_alive(tag)
    finally:
        process.wait()
    assert not _owner_alive(tag)


def test_a_recycled_pid_is_not_the_owner() -> None:
    pid, _, start = owner_tag().partition("-")
    assert _owner_alive(f"{pid}-{start}")
    assert not _owner_alive(f"{pid}-{int(start) + 1}")


def test_a_segment_the_dead_owner_did_not_create_is_left_alone(
    directory: Path, segment: sysv_ipc.SharedMemory
) -> None:
    plant(directory, dead_owner(), [["sysv-shm", str(segment.key)]])
    refused: list[str] = []
    assert clean(directory, refused) == []
    assert object_exists("sysv-shm", str(segment.key))
    assert "was created by pid" in refused[0]
    assert not list(directory.glob("*.ledger"))  # the dead ledger is done with, its claim refused


def test_objects_older_than_the_dead_owner_are_left_alone(directory: Path) -> None:
    semaphore = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, mode=0o600)
    queue = posix_ipc.MessageQueue(
        f"/ipcbench-{DEAD_PID}-00112233aabbccdd",
        posix_ipc.O_CREX,
        mode=0o600,
        max_messages=1,
        max_message_size=16,
    )
    try:
        later = dead_owner(uptime_ticks() + 100_000)  # "started" after both objects were made
        plant(directory, later, [["sysv-sem", str(semaphore.key)], ["posix-mq", queue.name]])
        refused: list[str] = []
        clean(directory, refused)
        assert object_exists("sysv-sem", str(semaphore.key))
        # The queue's age is read through its descriptor, /dev/mqueue mounted or not (both states are run:
        # see test_mqueue_states.py).
        assert object_exists("posix-mq", queue.name)
        assert len(refused) == 2, refused
        assert all("older than" in line for line in refused)
    finally:
        semaphore.remove()
        queue.close()
        queue.unlink()


def test_a_queue_of_the_dead_owner_is_removed_mounted_or_not(directory: Path) -> None:
    name = f"/ipcbench-{DEAD_PID}-00112233aabbccde"
    queue = posix_ipc.MessageQueue(name, posix_ipc.O_CREX, mode=0o600, max_messages=1, max_message_size=16)
    queue.close()
    plant(directory, dead_owner(uptime_ticks() - 100), [["posix-mq", name]])
    refused: list[str] = []
    removed = clean(directory, refused)
    assert (refused, len(removed)) == ([], 1)
    assert not object_exists("posix-mq", name)


def test_a_queue_whose_age_cannot_be_read_is_left_alone(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented choice: an owner and age that cannot be read is no proof, so the queue stays."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise posix_ipc.PermissionsError("Permission denied")

    name = f"/ipcbench-{DEAD_PID}-00112233aabbccdf"
    queue = posix_ipc.MessageQueue(name, posix_ipc.O_CREX, mode=0o600, max_messages=1, max_message_size=16)
    try:
        plant(directory, dead_owner(uptime_ticks() - 100), [["posix-mq", name]])
        monkeypatch.setattr(posix_ipc, "MessageQueue", refuse)
        refused: list[str] = []
        assert clean(directory, refused) == []
        why = f"cannot read the owner and age of queue {name}: Permission denied"
        assert refused == [f"posix-mq {name}: {why}"]
    finally:
        queue.close()
        queue.unlink()


def test_names_and_folders_that_are_not_the_owners_are_left_alone(directory: Path, tmp_path: Path) -> None:
    shm = posix_ipc.SharedMemory("/ipcbench-1-00112233aabbccdd", posix_ipc.O_CREX, mode=0o600, size=64)
    shm.close_fd()
    outside = tmp_path / "precious"
    outside.mkdir()
    inside = directory / "9-9-someone-else"
    inside.mkdir()
    try:
        plant(
            directory,
            dead_owner(),
            [["posix-shm", shm.name], ["dir", str(outside)], ["dir", str(inside)], ["dir", "/"]],
        )
        refused: list[str] = []
        assert clean(directory, refused) == []
        assert len(refused) == 4
        assert outside.is_dir() and inside.is_dir() and Path(f"/dev/shm{shm.name}").exists()
    finally:
        shm.unlink()
        inside.rmdir()


def test_what_a_live_run_also_names_is_left_alone(directory: Path, segment: sysv_ipc.SharedMemory) -> None:
    live = Ledger(directory=directory)
    live.add("sysv-shm", str(segment.key))
    plant(directory, dead_owner(), [["sysv-shm", str(segment.key)]])
    refused: list[str] = []
    assert clean(directory, refused) == []
    assert refused == [f"sysv-shm {segment.key}: a live run's ledger names it too"]
    assert live_runs(directory) == [live.tag] and live.path.exists()
    live.discard("sysv-shm", str(segment.key))
    assert not live.path.exists()


BAD_ENTRIES = [
    ["sysv-shm"],
    ["sysv-shm", 5],
    ["teleporter", "/x"],
    ["sysv-sem", "-1"],
    ["sysv-mq", str(10**40)],
    ["posix-mq", "no-slash"],
    None,
    {"a": 1},
]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"owner": "x", "entries": []}',
        json.dumps({"owner": f"{DEAD_PID}-0", "entries": "sysv-shm 1"}),
        json.dumps({"owner": f"{DEAD_PID}-0", "entries": BAD_ENTRIES}),
        "[" * 100_000,
    ],
    ids=["garbage", "a list", "bad owner", "entries not a list", "bad entries", "deep"],
)
def test_a_damaged_ledger_never_stops_clean(content: str, directory: Path) -> None:
    (directory / f"{DEAD_PID}-0.ledger").write_text(content)
    assert clean(directory) == []


def test_ipcbench_clean_says_what_it_left_alone(state_dir: Path, segment: sysv_ipc.SharedMemory) -> None:
    plant(state_dir, dead_owner(), [["sysv-shm", str(segment.key)]])
    result = run_cli("clean", env={"COLUMNS": "300"})
    assert result.returncode == 0, result.stderr
    assert f"left alone: sysv-shm {segment.key}: segment {segment.key} was created by pid" in result.stdout
    assert object_exists("sysv-shm", str(segment.key))


def test_a_run_sweeps_objects_its_transport_never_got_to_keep(tmp_path: Path) -> None:
    """Ctrl-C between an object's creation and the transport keeping its handle: the object is known only
    to the ledger, and the runner's sweep after the run removes it (and nothing the ledger names that is
    someone else's: a SysV key made by another process under the same key survives)."""
    from ipcbench.transports.posix_shm import SHM_OBJECT
    from ipcbench.transports.sysv_shm import SysvShmTransport

    ledger = Ledger(directory=tmp_path)
    name = f"/ipcbench-{os.getpid()}-{os.urandom(8).hex()}"
    ledger.add("posix-shm", name)
    orphan = posix_ipc.SharedMemory(name, posix_ipc.O_CREX, mode=0o600, size=4096)
    orphan.close_fd()
    stranger = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, mode=0o644, size=4096)
    try:
        ledger.add("sysv-shm", str(stranger.key))
        kinds = {"posix-shm": SHM_OBJECT, **SysvShmTransport.ledger_kinds}
        assert ledger.sweep(kinds) == [f"posix-shm {name}"]
        assert not Path(f"/dev/shm/{name[1:]}").exists()
        assert ledger.entries == [] and not ledger.path.exists()
        assert any(
            row.split()[1] == str(stranger.id)
            for row in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
        )  # still there
    finally:
        stranger.detach()
        stranger.remove()
        with pytest.raises(posix_ipc.ExistentialError):
            posix_ipc.unlink_shared_memory(name)
