"""Keeps bench/ (the pytest-benchmark front, not collected by `make test`) working: a tiny subset of it runs
in a subprocess, once timed and once with benchmarking disabled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    assert "2 passed" in result.stdout  # pingpong and stream


def test_benchmark_json_carries_ipcbench_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = run_bench("-k", "pingpong-pipe-64", "--ipc-rounds", "2", f"--benchmark-json={out}")
    assert result.returncode == 0, result.stdout + result.stderr
    (benchmark,) = json.loads(out.read_text())["benchmarks"]
    info = benchmark["extra_info"]
    cell = (info["mechanism"], info["workload"], info["size"], info["variant"])
    assert cell == ("pipe", "pingpong", 64, None)
    assert 0 < info["p50_ns"] <= info["p99_ns"] <= info["p999_ns"]
    assert benchmark["stats"]["rounds"] == 2
