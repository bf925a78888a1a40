"""ipcbench history: one line per cell over time, steps judged like compare judges a change."""

from __future__ import annotations

import json
from pathlib import Path

from ipcbench import compare, history
from ipcbench.cli import main
from ipcbench.frames import collect
from tests.compare_docs import document, grid, scaled, write


def three_files(folder: Path) -> Path:
    """Three runs of m1 (pipe pingpong 64 steps up 50% in the third; the second only moves its runs by 1%,
    not its headline figure) and one run of another machine."""
    write(document(grid(), created="2026-11-20T10:00:00Z"), folder / "m1" / "a.json")
    write(scaled(document(grid(), created="2026-11-21T10:00:00Z"), [1.01, 0.99]), folder / "m1" / "b.json")
    stepped = document(grid({("pipe", "pingpong", 64): 1.5}), created="2026-11-22T10:00:00Z")
    write(stepped, folder / "m1" / "c.json")
    write(document(grid(), machine="m2", created="2026-11-22T11:00:00Z"), folder / "m2" / "a.json")
    return folder


def test_a_step_is_flagged_where_it_happened(tmp_path: Path) -> None:
    lines = history.build(collect([three_files(tmp_path)]), compare.Settings())
    pipe = next(line for line in lines if line.machine == "m1" and line.name == "pipe pingpong 64")
    assert [p.value for p in pipe.points] == [10_000, 10_000, 15_000]
    assert [p.step for p in pipe.points] == ["", "", "slower p50 +48.5%"]
    stepped = {(line.machine, line.name) for line in lines if line.steps}
    assert stepped == {("m1", "pipe pingpong 64")}
    assert {line.machine for line in lines} == {"m1", "m2"}  # machines are never mixed in one line


def test_markdown_and_json_output(tmp_path: Path, capsys) -> None:
    folder = three_files(tmp_path)
    assert main(["history", str(folder), "--machine", "m1", "--format", "markdown", "--steps-only"]) == 0
    out = capsys.readouterr().out
    assert "| m1 | pipe | pingpong | 64 | 10 us | 10 us | 15 us! |" in out
    assert "11-22 10:00 slower p50 +48.5%" in out
    assert out.count("| m1 |") == 1
    assert main(["history", str(folder), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 2 * 32
    assert data[0]["metric"] == "p50_ns"


def test_table_output_and_bad_input(tmp_path: Path, capsys) -> None:
    folder = three_files(tmp_path)
    assert main(["history", str(folder), "--last", "2"]) == 0
    assert "pipe" in capsys.readouterr().out
    assert main(["history", str(folder), "--machine", "nobody"]) == 2
    assert "no result files of machine 'nobody'" in capsys.readouterr().err
    assert main(["history", str(tmp_path / "missing")]) == 2
    assert main(["history", str(folder), "--threshold", "5"]) == 2


def test_sparkline_spans_the_range() -> None:
    assert history.sparkline([1, 2, 3]) == "▁▅█"
    assert history.sparkline([5, 5]) == "▁▁"
