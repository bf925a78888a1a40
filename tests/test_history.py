"""ipcbench history: one line per cell over time, with change points over the whole series."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ipcbench import changes, history
from ipcbench.cache import CACHE_NAME, summaries
from ipcbench.cli import main
from tests.compare_docs import MECHANISMS, document, grid, pingpong, write

PIPE = ("pipe", "pingpong", 64)


def noisy_series(
    folder: Path,
    count: int = 20,
    slow_from: int | None = 10,
    factor: float = 1.5,
    machine: str = "m1",
    unstable_from: int | None = None,
    seed: int = 0,
) -> Path:
    """``count`` files of one machine, every cell moving 2% from file to file; pipe pingpong 64 runs
    ``factor`` times slower from file ``slow_from`` on (flagged unstable from ``unstable_from``)."""
    rng = np.random.default_rng(seed)
    keys = [(m, w, s) for m in MECHANISMS for w in ("pingpong", "stream") for s in (64, 4096)]
    for index in range(count):
        factors = {key: float(np.exp(rng.normal(0, 0.02))) for key in keys}
        if slow_from is not None and index >= slow_from:
            factors[PIPE] *= factor
        doc = document(grid(factors), machine=machine, created=f"2026-11-{index + 1:02d}T10:00:00Z")
        doc["label"] = f"night-{index}"
        if unstable_from is not None and index >= unstable_from:
            cell = next(c for c in doc["cells"] if (c["transport"], c["workload"], c["size"]) == PIPE)
            cell["unstable"] = True
        write(doc, folder / machine / f"{index:02d}.json")
    return folder


def pipe_line(lines: list[history.Line], machine: str = "m1") -> history.Line:
    return next(line for line in lines if line.machine == machine and line.name == "pipe pingpong 64")


def test_a_change_is_found_where_the_new_level_starts(tmp_path: Path) -> None:
    noisy_series(tmp_path)
    noisy_series(tmp_path, count=8, slow_from=None, machine="m2")
    lines = history.build(summaries([tmp_path]))
    pipe = pipe_line(lines)
    assert [change.index for change in pipe.changes] == [10]
    change = pipe.changes[0]
    assert 1.4 < change.ratio < 1.6 and change.ci is not None and change.ci[0] > 1.3
    assert change.p_value < 0.005 and (change.before, change.after) == (10, 10)
    assert pipe.points[10].step.startswith("slower p50 +")
    assert [p.step == "" for p in pipe.points] == [True] * 10 + [False] + [True] * 9
    changed = {(line.machine, line.name) for line in lines if line.changes}
    assert changed == {("m1", "pipe pingpong 64")}
    assert {line.machine for line in lines} == {"m1", "m2"}  # machines are never mixed in one line
    assert pipe_line(lines, "m2").impl == "python"  # schema-1 files are the Python tier


def test_unstable_files_never_make_a_change_on_their_own(tmp_path: Path) -> None:
    noisy_series(tmp_path, slow_from=10, unstable_from=10)
    pipe = pipe_line(history.build(summaries([tmp_path])))
    assert pipe.changes == []
    assert [p.unstable for p in pipe.points][10:] == [True] * 10


def test_markdown_and_json_output(tmp_path: Path, capsys) -> None:
    folder = noisy_series(tmp_path)
    assert main(["history", str(folder), "--format", "markdown", "--changes-only", "--last", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("| m1 |") == 1
    row = next(line for line in out.splitlines() if line.startswith("| m1 |"))
    assert row.startswith(
        "| m1 | pipe | pingpong | 64 | 15.2 us | 14.9 us | 14.6 us | ▁▁▁▁▁▁▁▁▁▁██▇███▇██▇ |"
    )
    assert "11-11 10:00 slower p50 +" in row
    assert main(["history", str(folder), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 32
    pipe = next(
        d for d in data if d["transport"] == "pipe" and d["workload"] == "pingpong" and d["size"] == 64
    )
    assert pipe["metric"] == "p50_ns" and pipe["impl"] == "python"
    [change] = pipe["changes"]
    assert change["index"] == 10 and change["label"] == "night-10" and change["direction"] == "slower"
    assert change["file"].endswith("10.json") and change["created"] == "2026-11-11T10:00:00Z"
    steps = [point["step"] for point in pipe["points"]]
    assert steps[10] == change["text"] and steps.count(None) == 19
    assert pipe["points"][0]["ci95"] is not None


def test_fail_on_change_fires_only_for_a_new_slowdown(tmp_path: Path, capsys) -> None:
    new = noisy_series(tmp_path / "new", slow_from=16)
    old = noisy_series(tmp_path / "old", slow_from=5)
    faster = noisy_series(tmp_path / "faster", slow_from=16, factor=0.6)
    assert main(["history", str(new), "--fail-on-change", "--format", "json"]) == 1
    assert "regression: m1 pipe pingpong 64: slower p50" in capsys.readouterr().err
    assert main(["history", str(new), "--format", "json"]) == 0  # without the flag: a report only
    assert main(["history", str(old), "--fail-on-change", "--format", "json"]) == 0
    assert main(["history", str(old), "--fail-on-change", "--recent", "16", "--format", "json"]) == 1
    assert main(["history", str(faster), "--fail-on-change", "--format", "json"]) == 0
    assert main(["history", str(new), "--fail-on-change", "--threshold", "60%", "--format", "json"]) == 0


def test_table_output_and_bad_input(tmp_path: Path, capsys) -> None:
    folder = noisy_series(tmp_path)
    assert main(["history", str(folder), "--last", "2"]) == 0
    assert "pipe" in capsys.readouterr().out
    assert main(["history", str(folder), "--machine", "nobody"]) == 2
    assert "no result files of machine 'nobody'" in capsys.readouterr().err
    assert main(["history", str(tmp_path / "missing")]) == 2
    assert main(["history", str(folder), "--threshold", "5"]) == 2
    assert main(["history", str(folder), "--min-files", "0"]) == 2


def test_a_short_series_has_no_changes(tmp_path: Path) -> None:
    write(document(grid(), created="2026-11-20T10:00:00Z"), tmp_path / "a.json")
    write(document(grid({PIPE: 1.5}), created="2026-11-21T10:00:00Z"), tmp_path / "b.json")
    lines = history.build(summaries([tmp_path]))
    assert all(line.changes == [] for line in lines)
    assert [p.value for p in pipe_line(lines).points] == [10_000, 15_000]


def test_sparkline_spans_the_range() -> None:
    assert history.sparkline([1, 2, 3]) == "▁▅█"
    assert history.sparkline([5, 5]) == "▁▁"
    assert len(history.sparkline(list(range(1000)))) == 40


def test_the_ci_workflow_tracks_the_series_on_main() -> None:
    import yaml

    from tests.conftest import ROOT

    workflow = yaml.safe_load((ROOT / ".github/workflows/bench.yml").read_text())
    job = workflow["jobs"]["history"]
    assert "refs/heads/main" in job["if"] and job["needs"] == "gate"
    commands = "\n".join(step.get("run", "") for step in job["steps"])
    assert "ipcbench history stored/results" in commands and "--fail-on-change" in commands
    assert "ipcbench report stored/results" in commands
    uploads = [step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact")]
    assert "reports/history.html" in uploads[0]["with"]["path"]


def test_a_tuned_cell_and_each_tier_are_series_of_their_own(tmp_path: Path) -> None:
    """``--tune`` settings and the ``impl`` axis are part of a cell's identity: pooled, the three levels
    below would look like noise or false changes. Only the tuned cell slows down, from file 6."""
    rng = np.random.default_rng(1)
    for index in range(12):
        doc = document(grid({}), machine="m1", created=f"2026-11-{index + 1:02d}T10:00:00Z")
        pipe = next(c for c in doc["cells"] if (c["transport"], c["workload"], c["size"]) == PIPE)
        tuned = pingpong("pipe", 64, [p * (1.5 if index >= 6 else 1.0) * 0.7 for p in _p50s(pipe, rng)])
        native = pingpong("pipe", 64, [p * 0.3 for p in _p50s(pipe, rng)])
        doc["cells"] += [{**tuned, "tune": {"pipe_buffer": 1 << 20}}, {**native, "impl": "native"}]
        write(doc, tmp_path / "m1" / f"{index:02d}.json")
    lines = [line for line in history.build(summaries([tmp_path])) if line.key[2:] == ("pingpong", 64)]
    pipes = {(line.mechanism, line.impl): line for line in lines if line.key[0] == "pipe"}
    assert set(pipes) == {("pipe", "python"), ("pipe[pipe_buffer=1M]", "python"), ("pipe [native]", "native")}
    assert all(len(line.points) == 12 for line in pipes.values())
    assert [c.index for c in pipes["pipe[pipe_buffer=1M]", "python"].changes] == [6]
    assert pipes["pipe", "python"].changes == [] and pipes["pipe [native]", "native"].changes == []
    rows = history.as_json(list(pipes.values()))
    assert {(row["variant"], row["impl"]) for row in rows} == {
        (None, "python"),
        ("[pipe_buffer=1M]", "python"),
        (None, "native"),
    }


def _p50s(cell: dict, rng: np.random.Generator) -> list[float]:
    """The cell's run p50s, moved together by 2% noise from file to file."""
    return [run["p50_ns"] * float(np.exp(rng.normal(0, 0.02))) for run in cell["runs"]]


