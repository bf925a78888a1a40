"""``ipcbench report`` on the command line: files and folders in, one page out, bad input in one line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from report_docs import around, document, pingpong, save, stream

from ipcbench.cli import main

Cli = Callable[..., subprocess.CompletedProcess[str]]


def small_run(machine: str = "box", created: str = "2026-01-01T00:00:00Z", **kwargs: object) -> dict:
    cells = [
        pingpong("pipe", 64, around(10_000)),
        pingpong("posix-shm/spin", 64, around(2_000)),
        stream("pipe", 64, around(1e8)),
        stream("posix-shm/spin", 64, around(2e8)),
    ]
    return document(cells, machine=machine, created=created, **kwargs)  # type: ignore[arg-type]


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ipcbench: error: ")
    return lines[0]


def test_a_folder_of_results_makes_one_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save(small_run(), tmp_path / "results" / "box" / "a.json")
    save(small_run(created="2026-01-02T00:00:00Z"), tmp_path / "results" / "box" / "b.json")
    out = tmp_path / "reports" / "index.html"
    assert main(["report", str(tmp_path / "results"), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out} (2 result files)"
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and 'id="comparison"' in html
    assert not [p for p in out.parent.iterdir() if p.name != "index.html"]  # no temporary file left


def test_a_malformed_file_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["report", str(bad), "-o", str(tmp_path / "out.html")]) == 2
    assert "not valid JSON" in one_error_line(capsys)
    assert not (tmp_path / "out.html").exists()


def test_a_newer_schema_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = small_run()
    doc["schema_version"] = 99
    path = save(doc, tmp_path / "future.json")
    assert main(["report", str(path), "-o", str(tmp_path / "out.html")]) == 2
    line = one_error_line(capsys)
    assert "schema_version 99 is newer" in line and str(path) in line


def test_one_bad_file_in_a_folder_stops_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save(small_run(), tmp_path / "box" / "good.json")
    (tmp_path / "box" / "truncated.json").write_text(json.dumps(small_run())[:200])
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "out.html")]) == 2
    assert "truncated.json" in one_error_line(capsys)


def test_an_empty_folder_has_nothing_to_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "-o", str(tmp_path / "out.html")]) == 2
    assert "nothing to report" in one_error_line(capsys)


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nope.json"), "-o", str(tmp_path / "out.html")]) == 2
    assert "no such file" in one_error_line(capsys)


def test_an_unwritable_output_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = save(small_run(), tmp_path / "a.json")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["report", str(path), "-o", str(blocker / "index.html")]) == 2
    assert "cannot write the report" in one_error_line(capsys)


def test_a_hostile_label_reaches_the_page_as_text(tmp_path: Path) -> None:
    path = save(small_run(label="<script>alert(1)</script>"), tmp_path / "a.json")
    assert main(["report", str(path), "-o", str(tmp_path / "index.html")]) == 0
    html = (tmp_path / "index.html").read_text()
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_real_mock_run_is_reportable(tmp_path: Path, cli: Cli) -> None:
    """The runner's own output (through the mock transport), not a hand-made file, goes through the report."""
    words = "run --transports mock --sizes 64 --workloads pingpong --profile quick --repeats 2 --budget 0.01"
    run = cli(*words.split(), "--output", str(tmp_path / "results"), "--machine-name", "m1", "--quiet")
    assert run.returncode == 0, run.stderr
    assert main(["report", str(tmp_path / "results"), "-o", str(tmp_path / "index.html")]) == 0
    html = (tmp_path / "index.html").read_text()
    assert "mock/fast" in html and "mock/slow" in html
    assert html.count('class="badge status-not-tested"') == 4  # the mock is no shared memory
