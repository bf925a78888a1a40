"""Resources that run out: a full ``/dev/shm``, a segment larger than ``kernel.shmmax``, no SysV queue
identifiers left, no POSIX queues left (``fs.mqueue.queues_max``), and ``RLIMIT_MSGQUEUE`` exhausted. Each
becomes a failed cell whose reason names what ran out, and the run goes on with the next cell.

The limits are lowered for the run only: a private mount namespace with a 1 MiB tmpfs over ``/dev/shm``, a
private IPC namespace with its own sysctls (and without ``CAP_SYS_RESOURCE``, which would bypass
``queues_max``), and ``setrlimit`` in the child. Tests skip when the machine does not allow namespaces.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ipcbench import store
from tests.conftest import ROOT
from tests.hardening.helpers import result_file

Completed = subprocess.CompletedProcess[str]
QUICK = ("--workloads", "pingpong", "--profile", "quick", "--repeats", "1", "--timeout", "5", "--quiet")


def can_unshare(*flags: str) -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", *flags, "true"], capture_output=True).returncode == 0


def ipcbench_in(flags: tuple[str, ...], setup: str, *args: str, wrapper: str = "") -> Completed:
    """``ipcbench ARGS`` inside new namespaces (``unshare FLAGS``), after ``setup`` ran in them as root."""
    command = " ".join([wrapper, sys.executable, "-m", "ipcbench", *args]).strip()
    return subprocess.run(
        ["unshare", *flags, "sh", "-c", f"{setup} && exec {command}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def cells_by_name(output: Path) -> dict[str, dict]:
    document = store.load(result_file(output))
    assert document["status"] == "complete"
    return {
        cell["transport"] + (f"/{cell['variant']}" if cell["variant"] else ""): cell
        for cell in document["cells"]
    }


@pytest.mark.skipif(not can_unshare("--mount"), reason="needs a private mount namespace (unshare --mount)")
def test_a_full_dev_shm_fails_the_cell_with_the_reason(tmp_path: Path) -> None:
    tiny = "mount -t tmpfs -o size=1M tmpfs /dev/shm"
    result = ipcbench_in(
        ("--mount",),
        tiny,
        "run",
        "--transports",
        "posix-shm/spin,posix-shm/sem,pipe",
        "--sizes",
        "4M",
        *QUICK,
        "--output",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    cells = cells_by_name(tmp_path)
    for name in ("posix-shm/spin", "posix-shm/sem"):
        assert cells[name]["status"] == "failed"
        assert "No space left on device (/dev/shm has too little room" in cells[name]["reason"]
        assert "dev_shm_free=" in cells[name]["reason"]
    assert cells["pipe"]["status"] == "ok"


@pytest.mark.skipif(not can_unshare("--ipc"), reason="needs a private IPC namespace (unshare --ipc)")
def test_exhausted_ipc_limits_fail_their_cells_with_the_limits_quoted(tmp_path: Path) -> None:
    setup = (
        "echo 0 > /proc/sys/kernel/msgmni && echo 4096 > /proc/sys/kernel/shmmax"
        " && echo 0 > /proc/sys/fs/mqueue/queues_max"
    )
    # Root's CAP_SYS_RESOURCE overrides queues_max: drop it, as an ordinary user does not have it either.
    wrapper = "setpriv --bounding-set -sys_resource" if os.geteuid() == 0 and shutil.which("setpriv") else ""
    result = ipcbench_in(
        ("--ipc",),
        setup,
        "run",
        "--transports",
        "sysv-shm/spin,sysv-mq,posix-mq,pipe",
        "--sizes",
        "4K",
        *QUICK,
        "--output",
        str(tmp_path),
        wrapper=wrapper,
    )
    assert result.returncode == 0, result.stderr
    cells = cells_by_name(tmp_path)
    expected = {
        "sysv-shm/spin": ("ValueError: The size is invalid", "shmmax=4096"),
        "sysv-mq": ("message queues has been reached", "msgmni=0"),
        "posix-mq": ("fs.mqueue.queues_max", "mq_queues_max=0"),
    }
    for name, (what, limit) in expected.items():
        assert cells[name]["status"] == "failed", name
        assert what in cells[name]["reason"] and limit in cells[name]["reason"], cells[name]["reason"]
    assert cells["pipe"]["status"] == "ok"


def test_an_exhausted_rlimit_msgqueue_fails_the_cell_with_the_reason(tmp_path: Path) -> None:
    def lower_the_limit() -> None:
        resource.setrlimit(resource.RLIMIT_MSGQUEUE, (64, 64))  # below any queue's size

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ipcbench",
            "run",
            "--transports",
            "posix-mq,pipe",
            "--sizes",
            "64",
            *QUICK,
            "--output",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        preexec_fn=lower_the_limit,
    )
    assert result.returncode == 0, result.stderr
    cells = cells_by_name(tmp_path)
    assert cells["posix-mq"]["status"] == "failed"
    assert "RLIMIT_MSGQUEUE" in cells["posix-mq"]["reason"]
    assert "rlimit_msgqueue=64" in cells["posix-mq"]["reason"]
    assert cells["pipe"]["status"] == "ok"