def test_change_points_are_remembered_by_series_settings_and_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    noisy_series(tmp_path)

    def history_json(*options: str) -> str:
        assert main(["history", str(tmp_path), "--format", "json", *options]) == 0
        return capsys.readouterr().out

    first = history_json()
    worked_out: list[int] = []
    detect = changes.detect
    monkeypatch.setattr(changes, "detect", lambda *args: worked_out.append(1) or detect(*args))
    assert history_json() == first and not worked_out  # the same files: every series remembered
    with sqlite3.connect(tmp_path / CACHE_NAME) as connection:
        connection.execute("UPDATE detections SET changes = '[[1, 2' WHERE rowid = 1")
    assert history_json() == first and len(worked_out) == 1  # a damaged one is worked out again
    history_json("--threshold", "60%")
    assert len(worked_out) > 1  # other settings: other results
    assert json.loads(history_json("--threshold", "60%"))[0]["changes"] == []
    write(document(grid(), machine="m1", created="2026-11-30T10:00:00Z"), tmp_path / "m1" / "new.json")
    worked_out.clear()
    history_json()
    assert worked_out  # a new file makes new series
    monkeypatch.setattr(changes, "_code_identity", lambda: "other code")
    worked_out.clear()
    history_json()
    assert worked_out  # other code


def test_without_a_cache_nothing_is_remembered_and_nothing_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    noisy_series(tmp_path)
    monkeypatch.setenv("IPCBENCH_CACHE", "0")
    assert main(["history", str(tmp_path), "--format", "json"]) == 0
    assert not (tmp_path / CACHE_NAME).exists()
    assert json.loads(capsys.readouterr().out)
