"""Shared fixtures: every test is checked for leaked IPC objects, and runs with a private state folder.

``no_leaks`` (autouse) snapshots the SysV objects (``/proc/sysvipc``), ``/dev/shm``, ``/dev/mqueue`` and the
ipcbench state folder before a test and fails the test if anything new is left after it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Simulate an installation without the C extension (no compiler at install time): the whole suite must pass
# like this too, with every native cell skipped and the reason said (``IPCBENCH_TEST_NO_NATIVE=1 make test``).
if os.environ.get("IPCBENCH_TEST_NO_NATIVE") == "1":
    sys.modules["ipcbench._native"] = None  # type: ignore[assignment]

_STATE = tempfile.mkdtemp(prefix="ipcbench-test-state-")
os.chmod(_STATE, 0o700)
os.environ["IPCBENCH_STATE_DIR"] = _STATE
os.environ.pop("IPCBENCH_INJECT_FAULT", None)

ROOT = Path(__file__).resolve().parent.parent


def ipc_objects() -> set[str]:
    """Every IPC object visible on this machine now, as comparable strings."""
    found: set[str] = set()
    for kind in ("shm", "msg", "sem"):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        found.update(
            f"sysv-{kind} key={line.split()[0]} id={line.split()[1]}" for line in lines if line.strip()
        )
    for folder in ("/dev/shm", "/dev/mqueue", _STATE):
        if os.path.isdir(folder):
            found.update(f"{folder}/{name}" for name in os.listdir(folder))
    return found


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    before = ipc_objects()
    yield
    leaked = ipc_objects() - before
    # An object that disappears within a moment was in use by something still running (another run on a
    # shared developer machine); a leak stays.
    deadline = time.monotonic() + 2.0
    while leaked and time.monotonic() < deadline:
        time.sleep(0.1)
        leaked &= ipc_objects()
    assert not leaked, f"the test left IPC objects behind: {sorted(leaked)}"


@pytest.fixture
def state_dir() -> Path:
    return Path(_STATE)


def restore_sigint() -> None:
    """``preexec_fn`` for a child a test will Ctrl-C: a shell starts background jobs (CI runners, ``make
    test &``) with SIGINT ignored, a Python child then inherits that and installs no KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``ipcbench ARGS`` in a subprocess (through ``tests.launcher``: with the mock, and the fault
    named by ``IPCBENCH_INJECT_FAULT`` in ``env``) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "tests.launcher", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd or ROOT,
    )


@pytest.fixture
def cli() -> object:
    return run_cli


IMPLS = ("python", "native")


def skip_unless_tier_runs(impl: str, transport: str, variant: str | None) -> None:
    """Skip a test of a cell its tier cannot run here: no native tier, or a native-only variant in Python."""
    from ipcbench import native
    from ipcbench.plan import in_tier

    if impl == "native" and native.unavailable() is not None:
        pytest.skip(f"native tier unavailable: {native.unavailable()}")
    if not in_tier(impl, transport, variant):
        pytest.skip(f"{transport}{'/' + variant if variant else ''} has no {impl} tier")
