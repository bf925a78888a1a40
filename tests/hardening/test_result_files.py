"""Bad result files: every command that reads one says what is wrong in one line and exits with status 2.

``show`` is driven in-process through ``cli.main`` (the same code path as the installed command, without
a Python start-up per case); ``report`` and ``compare`` through the real command line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ipcbench import cli, store
from tests.conftest import run_cli

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "result-v1-real.json"
Mutation = Callable[[dict[str, Any]], Any]


def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


def mutated(change: Mutation) -> str:
    document = golden()
    change(document)
    return json.dumps(document)


def first_pingpong(document: dict[str, Any]) -> dict[str, Any]:
    return next(cell for cell in document["cells"] if cell["workload"] == "pingpong")


# (name, file content, what the one line must say)
BAD_TEXTS: list[tuple[str, str | bytes, str]] = [
    ("empty", "", "not valid JSON"),
    ("truncated", GOLDEN.read_text()[: len(GOLDEN.read_text()) // 2], "not valid JSON"),
    ("not utf-8", b"\xff\xfe{}", "cannot read"),
    ("a list", "[1, 2]", "top level is not an object"),
    ("deeply nested", "[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ("NaN figure", GOLDEN.read_text().replace('"p50": ', '"p50": NaN, "x": ', 1), "NaN is not a valid"),
    ("Infinity figure", GOLDEN.read_text().replace('"p50": ', '"p50": Infinity, "x": ', 1), "Infinity"),
    ("overflowing figure", GOLDEN.read_text().replace('"p50": ', '"p50": 1e999, "x": ', 1), "finite number"),
    ("no schema_version", mutated(lambda d: d.pop("schema_version")), "no valid schema_version"),
    ("string schema_version", mutated(lambda d: d.update(schema_version="1")), "no valid schema_version"),
    ("bool schema_version", mutated(lambda d: d.update(schema_version=True)), "no valid schema_version"),
    ("newer schema_version", mutated(lambda d: d.update(schema_version=99)), "schema_version 99 is newer"),
    ("missing cells", mutated(lambda d: d.pop("cells")), "missing key 'cells'"),
    ("cells not a list", mutated(lambda d: d.update(cells={})), "cells: expected a list"),
    ("cell not an object", mutated(lambda d: d["cells"].append(5)), "cells[4]: expected an object"),
    ("size as text", mutated(lambda d: d["cells"][0].update(size="64")), "cells[0].size"),
    ("size as bool", mutated(lambda d: d["cells"][0].update(size=True)), "cells[0].size"),
    ("huge size", mutated(lambda d: d["cells"][0].update(size=10**400)), "cells[0].size"),
    ("negative p50", mutated(lambda d: first_pingpong(d)["latency_ns"].update(p50=-5)), "non-negative"),
    ("huge integer", mutated(lambda d: first_pingpong(d)["latency_ns"].update(max=10**400)), "finite number"),
    ("text figure", mutated(lambda d: first_pingpong(d)["latency_ns"].update(min="fast")), "latency_ns.min"),
    ("fractional count", mutated(lambda d: d["cells"][0].update(messages=1.5)), "cells[0].messages"),
    ("no runs", mutated(lambda d: d["cells"][0].update(runs=[])), "non-empty list of runs"),
    ("run without figures", mutated(lambda d: d["cells"][0]["runs"][0].pop("elapsed_ns")), "elapsed_ns"),
    (
        "reversed interval",
        mutated(lambda d: first_pingpong(d)["latency_ns"].update(ci95_p50=[9.0, 1.0])),
        "low bound",
    ),
    ("broken histogram", mutated(lambda d: first_pingpong(d).update(histogram="HISTFAAAA")), "HDR histogram"),
    ("unstable as text", mutated(lambda d: d["cells"][0].update(unstable="yes")), "true or false"),
    ("params as list", mutated(lambda d: d["cells"][0].update(params=[])), "params: expected an object"),
    ("bad time", mutated(lambda d: d.update(created="yesterday")), "ISO 8601"),
    ("unknown status", mutated(lambda d: d.update(status="paused")), "status: expected one of"),
    ("bad load", mutated(lambda d: d["cells"][0]["load"]["before"].update(loadavg_1m="high")), "loadavg_1m"),
    ("native tier as number", mutated(lambda d: d["config"].update(native_tier=-1)), "config.native_tier"),
]


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables wide enough that no cell text is wrapped (the console's width is fixed at import)."""
    from ipcbench import console

    monkeypatch.setattr(console.console, "width", 400)


def one_error_line(code: int, stderr: str) -> str:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("ipcbench: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("content", "message"), [(c, m) for _, c, m in BAD_TEXTS], ids=[name for name, _, _ in BAD_TEXTS]
)
def test_show_refuses_a_bad_file_in_one_line(
    content: str | bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    line = one_error_line(cli.main(["show", str(path)]), capsys.readouterr().err)
    assert str(path) in line and message in line


@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "missing", "enormous"])
def test_show_refuses_what_is_not_a_result_file_without_blocking(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "thing.json"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # reading it would block forever
    elif kind == "device":
        path = Path("/dev/zero")  # reading it would never end
    elif kind == "enormous":
        with path.open("wb") as sparse:  # sparse: no disk space, no time
            sparse.truncate(store.MAX_FILE_BYTES + 1)
    line = one_error_line(cli.main(["show", str(path)]), capsys.readouterr().err)
    assert str(path) in line


def test_show_says_a_killed_run_is_incomplete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "killed.json"
    path.write_text(mutated(lambda d: d.update(status="running", finished=None)))
    assert cli.main(["show", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "INCOMPLETE: the run never finished (killed, crashed, or still running); 4 cell(s) saved" in out


def test_show_names_the_reason_a_cell_is_unstable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "noisy.json"
    path.write_text(mutated(lambda d: d["cells"][0].update(unstable=True, unstable_reason="machine busy")))
    assert cli.main(["show", str(path)]) == 0
    assert "UNSTABLE (machine busy; rerun)" in " ".join(capsys.readouterr().out.split())


@pytest.mark.slow
def test_report_refuses_a_bad_file_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(BAD_TEXTS[1][1])  # truncated
    result = run_cli("report", str(path), "-o", str(tmp_path / "report.html"))
    line = one_error_line(result.returncode, result.stderr)
    assert str(path) in line and "not valid JSON" in line
    assert not (tmp_path / "report.html").exists()


@pytest.mark.slow
def test_compare_refuses_a_bad_file_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(BAD_TEXTS[11][1])  # a newer schema
    result = run_cli("compare", str(GOLDEN), str(path))
    line = one_error_line(result.returncode, result.stderr)
    assert str(path) in line and "schema_version 99 is newer" in line


def test_a_growing_file_is_written_exactly_as_a_whole_one(tmp_path: Path) -> None:
    """A run saves after every cell through ``store.Growing`` (each cell encoded once): the bytes on disk
    are those of ``json.dumps(document, indent=1)`` at every step, labels with quotes and line breaks too."""
    whole = json.loads((GOLDEN.parent / "result-v2-real.json").read_text())
    whole["label"] = 'a "label"\nwith "cells": [] in it'
    document, text, path = {**whole, "cells": []}, store.Growing(), tmp_path / "r.json"
    for cell in [None, *whole["cells"]]:
        if cell is not None:
            document["cells"].append(cell)
        store.save(document, path, text)
        assert path.read_text() == json.dumps(document, indent=1)
    document["status"] = "interrupted"
    store.save(document, path, text)
    assert store.load(path)["status"] == "interrupted"
