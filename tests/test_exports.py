"""ipcbench export, checked against the shapes the two trackers document, and the CI workflow file.

github-action-benchmark (``customSmallerIsBetter`` / ``customBiggerIsBetter``) reads a JSON array of
``{name: string, unit: string, value: number, range?: string, extra?: string}``. Bencher Metric Format is
``{benchmark: {measure: {value: number, lower_value?: number, upper_value?: number}}}``, measure slugs and
names at most 64 characters, benchmark names at most 1024.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipcbench import exports
from ipcbench.cli import main
from tests.compare_docs import document, grid, not_measured, pingpong, stream, write
from tests.conftest import ROOT

GAB_KEYS = {"name": str, "unit": str, "value": (int, float), "range": str, "extra": str}


def check_github_action_benchmark(entries: Any) -> None:
    assert isinstance(entries, list) and entries
    for entry in entries:
        assert {"name", "unit", "value"} <= set(entry) <= set(GAB_KEYS), entry
        for key, value in entry.items():
            assert isinstance(value, GAB_KEYS[key]) and not isinstance(value, bool), (key, value)
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names)), "every benchmark needs its own name"


def check_bencher(data: Any) -> None:
    assert isinstance(data, dict) and data
    for benchmark, measures in data.items():
        assert isinstance(benchmark, str) and 0 < len(benchmark) <= 1024
        assert isinstance(measures, dict) and measures
        for measure, metric in measures.items():
            assert isinstance(measure, str) and 0 < len(measure) <= 64
            assert "value" in metric and set(metric) <= {"value", "lower_value", "upper_value"}
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in metric.values())
            assert (
                metric.get("lower_value", metric["value"])
                <= metric["value"]
                <= metric.get("upper_value", metric["value"])
            )


@pytest.fixture
def result_file(tmp_path: Path) -> Path:
    cells = [
        *grid(sizes=(64,)),
        not_measured("sysv-mq", "pingpong", 1 << 20, "skipped", "above msgmax"),
        pingpong("posix-mq", 64, [20_000, 21_000, 19_000], unstable=True),
    ]
    return write(document(cells), tmp_path / "run.json")


def export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    status = main(["export", *args])
    out = capsys.readouterr().out
    return status, json.loads(out) if status == 0 and out else None


def test_latency_is_smaller_is_better_per_pingpong_cell_and_percentile(result_file, capsys) -> None:
    status, entries = export(
        capsys, str(result_file), "--format", "github-action-benchmark", "--metric", "latency"
    )
    assert status == 0
    check_github_action_benchmark(entries)
    assert len(entries) == 9 * 3  # 8 mechanisms + posix-mq, each p50, p99, p99.9
    first = entries[0]
    assert first["name"] == "pipe pingpong 64 p50"
    assert first["unit"] == "ns"
    assert first["value"] == 10_000
    assert first["range"] == "± 100"
    assert "machine m1" in first["extra"]
    assert {e["name"].rsplit(" ", 1)[1] for e in entries} == {"p50", "p99", "p99.9"}
    assert all(" stream " not in e["name"] for e in entries)
    unstable = next(e for e in entries if e["name"] == "posix-mq pingpong 64 p50")
    assert "UNSTABLE" in unstable["extra"]


def test_throughput_is_bigger_is_better_per_stream_cell(result_file, capsys) -> None:
    status, entries = export(
        capsys, str(result_file), "--format", "github-action-benchmark", "--metric", "throughput"
    )
    assert status == 0
    check_github_action_benchmark(entries)
    assert [e["name"] for e in entries][:2] == ["pipe stream 64", "fifo stream 64"]
    assert all(e["unit"] == "MB/s" for e in entries)
    assert entries[0]["value"] == pytest.approx(1000.0, rel=0.01)


def test_bencher_metric_format(result_file, capsys) -> None:
    status, data = export(capsys, str(result_file), "--format", "bencher")
    assert status == 0
    check_bencher(data)
    pipe = data["pipe pingpong 64"]
    assert set(pipe) == {"latency", "latency-p99", "latency-p999", "throughput", "bytes-per-second"}
    assert pipe["latency"] == {"value": 10_000, "lower_value": 9_900, "upper_value": 10_100}
    assert set(data["pipe stream 64"]) == {"throughput", "bytes-per-second"}
    assert "sysv-mq pingpong 1M" not in data  # skipped: nothing measured


def test_bencher_intervals_always_contain_the_value() -> None:
    cell = stream("pipe", 64, [1e9, 1e9, 1e9])
    cell["throughput"]["ci95_msgs_per_s"] = [-5.0, 1.0]  # a t interval over noisy runs can do this
    check_bencher(exports.bencher(document([cell])))


def test_output_file_and_folder_input(result_file, tmp_path, capsys) -> None:
    out = tmp_path / "out" / "bmf.json"
    assert main(["export", str(result_file.parent), "--format", "bencher", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    check_bencher(json.loads(out.read_text()))


def test_nothing_to_export_and_bad_input_exit_2(tmp_path, capsys) -> None:
    only_stream = write(document([stream("pipe", 64, [1e9, 1e9, 1e9])]), tmp_path / "stream.json")
    assert main(["export", str(only_stream), "--format", "github-action-benchmark"]) == 2
    assert "no measured latency cells to export" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.json"), "--format", "bencher"]) == 2
    assert main(["export", str(only_stream), "--format", "csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "invalid choice: 'csv'" in err[1]


def test_the_ci_workflow_is_valid_and_gates_with_a_confirming_rerun() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/bench.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    assert {"gate", "pytest-benchmark", "refresh-baseline"} <= set(workflow["jobs"])
    steps = workflow["jobs"]["gate"]["steps"]
    script = "\n".join(step.get("run", "") for step in steps)
    assert "ipcbench run --profile quick" in script
    assert "--fail" in script and "--confirm" in script
    assert "$GITHUB_STEP_SUMMARY" in script
    uploads = [step for step in steps if str(step.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and "reports/index.html" in uploads[0]["with"]["path"]
    assert workflow["jobs"]["refresh-baseline"]["permissions"] == {"contents": "write"}
