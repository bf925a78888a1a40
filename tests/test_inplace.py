"""``--tune receive=inplace`` for shared memory: the reader checks every byte where it lies in the slot and
frees the slot after the check; the checks catch the same faults as a copying reader's."""

from __future__ import annotations

import pytest

from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner

INPLACE = (("receive", "inplace"),)


def runner(**overrides: object) -> Runner:
    return Runner(finalise(RunOptions(profile="quick", timeout_s=20, repeats=1, **overrides)))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["posix-shm", "sysv-shm"])
@pytest.mark.parametrize("variant", ["spin", "sem", "hybrid"])
@pytest.mark.parametrize("size", [64, 4109, 256 * 1024])
def test_inplace_streams_carry_checked_messages(name: str, variant: str, size: int) -> None:
    run = runner().measure_run(Cell(name, variant, "stream", size, tune=INPLACE), count=60, warmup=3)
    assert run["params"]["receive"] == "inplace"
    assert run["messages"] == 60


@pytest.mark.parametrize("fault", ["corrupt@5:initiator", "drop@5:initiator", "duplicate@5:initiator"])
def test_an_inplace_reader_catches_what_a_copying_reader_catches(fault: str) -> None:
    cell = runner(fault=fault).measure_cell(Cell("posix-shm", "spin", "stream", 4096, tune=INPLACE))
    assert cell["status"] == "failed"
    assert "PayloadError: message " in cell["reason"], cell["reason"]


def test_lockstep_workloads_skip_inplace_with_the_reason() -> None:
    cell = runner().measure_cell(Cell("posix-shm", "spin", "pingpong", 64, tune=INPLACE))
    assert cell["status"] == "skipped" and "applies to stream" in cell["reason"]
    assert cell["tune"] == {"receive": "inplace"}
