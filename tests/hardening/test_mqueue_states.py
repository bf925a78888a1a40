"""The queue-dependent tests once more in the other ``/dev/mqueue`` state, in a private mount namespace.

Whether the queue file system is mounted changes what can be seen of a POSIX queue (its file, the leak
check's view of it) and once broke ``make test`` on machines without it (issue 8). The main run covers this
machine's own state; this test reruns the queue-dependent tests in a private mount namespace
(``unshare -m``) with ``/dev/mqueue`` unmounted and with it mounted, so neither state can break unnoticed.
Mounts made in the namespace vanish with it; the machine's own mounts are never touched.

The rerun also gets its own IPC namespace (``-i``) and its own ``/dev/shm``: its leak check then sees only
its own objects, not those of other test runs sharing the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

QUEUE_TESTS = (
    "tests/hardening/test_ledger.py",
    "tests/transports/test_roundtrip.py",
    "tests/hardening/test_kill.py::test_the_next_run_removes_orphans_of_a_killed_one",
    "-k",
    "ledger or queue or posix-mq or orphans",
)
NESTED = "IPCBENCH_MQUEUE_STATE"  # set inside the namespace, so the rerun does not rerun itself
PRIVATE_SHM = "mount -t tmpfs -o mode=1777 tmpfs /dev/shm"
SETUP = {
    "unmounted": "umount /dev/mqueue 2>/dev/null; ! mountpoint -q /dev/mqueue",
    # A queue file system mounted from inside the new IPC namespace shows that namespace's queues.
    "mounted": "umount /dev/mqueue 2>/dev/null; mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue",
}


def _namespaces_usable() -> str | None:
    if os.environ.get(NESTED):
        return "already inside the namespace rerun"
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare(1) for a private mount namespace"
    probe = subprocess.run(["unshare", "-m", "-i", "true"], capture_output=True, check=False)
    return None if probe.returncode == 0 else f"unshare -m -i refused: {probe.stderr.decode().strip()}"


@pytest.mark.slow
@pytest.mark.parametrize("state", sorted(SETUP))
def test_queue_tests_pass_with_mqueue(state: str) -> None:
    reason = _namespaces_usable()
    if reason is not None:
        pytest.skip(reason)
    pytest_command = " ".join([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
    selection = " ".join(f"'{part}'" for part in QUEUE_TESTS)
    script = f"{PRIVATE_SHM} && {SETUP[state]} && exec {pytest_command} {selection}"
    result = subprocess.run(
        ["unshare", "-m", "-i", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
        env={**os.environ, NESTED: state},
        check=False,
    )
    assert result.returncode == 0, f"/dev/mqueue {state}:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    assert " passed" in result.stdout
