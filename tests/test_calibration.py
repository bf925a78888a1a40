"""Calibration: the rules (``ipcbench.calibration``), and a run that finds its own count inside its first
measured run, over real mechanisms in both tiers, with every probe message checked like any other."""

from __future__ import annotations

import pytest

from ipcbench.calibration import TARGET_S, Budget
from ipcbench.errors import PeerError
from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner
from tests.conftest import IMPLS, skip_unless_tier_runs

BUDGET = Budget(0.002, 10, 200_000)


def runner(**overrides: object) -> Runner:
    return Runner(finalise(RunOptions(profile="quick", timeout_s=20, **overrides)))  # type: ignore[arg-type]


def test_chunks_start_small_for_huge_messages_and_grow_to_the_target() -> None:
    assert BUDGET.first_chunk(64) == 16
    assert BUDGET.first_chunk(1 << 20) == 4
    assert BUDGET.first_chunk(16 << 20) == 1
    assert BUDGET.next_chunk(16, TARGET_S) is None  # long enough: the rate is known
    assert BUDGET.next_chunk(16, TARGET_S / 1000) == int(16 * 1.2 * 1000)  # straight to about the target
    assert BUDGET.next_chunk(16, TARGET_S * 0.9) == 32  # at least doubles
    assert Budget(0.002, 10, 20).next_chunk(16, 1e-6) == 20  # never beyond the most messages
    assert Budget(0.002, 10, 20).next_chunk(20, 1e-6) is None


def test_the_count_fills_the_budget_within_its_bounds() -> None:
    assert BUDGET.count(1e-6) == 2000
    assert BUDGET.count(1.0) == 10
    assert BUDGET.count(1e-12) == 200_000


def test_no_confirming_chunk_where_it_cannot_change_the_count() -> None:
    assert BUDGET.confirms(1e-6)  # 2000 messages: a faster rate would give more
    assert not BUDGET.confirms(0.001)  # twice as fast still asks for 4 messages: the fewest allowed, 10


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("workload", ["pingpong", "stream"])
@pytest.mark.parametrize(("name", "variant"), [("pipe", None), ("posix-shm", "spin"), ("sysv-mq", None)])
def test_a_run_finds_its_count_after_its_warm_up(
    name: str, variant: str | None, workload: str, impl: str
) -> None:
    skip_unless_tier_runs(impl, name, variant)
    run = runner().measure_run(Cell(name, variant, workload, 4096, impl), 0, 2, budget=BUDGET)
    assert BUDGET.low <= run["messages"] <= BUDGET.high
    assert run["bytes_per_s"] == pytest.approx(run["messages"] * 4096 * 1e9 / run["elapsed_ns"])
    if workload == "pingpong":
        assert len(run["_samples"]) == run["messages"]


@pytest.mark.parametrize("impl", IMPLS)
def test_huge_messages_need_no_confirming_chunk(impl: str) -> None:
    skip_unless_tier_runs(impl, "pipe", None)
    run = runner().measure_run(
        Cell("pipe", None, "stream", 1 << 20, impl), 0, 2, budget=Budget(1e-5, 10, 200_000)
    )
    assert run["messages"] == 10


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("workload", ["pingpong", "stream"])
def test_a_bad_message_while_probing_fails_the_run(workload: str, impl: str) -> None:
    skip_unless_tier_runs(impl, "pipe", None)
    role = "peer" if workload == "pingpong" else "initiator"  # the side that sends what the other checks
    faulty = runner(fault=f"corrupt@5:{role}")  # warm-up is messages 0 and 1: 5 is in the first chunk
    with pytest.raises(PeerError, match="PayloadError: message 5"):
        faulty.measure_run(Cell("pipe", None, workload, 256, impl), 0, 2, budget=BUDGET)


def test_the_runs_of_a_cell_share_the_count_the_first_one_found() -> None:
    runs = runner(repeats=3, budget_s=0.002).measure_runs(Cell("posix-shm", "sem", "pingpong", 64))
    assert len(runs) == 3
    assert len({run["messages"] for run in runs}) == 1
