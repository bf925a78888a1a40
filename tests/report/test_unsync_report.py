"""The ``unsync`` demonstration in a result file: loaded and checked like any field, shown by ``show`` with
its counts, cited by claim 3, and kept out of every speed figure, comparison, verdict and export."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from report_docs import around, document, pingpong, run_of, stream

from ipcbench import compare, exports, frames, history, store
from ipcbench.console import console, result_table
from ipcbench.errors import ResultFileError
from ipcbench.report import verdicts as v
from ipcbench.report.page import render

COUNTS = {"sent": 100, "reads": 35, "intact": 60, "torn": 25, "lost": 15, "duplicated": 5}


def race(api: str = "posix-shm", size: int = 4096, counts: dict[str, Any] | None = None) -> dict[str, Any]:
    """A demonstration cell whose raw figures would win every speed comparison, were they counted."""
    cell = stream(f"{api}/unsync", size, around(9e12))
    runs = [{**run, "unsync": {**(counts or COUNTS), "sent": run["messages"]}} for run in cell["runs"]]
    return {**cell, "runs": runs, "unsync": counts or COUNTS, "params": {"wait": "never", "slots": 1}}


def race_run() -> dict[str, Any]:
    cells = [
        pingpong(f"{api}/{variant}", 4096, around(1_000 if variant == "spin" else 8_000))
        for api in ("sysv-shm", "posix-shm")
        for variant in ("sem", "spin")
    ]
    cells += [stream("pipe", 4096, around(1e9)), stream("posix-shm/spin", 4096, around(2e9)), race()]
    return document(cells)


def test_the_counts_load_and_bad_counts_are_refused() -> None:
    doc = race_run()
    assert store.is_demonstration(doc["cells"][-1]) and doc["cells"][-1]["unsync"]["torn"] == 25
    broken = {**doc, "cells": [*doc["cells"][:-1], {**race(), "unsync": {"sent": 100, "torn": -1}}]}
    with pytest.raises(ResultFileError, match="unsync"):
        store.parse(json.dumps(broken))


def test_claim_3_cites_the_demonstration_which_enters_no_verdict() -> None:
    run = run_of(race_run())
    assert "posix-shm/unsync" not in run.labels()
    assert [cell["variant"] for cell in run.demonstrations] == ["unsync"]
    sync = v.claim_sync_cost(run)
    note = next(text for text in sync.notes if text.startswith("Without any synchronisation"))
    assert "posix-shm/unsync at 4K: of 100 messages, 25 arrived torn, 15 were lost, 5 duplicated" in note
    for verdict in v.verdicts(run):
        for finding in verdict.findings:
            assert all("unsync" not in f"{c.subject} {c.baseline}" for c in finding.evidence)


def test_several_demonstrations_are_added_up_in_the_note_and_listed_in_a_table() -> None:
    doc = race_run()
    counts = {**COUNTS, "sent": 1500}
    doc["cells"] += [race("sysv-shm", 4096), race("posix-shm", 1 << 20, counts)]
    run = run_of(doc)
    note = next(text for text in v.claim_sync_cost(run).notes if text.startswith("Without any"))
    assert "over its 3 cells, of 1,700 messages, 75 arrived torn, 45 were lost, 15 duplicated" in note
    html = render([run])
    table = html[html.index('<table class="race">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 4 and "sysv-shm/unsync" in table and "1,500" in table


def test_without_a_demonstration_claim_3_says_nothing_of_it() -> None:
    doc = race_run()
    run = run_of({**doc, "cells": doc["cells"][:-1]})
    assert not [text for text in v.claim_sync_cost(run).notes if "unsync" in text]


def test_show_gives_the_counts_instead_of_speed_figures() -> None:
    with console.capture() as captured:
        console.print(result_table(race_run()))
    row = next(line for line in captured.get().splitlines() if "posix-shm/unsync" in line)
    assert "DEMONSTRATION" in row and "MB/s" not in row


def test_compare_history_load_and_exports_leave_it_out(tmp_path: Path) -> None:
    doc = race_run()
    comparison = compare.compare((tmp_path / "a.json", doc), (tmp_path / "b.json", doc))
    assert comparison.cells and all(cell.key[1] != "unsync" for cell in comparison.cells)
    row = next(r for r in frames.document_rows(doc) if r["variant"] == "unsync")
    assert row["status"] == "ok" and math.isnan(row["bytes_per_s"]) and row["run_bytes_per_s"] == []
    assert history.headline(row) is None  # no point in any history series
    names = [entry["name"] for entry in exports.export(doc, "github-action-benchmark", "throughput")]
    assert names and not [name for name in names if "unsync" in name]
