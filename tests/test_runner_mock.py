"""The runner, stats and store, checked to the exact nanosecond through the deterministic mock transport
(real processes and pipes, fake clocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipcbench import store
from ipcbench.plan import build_options
from ipcbench.runner import Runner
from ipcbench.stats import histogram_percentiles
from ipcbench.transports.mock import base_latency_ns
from tests.seams import MOCK_REGISTRY


@pytest.fixture(scope="module")
def mock_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    options = build_options(
        profile="quick",
        transports="mock",
        sizes="64,4K,2M",
        repeats=3,
        budget_s=0.002,
        output=tmp_path_factory.mktemp("results"),
        machine_name="mockbox",
        label="unit",
        registry=MOCK_REGISTRY,
    )
    return Runner(options, registry=MOCK_REGISTRY).run()


def cell(document: dict, variant: str, workload: str, size: int) -> dict:
    return next(
        c for c in document["cells"] if (c["variant"], c["workload"], c["size"]) == (variant, workload, size)
    )


def test_the_file_is_where_the_design_says_and_loads_back(mock_run: tuple[dict, Path]) -> None:
    document, path = mock_run
    assert path.parent.name == "mockbox" and path.name.endswith("-unit.json")
    assert store.load(path) == json.loads(json.dumps(document))
    assert document["status"] == "complete"
    assert document["schema_version"] == store.SCHEMA_VERSION
    assert len(document["cells"]) == 2 * 2 * 3


def test_latency_percentiles_are_exact(mock_run: tuple[dict, Path]) -> None:
    base = base_latency_ns(64)
    latency = cell(mock_run[0], "fast", "pingpong", 64)["latency_ns"]
    assert latency["p50"] == latency["p90"] == latency["min"] == base
    assert latency["max"] == 10 * base
    assert latency["ci95_p50"] == [base, base]  # every run has the same p50: a zero-width interval
    slow = cell(mock_run[0], "slow", "pingpong", 64)["latency_ns"]
    assert slow["p50"] == 2 * base


def test_histogram_reproduces_the_percentiles(mock_run: tuple[dict, Path]) -> None:
    found = cell(mock_run[0], "fast", "pingpong", 4096)
    p50, p100 = histogram_percentiles(found["histogram"], [50, 100])
    assert p50 == pytest.approx(found["latency_ns"]["p50"], rel=1e-3)
    assert p100 == pytest.approx(found["latency_ns"]["max"], rel=1e-3)


def test_runs_are_independent_and_counted(mock_run: tuple[dict, Path]) -> None:
    found = cell(mock_run[0], "fast", "stream", 64)
    assert len(found["runs"]) == 3
    assert found["messages"] == sum(run["messages"] for run in found["runs"])
    assert found["latency_ns"] is None and found["histogram"] is None
    rate = found["throughput"]["bytes_per_s"]
    assert found["throughput"]["msgs_per_s"] * 64 == pytest.approx(rate)
    assert found["cpu_ns_per_msg"]["initiator"] > 0


def test_a_size_the_mechanism_cannot_carry_is_skipped_with_its_remedy(mock_run: tuple[dict, Path]) -> None:
    found = cell(mock_run[0], "fast", "pingpong", 2 << 20)
    assert found["status"] == "skipped"
    assert "at most 1048576 bytes" in found["reason"]
    assert found["remedy"] == "sysctl -w mock.max=2097152"


def test_the_file_records_machine_limits_overhead_and_placement(mock_run: tuple[dict, Path]) -> None:
    document = mock_run[0]
    for key in ("msgmax", "msgmnb", "mq_msg_max", "mq_msgsize_max", "pipe_max_size"):
        assert key in document["machine"]["limits"]
    for key in (
        "cpu_model",
        "cores",
        "smt",
        "kernel",
        "python",
        "virtualization",
        "clocksource",
        "governor",
        "packages",
    ):
        assert key in document["machine"]
    assert document["config"]["harness_overhead_ns"]["timer_ns"] > 0
    assert document["config"]["placement"] in ("cross-core", "same-core", "unpinned")
