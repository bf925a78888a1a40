"""``oneway`` through the runner: exact legs over the mock's shared fake clock, checked payloads both ways
over real mechanisms, corruption caught, a size too small for the stamp skipped with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipcbench import store
from ipcbench.plan import Cell, RunOptions, build_options, finalise
from ipcbench.runner import Runner
from ipcbench.transports.mock import base_latency_ns
from tests.seams import MOCK_REGISTRY

REAL = [("pipe", None), ("unix", None), ("posix-shm", "spin"), ("posix-mq", None)]


@pytest.fixture(scope="module")
def mock_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    options = build_options(
        profile="quick",
        transports="mock/fast",
        sizes="16,64",
        workloads="oneway",
        repeats=2,
        budget_s=0.002,
        max_messages=2000,
        output=tmp_path_factory.mktemp("results"),
        registry=MOCK_REGISTRY,
    )
    return Runner(options, registry=MOCK_REGISTRY).run()


def found(document: dict, size: int) -> dict:
    return next(c for c in document["cells"] if c["size"] == size)


def test_both_legs_are_stored_and_exact_over_the_shared_fake_clock(mock_run: tuple[dict, Path]) -> None:
    cell = found(mock_run[0], 64)
    base = base_latency_ns(64)
    # Each leg spans exactly one read of the one clock both processes share.
    assert cell["latency_ns"]["p50"] == cell["latency_back_ns"]["p50"] == base
    assert cell["latency_ns"]["min"] == cell["latency_back_ns"]["min"] == base
    assert store.load(mock_run[1]) == json.loads(json.dumps(mock_run[0]))
    assert mock_run[0]["config"]["clock_resolution_ns"] > 0


def test_a_message_too_small_for_the_stamp_is_skipped_with_the_reason(mock_run: tuple[dict, Path]) -> None:
    cell = found(mock_run[0], 16)
    assert cell["status"] == "skipped"
    assert "at least 24 bytes" in cell["reason"] and cell["remedy"] == "--sizes 24 or more"


def test_oneway_is_measured_only_when_asked_for() -> None:
    assert "oneway" not in build_options(profile="quick").workloads


def runner(**overrides: object) -> Runner:
    return Runner(finalise(RunOptions(profile="quick", timeout_s=20, **overrides)))  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "variant"), REAL, ids=[n if v is None else f"{n}/{v}" for n, v in REAL])
@pytest.mark.parametrize("size", [64, 4109])
def test_oneway_carries_checked_messages_both_ways(name: str, variant: str | None, size: int) -> None:
    run = runner().measure_run(Cell(name, variant, "oneway", size), count=40, warmup=3)
    assert len(run.samples) == len(run.back_samples) == 40
    assert (run.samples > 0).all() and (run.back_samples > 0).all()


@pytest.mark.parametrize("role", ["initiator", "peer"])
def test_a_corrupted_message_fails_the_cell(role: str) -> None:
    cell = runner(fault=f"corrupt@5:{role}", repeats=1).measure_cell(Cell("pipe", None, "oneway", 64))
    assert cell["status"] == "failed"
    assert "PayloadError: message 5" in cell["reason"]
