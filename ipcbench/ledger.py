"""A ledger of the kernel objects a runner has created, so that a killed run can be cleaned up later.

SysV objects have numeric keys and outlive every process; POSIX objects, FIFOs and socket files outlive
theirs too. Before a runner creates an object it writes the object into its ledger file (one file per
runner, named after its pid and the process start time, so a recycled pid is never mistaken for it); after
removing it, it strikes it out. ``ipcbench clean`` (and the start of every ``ipcbench run``) removes the
objects of ledgers whose owner is dead, and never touches a live run's objects or objects that are not
ipcbench's: only what a ledger names is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Entry = tuple[str, str]  # (kind, identifier): ("sysv-shm", "12345"), ("posix-mq", "/ipcbench-..."), ...


def state_dir() -> Path:
    """The private folder (mode 0700) for ledgers, FIFOs and socket files of this user."""
    path = Path(os.environ.get("IPCBENCH_STATE_DIR") or f"{tempfile.gettempdir()}/ipcbench-{os.getuid()}")
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{path} must be a folder owned by you with mode 0700; remove it and retry")
    return path


def process_start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot): with the pid, it names one process for good."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[19]


def owner_tag(pid: int | None = None) -> str:
    """``PID-STARTTIME`` of a process (this one by default): the prefix of everything it owns."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{process_start_time(pid)}"


def _owner_alive(tag: str) -> bool:
    pid_text, _, start = tag.partition("-")
    return pid_text.isdigit() and process_start_time(int(pid_text)) == start


@dataclass
class Ledger:
    """The objects one runner process has created and not yet removed, mirrored to a file."""

    directory: Path = field(default_factory=state_dir)
    tag: str = field(default_factory=owner_tag)
    entries: list[Entry] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.directory / f"{self.tag}.ledger"

    def add(self, kind: str, identifier: str) -> None:
        """Record an object *before* creating it, so a kill between the two still leaves a trace."""
        self.entries.append((kind, identifier))
        self._write()

    def discard(self, kind: str, identifier: str) -> None:
        with contextlib.suppress(ValueError):
            self.entries.remove((kind, identifier))
        self._write()

    def private_dir(self) -> Path:
        """A fresh folder (mode 0700) for FIFOs and socket files, recorded in the ledger."""
        path = Path(tempfile.mkdtemp(prefix=f"{self.tag}-", dir=self.directory))
        self.add("dir", str(path))
        return path

    def _write(self) -> None:
        if not self.entries:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"owner": self.tag, "entries": self.entries}))
        os.replace(tmp, self.path)


def remove_object(kind: str, identifier: str) -> bool:
    """Remove one object named in a ledger; False if it was already gone."""
    import posix_ipc
    import sysv_ipc

    sysv = {"sysv-shm": sysv_ipc.SharedMemory, "sysv-sem": sysv_ipc.Semaphore, "sysv-mq": sysv_ipc.MessageQueue}
    posix = {
        "posix-shm": posix_ipc.unlink_shared_memory,
        "posix-sem": posix_ipc.unlink_semaphore,
        "posix-mq": posix_ipc.unlink_message_queue,
    }
    try:
        if kind in sysv:
            sysv[kind](int(identifier)).remove()
        elif kind in posix:
            posix[kind](identifier)
        elif kind == "dir":
            if not os.path.isdir(identifier):
                return False
            shutil.rmtree(identifier)
        else:
            raise ValueError(f"unknown object kind {kind!r} in a ledger")
    except (sysv_ipc.ExistentialError, posix_ipc.ExistentialError, FileNotFoundError):
        return False
    return True


def _ledgers(directory: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(directory.glob("*.ledger")):
        try:
            yield path, json.loads(path.read_text())
        except (OSError, ValueError):
            continue


def clean(directory: Path | None = None) -> list[str]:
    """Remove every object recorded by runners that are no longer alive; return what was removed."""
    directory = state_dir() if directory is None else directory
    removed: list[str] = []
    for path, ledger in _ledgers(directory):
        owner = str(ledger.get("owner", ""))
        if _owner_alive(owner):
            continue
        for kind, identifier in ledger.get("entries", []):
            if remove_object(kind, identifier):
                removed.append(f"{kind} {identifier} (left by dead run {owner})")
        path.unlink(missing_ok=True)
    for leftover in directory.glob("*.tmp"):
        if not _owner_alive(leftover.stem):
            leftover.unlink(missing_ok=True)
    return removed


def live_runs(directory: Path | None = None) -> list[str]:
    """Owner tags of runs that are alive now and hold objects (for ``ipcbench clean`` to mention)."""
    directory = state_dir() if directory is None else directory
    return [str(led.get("owner")) for _, led in _ledgers(directory) if _owner_alive(str(led.get("owner", "")))]
