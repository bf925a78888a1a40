"""Keeps bench/ (the pytest-benchmark front, not collected by `make test`) working: a tiny subset of it runs
in a subprocess, once timed and once with benchmarking disabled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ipcbench import native
from ipcbench.plan import default_impls
from tests.conftest import ROOT


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "bench", "-q", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_a_subset_runs_with_benchmarking_disabled() -> None:
    result = run_bench("-k", "pipe and not mp-pipe and 64", "--benchmark-disable")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{2 * len(default_impls())} passed" in result.stdout  # pingpong and stream, in each tier


def test_benchmark_json_carries_ipcbench_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = run_bench(
        "-k", "pingpong-pipe-64 and not native", "--ipc-rounds", "2", f"--benchmark-json={out}"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (benchmark,) = json.loads(out.read_text())["benchmarks"]
    info = benchmark["extra_info"]
    cell = (info["mechanism"], info["workload"], info["size"], info["variant"], info["impl"])
    assert cell == ("pipe", "pingpong", 64, None, "python")
    assert 0 < info["p50_ns"] <= info["p99_ns"] <= info["p999_ns"]
    assert benchmark["stats"]["rounds"] == 2


def test_the_native_tier_runs_through_pytest_benchmark(tmp_path: Path) -> None:
    if native.unavailable() is not None:
        pytest.skip(f"native tier unavailable: {native.unavailable()}")
    out = tmp_path / "bench.json"
    result = run_bench(
        "-k", "stream-posix-shm-spin-64-native", "--ipc-rounds", "2", f"--benchmark-json={out}"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (benchmark,) = json.loads(out.read_text())["benchmarks"]
    assert benchmark["extra_info"]["impl"] == "native" and benchmark["extra_info"]["bytes_per_s"] > 0
