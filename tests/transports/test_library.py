"""The library layer and the new kernel mechanisms: what is special about each beyond carrying data
(``test_roundtrip`` carries data through all of them).

* ``multiprocessing.shared_memory`` on Python 3.11: the resource tracker must neither unlink a segment
  under a run nor warn at exit, whether the run ends normally, a child exits through the interpreter's
  normal shutdown, or the runner is SIGKILLed (then the ledger, not the tracker, cleans up);
* pyzmq is optional: without it ``zmq`` is listed as unavailable with the install command and its cells are
  skipped, and nothing else notices;
* ``unix-seqpacket`` skips a size its send buffer cannot hold, with the sysctl that would allow it;
* every mechanism declares its layer, ``list`` shows it and the result file records it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ipcbench import store
from ipcbench.ledger import clean
from ipcbench.machine import read_limits
from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner
from ipcbench.transports import REGISTRY
from ipcbench.transports.seqpacket import UnixSeqpacketTransport
from tests.conftest import ROOT, run_cli

CREATE_SEGMENT = """
import os, sys
from ipcbench.ledger import Ledger
from ipcbench.transports.base import ChannelSpec
from ipcbench.transports.mp_shm import MpShmTransport

transport = MpShmTransport(ChannelSpec(64, "sem", 1, lockstep=True))
transport.create(Ledger())
print(transport.params()["segment_bytes"], transport._name, flush=True)
"""


def python(script: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", script]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_a_child_exiting_normally_leaves_the_segment_and_no_warning() -> None:
    child_exits_normally = """
pid = os.fork()
if pid == 0:
    transport.open("peer").close()
    sys.exit(0)  # the interpreter's normal shutdown: finalizers and atexit hooks run
os.waitpid(pid, 0)
assert os.path.exists("/dev/shm" + transport._name), "a child's exit unlinked the segment"
transport.destroy()
"""
    result = python(CREATE_SEGMENT + child_exits_normally)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_killed_runner_leaves_the_segment_to_the_ledger_not_the_tracker(state_dir: Path) -> None:
    result = python(CREATE_SEGMENT + "os.kill(os.getpid(), 9)\n")
    name = result.stdout.split()[1]
    # The tracker saw its last client die and has exited (run() waited for its stderr to close); it had
    # nothing registered, so it unlinked nothing and warned about nothing.
    assert result.stderr == ""
    assert Path(f"/dev/shm{name}").exists()
    removed = clean(state_dir)
    assert removed == [line for line in removed if name in line] and len(removed) == 1
    assert not Path(f"/dev/shm{name}").exists()


def test_a_run_over_multiprocessing_objects_is_silent(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "--transports",
        "mp-shm,mp-queue,mp-pipe",
        "--sizes",
        "64",
        "--repeats",
        "2",
        "--budget",
        "0.005",
        "--output",
        str(tmp_path),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = store.load(next(tmp_path.glob("*/*.json")))
    assert [cell["status"] for cell in document["cells"]] == ["ok"] * 8


def _shadow_zmq(tmp_path: Path) -> dict[str, str]:
    """An environment in which ``import zmq`` fails, as it does where pyzmq is not installed."""
    package = tmp_path / "shadow" / "zmq"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError(\"No module named 'zmq'\")\n")
    return {"PYTHONPATH": str(tmp_path / "shadow"), "COLUMNS": "400"}


def test_without_pyzmq_zmq_is_listed_unavailable_and_skipped(tmp_path: Path) -> None:
    env = _shadow_zmq(tmp_path)
    listed = run_cli("list", env=env)
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith("│ zmq "))
    assert "no: pyzmq is not installed" in line
    assert "'ipcbench[zmq]'" in listed.stdout  # the table wraps the reason at spaces
    result = run_cli(
        "run", "--transports", "zmq,pipe", "--sizes", "64", "--repeats", "1", "--budget", "0.005",
        "--output", str(tmp_path / "out"), "--quiet", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    cells = store.load(next((tmp_path / "out").glob("*/*.json")))["cells"]
    statuses = {(cell["transport"], cell["status"]) for cell in cells}
    assert statuses == {("zmq", "skipped"), ("pipe", "ok")}
    assert all("ipcbench[zmq]" in cell["reason"] for cell in cells if cell["transport"] == "zmq")


def test_seqpacket_skips_a_message_its_send_buffer_cannot_hold() -> None:
    skip = UnixSeqpacketTransport.skip_reason(16 << 20, {"wmem_max": 4 << 20})
    needed = ((16 << 20) + 32) // 2
    assert skip is not None and skip.remedy == f"sysctl -w net.core.wmem_max={needed} (as root)"
    assert UnixSeqpacketTransport.skip_reason(1 << 20, {"wmem_max": 4 << 20}) is None
    cell = Runner(finalise(RunOptions(profile="quick"))).measure_cell(
        Cell("unix-seqpacket", None, "stream", 16 << 20)
    )
    expected = UnixSeqpacketTransport.skip_reason(16 << 20, read_limits())
    assert cell["status"] == "skipped" and expected is not None and cell["reason"] == expected.reason


def test_layers_are_declared_listed_and_recorded(tmp_path: Path) -> None:
    library = {"mp-pipe", "mp-queue", "mp-shm", "zmq"}
    assert {name for name, cls in REGISTRY.items() if cls.layer == "library"} == library
    listed = run_cli("list", env={"COLUMNS": "400"})
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in listed.stdout.splitlines()[3:]
            if line.startswith("│") and line.split("│")[1].strip()}  # fmt: skip
    assert rows["mp-shm/sem"] == "library" and rows["posix-shm/eventfd"] == "kernel"
    assert rows["unix-seqpacket"] == "kernel" and rows["pipe"] == "kernel"
    result = run_cli(
        "run", "--transports", "mp-pipe,pipe", "--sizes", "64", "--workloads", "pingpong", "--repeats", "1",
        "--budget", "0.005", "--output", str(tmp_path), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    mechanisms = store.load(next(tmp_path.glob("*/*.json")))["config"]["mechanisms"]
    assert mechanisms["mp-pipe"]["layer"] == "library" and mechanisms["pipe"]["layer"] == "kernel"
    assert mechanisms["pipe"]["distribution"] == "ipcbench"


@pytest.mark.parametrize("name", ["posix-shm", "mp-shm"])
def test_shared_memory_variants_wait_as_declared(name: str) -> None:
    cls = REGISTRY[name]
    assert set(cls.waits) == set(cls.variants) | set(cls.demonstrations)


def test_quick_and_default_leave_the_narrow_variants_to_full() -> None:
    from ipcbench.plan import NARROW, build_options
    from ipcbench.transports import label

    for profile in ("quick", "default"):
        chosen = {label(*pair) for pair in build_options(profile=profile).transports}
        assert not chosen & set(NARROW) and {"mp-pipe", "mp-queue", "mp-shm/sem", "zmq"} <= chosen
    assert set(NARROW) <= {label(*pair) for pair in build_options(profile="full").transports}
    named = build_options(profile="quick", transports="unix-seqpacket").transports
    assert named == (("unix-seqpacket", None),)
