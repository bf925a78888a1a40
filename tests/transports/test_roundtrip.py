"""Every mechanism and variant carries real data of several sizes through both workloads, between two real
processes, and every message passes the payload checks."""

from __future__ import annotations

import pytest

from ipcbench.machine import read_limits
from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner
from ipcbench.transports import REGISTRY, all_pairs
from tests.conftest import IMPLS, skip_unless_tier_runs

PAIRS = [pair for pair in all_pairs() if pair[0] != "mock"]
# 16 is the smallest legal message; 4109 is deliberately not a multiple of anything; 256K spans many pages.
SIZES = [16, 4109, 256 * 1024]


def runner(**overrides: object) -> Runner:
    return Runner(finalise(RunOptions(profile="quick", timeout_s=20, **overrides)))  # type: ignore[arg-type]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("workload", ["pingpong", "stream"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("name", "variant"), PAIRS, ids=[f"{n}/{v}" if v else n for n, v in PAIRS])
def test_round_trip(name: str, variant: str | None, size: int, workload: str, impl: str) -> None:
    if (reason := REGISTRY[name].unavailable()) is not None:
        pytest.skip(reason)
    skip_unless_tier_runs(impl, name, variant)
    if REGISTRY[name].skip_reason(size, read_limits()) is not None:
        pytest.skip(f"{name} cannot carry {size} bytes with this machine's limits")
    run = runner().measure_run(Cell(name, variant, workload, size, impl), count=40, warmup=3)
    assert run["messages"] == 40
    assert run["elapsed_ns"] > 0
    assert run["bytes_per_s"] == pytest.approx(40 * size * 1e9 / run["elapsed_ns"])
    if workload == "pingpong":
        assert len(run["_samples"]) == 40
        assert (run["_samples"] > 0).all()
    assert run["cpus"]["initiator"] != run["cpus"]["peer"]  # cross-core by default on two CPUs


@pytest.mark.parametrize("name", ["sysv-mq", "posix-mq"])
def test_queue_sizes_above_the_kernel_limit_are_skipped_with_the_setting(name: str) -> None:
    limits = read_limits()
    skip = REGISTRY[name].skip_reason(16 * 1024 * 1024, limits)
    assert skip is not None
    assert "sysctl -w" in (skip.remedy or "")
    cell = runner().measure_cell(Cell(name, None, "pingpong", 16 * 1024 * 1024))
    assert cell["status"] == "skipped"
    assert cell["reason"] == skip.reason and cell["remedy"] == skip.remedy


@pytest.mark.parametrize("impl", IMPLS)
def test_same_core_spinning_yields_and_says_so(impl: str) -> None:
    skip_unless_tier_runs(impl, "posix-shm", "spin")
    cell = Cell("posix-shm", "spin", "pingpong", 64, impl)
    run = runner(pin="same").measure_run(cell, count=200, warmup=10)
    assert run["params"]["wait"] == "spin+yield"
    assert run["cpus"]["initiator"] == run["cpus"]["peer"]
    # Without the yield a round trip would take a scheduler time slice (milliseconds).
    assert float(run["_samples"].mean()) < 1e6
