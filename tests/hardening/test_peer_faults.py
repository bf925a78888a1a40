"""A peer that dies mid-transfer, hangs, or sends garbage: its cell fails with a clear reason in bounded
time, its processes are killed and its objects removed, and the run goes on with the next cell, whose
measurements are complete.

Faults are injected with ``IPCBENCH_INJECT_FAULT`` into the peer, which sends only in ``pingpong``: the
pingpong cells fail, the stream cells that follow them must be measured in full. The switch reaches both
tiers: a native peer crashes, hangs or sends garbage from inside its C loop.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from ipcbench import store
from ipcbench.plan import default_impls
from tests.conftest import run_cli
from tests.hardening.helpers import MARKER, marked_processes, new_marker, result_file

MECHANISMS = "posix-shm/spin,sysv-mq,fifo"  # a spinning ring, a kernel queue, a byte stream
TIMEOUT_S = 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("crash@5:peer", r"^the peer process died without a report \(exit status 3\)$"),
        ("garbage@5:peer", r"^initiator: PayloadError: message 5: "),
        ("hang@5:peer", rf"^timed out after {TIMEOUT_S} s: .*did not finish"),
    ],
    ids=["crash", "garbage", "hang"],
)
def test_a_faulty_peer_fails_its_cell_only(fault: str, reason: str, tmp_path: Path) -> None:
    marker = new_marker()
    started = time.monotonic()
    result = run_cli(
        "run",
        "--transports",
        MECHANISMS,
        "--sizes",
        "64",
        "--workloads",
        "pingpong,stream",
        "--profile",
        "quick",
        "--repeats",
        "2",
        "--timeout",
        str(TIMEOUT_S),
        "--output",
        str(tmp_path),
        "--quiet",
        env={"IPCBENCH_INJECT_FAULT": fault, MARKER: marker},
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr

    document = store.load(result_file(tmp_path))
    assert document["status"] == "complete"
    failed = [cell for cell in document["cells"] if cell["workload"] == "pingpong"]
    measured = [cell for cell in document["cells"] if cell["workload"] == "stream"]
    assert len(failed) == len(measured) == 3 * len(default_impls())  # both tiers, where native is built
    assert {cell["impl"] for cell in failed} == set(default_impls())
    for cell in failed:
        assert cell["status"] == "failed"
        assert re.search(reason, cell["reason"]), cell["reason"]
    for cell in measured:  # nothing lost after a failure
        assert cell["status"] == "ok", cell["reason"]
        assert len(cell["runs"]) == 2 and cell["messages"] == sum(run["messages"] for run in cell["runs"])
    # Bounded: a hang costs its timeout, a crash or bad data at most the grace period given to the other
    # side to explain itself (peer.GRACE_AFTER_FAILURE_S); Python start-up and the other cells come on top.
    assert elapsed < len(failed) * (TIMEOUT_S + 1) + 20
    assert not marked_processes(marker)  # every child was killed and reaped
