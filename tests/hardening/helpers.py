"""Helpers for the hardening tests: runs started in the background, waiting without sleeping blindly, and
looking at kernel objects the way an administrator would (``/proc/sysvipc``, ``/dev/shm``, ``/dev/mqueue``).

Every background run carries a marker in its environment; forked children inherit it, so "no ipcbench
process is left" is checked by looking for the marker in ``/proc/*/environ`` instead of trusting pids.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ipcbench import store
from tests.conftest import ROOT

MARKER = "IPCBENCH_HARDENING_MARKER"
T = TypeVar("T")
Entry = tuple[str, str]
SYSV_TABLES = {"sysv-shm": "shm", "sysv-sem": "sem", "sysv-mq": "msg"}
MQUEUE_MOUNTED = os.path.ismount("/dev/mqueue")


def new_marker() -> str:
    return uuid.uuid4().hex


def start_run(
    *args: str,
    output: Path,
    marker: str,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[str]:
    """``ipcbench run --output OUTPUT --quiet ARGS`` in the background (through ``tests.launcher``)."""
    command = [sys.executable, "-m", "tests.launcher", "run", "--output", str(output), "--quiet", *args]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, MARKER: marker, "COLUMNS": "500", **(env or {})},
        preexec_fn=preexec_fn,
    )  # COLUMNS: rich would wrap the "results: PATH" line


def wait_for(predicate: Callable[[], T], timeout: float, what: str) -> T:
    """Poll ``predicate`` every 20 ms until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def ledger_of(state_dir: Path, pid: int) -> list[Entry]:
    """The objects the run with this pid holds now, from its ledger ([] if it holds none)."""
    for path in state_dir.glob(f"{pid}-*.ledger"):
        try:
            return [(kind, identifier) for kind, identifier in json.loads(path.read_text())["entries"]]
        except (OSError, ValueError):
            return []  # replaced while we read it: ask again
    return []


def result_file(output: Path) -> Path | None:
    found = sorted(output.rglob("*.json"))
    return found[0] if found else None


def saved_cells(output: Path) -> int:
    path = result_file(output)
    return len(store.load(path)["cells"]) if path is not None else 0


def marked_processes(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment carries ``marker``."""
    found = []
    needle = f"{MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in environ and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 15) -> int:
    """Signal a background run (if it still runs) and reap it; its exit status."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
    return process.returncode


def sysv_row(kind: str, key: int) -> dict[str, str] | None:
    lines = Path(f"/proc/sysvipc/{SYSV_TABLES[kind]}").read_text().splitlines()
    header = lines[0].split()
    for line in lines[1:]:
        row = dict(zip(header, line.split(), strict=False))
        if int(row["key"]) == key:
            return row
    return None


def object_path(kind: str, identifier: str) -> Path | None:
    """Where a POSIX object or folder shows in the file system (None: SysV, or mqueue not mounted)."""
    if kind == "posix-shm":
        return Path("/dev/shm") / identifier[1:]
    if kind == "posix-sem":
        return Path("/dev/shm") / f"sem.{identifier[1:]}"
    if kind == "posix-mq":
        return Path("/dev/mqueue") / identifier[1:] if MQUEUE_MOUNTED else None
    if kind == "dir":
        return Path(identifier)
    return None


def object_exists(kind: str, identifier: str) -> bool:
    if kind in SYSV_TABLES:
        return sysv_row(kind, int(identifier)) is not None
    path = object_path(kind, identifier)
    if path is not None:
        return path.exists()
    import posix_ipc  # an unmounted mqueue: ask the kernel by opening without creating

    try:
        posix_ipc.MessageQueue(identifier).close()
    except posix_ipc.ExistentialError:
        return False
    return True


def object_mode(kind: str, identifier: str) -> int | None:
    """Permission bits of an object as the kernel reports them (None where it cannot be seen)."""
    if kind in SYSV_TABLES:
        row = sysv_row(kind, int(identifier))
        return None if row is None else int(row["perms"], 8) & 0o777
    path = object_path(kind, identifier)
    return None if path is None else path.stat().st_mode & 0o777


def describe(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)


POSIX_NAME = re.compile(r"/ipcbench-\d+-[0-9a-f]{16}")  # the creator's pid (whose it is) + 64 random bits


def privacy_problems(kind: str, identifier: str) -> list[str]:
    """Why an object is not private to its user (empty if it is): mode 0600, a folder 0700 holding only
    0600 FIFOs and sockets, a POSIX name with 64 random bits in it."""
    problems = []
    if kind == "dir":
        folder = Path(identifier)
        if stat.S_IMODE(folder.stat().st_mode) != 0o700:
            problems.append(f"{folder} has mode {stat.S_IMODE(folder.stat().st_mode):o}")
        for path in folder.iterdir():
            info = path.lstat()
            special = stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode)
            if not special or stat.S_IMODE(info.st_mode) != 0o600:
                problems.append(f"{path} is not a 0600 FIFO or socket ({info.st_mode:o})")
        return problems
    if kind.startswith("posix-") and not POSIX_NAME.fullmatch(identifier):
        problems.append(f"{identifier} is not an unpredictable name")
    mode = object_mode(kind, identifier)
    if mode is not None and mode != 0o600:  # None: a POSIX queue without /dev/mqueue mounted
        problems.append(f"{kind} {identifier} has mode {mode:o}")
    return problems
