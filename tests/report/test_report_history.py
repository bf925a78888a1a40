"""The report's history: change points found by forked processes while the page is prepared, the same as
``history.build``'s, kept in the memo for ``history`` after."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from ipcbench import changes, history, report
from ipcbench.cache import Memo, summaries
from ipcbench.cli import main
from tests.test_history import noisy_series


def _folder(tmp_path: Path) -> Path:
    noisy_series(tmp_path)
    noisy_series(tmp_path, count=8, slow_from=None, machine="m2")
    return tmp_path


@pytest.mark.parametrize(("cores", "forked"), [({0, 1}, 1), ({0}, 0)])
def test_the_reports_change_points_are_the_historys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: set[int], forked: int
) -> None:
    folder = _folder(tmp_path)
    expected = history.as_json(history.build(summaries([folder])))
    monkeypatch.setattr(changes, "PARALLEL_FROM", 0)  # processes even for this short history
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: cores)
    with report._Changes(history.series_lines(summaries([folder])), Memo([])) as found:
        assert len(found.work.drawers) == forked  # with one core, everything is found in the caller
        assert history.as_json(found.lines()) == expected


def test_an_error_finding_them_comes_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path)
    monkeypatch.setattr(changes, "PARALLEL_FROM", 0)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1})

    def broken(*args: object) -> list[changes.Change]:
        raise ValueError("broken detection")

    monkeypatch.setattr(changes, "detect", broken)
    with pytest.raises(ValueError, match="broken detection"):
        with report._Changes(history.series_lines(summaries([folder])), Memo([])) as found:
            found.lines()
    assert not multiprocessing.active_children()  # the other process ended


def test_history_after_a_report_remembers_its_change_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    assert main(["report", str(folder), "-o", str(tmp_path / "report.html")]) == 0
    worked_out: list[int] = []
    detect = changes.detect
    monkeypatch.setattr(changes, "detect", lambda *args: worked_out.append(1) or detect(*args))
    assert main(["history", str(folder), "--format", "json"]) == 0
    assert capsys.readouterr().out and not worked_out
