"""Claim 2 names the buffers it was judged with (the values read back, from the cells' params), says
whether tuned rivals change it when a run holds default and tuned cells, and shows shared memory read in
place beside shared memory copied out."""

from __future__ import annotations

from typing import Any

from report_docs import around, document, run_of, stream

from ipcbench.report import verdicts as v
from ipcbench.report.verdict_output import render

MIB = 1 << 20


def tuned(cell: dict[str, Any], **tune: object) -> dict[str, Any]:
    return {**cell, "tune": tune}


def with_params(cell: dict[str, Any], **params: object) -> dict[str, Any]:
    return {**cell, "params": {**cell["params"], **params}}


def pipe(size: int, rate: float, buffer: int = 65536, tune: int | None = None) -> dict[str, Any]:
    cell = with_params(stream("pipe", size, around(rate)), pipe_buffer=buffer)
    return tuned(cell, pipe_buffer=tune) if tune else cell


def shm(size: int, rate: float, receive: str = "copy") -> dict[str, Any]:
    cell = with_params(stream("posix-shm/spin", size, around(rate)), slots=4, receive=receive)
    return tuned(cell, receive="inplace") if receive == "inplace" else cell


def claim2(cells: list[dict[str, Any]]) -> v.Verdict:
    return v.claim_large_or_frequent(run_of(document(cells)))


def note(verdict: v.Verdict, start: str) -> str:
    found = [text for text in verdict.notes if text.startswith(start)]
    assert len(found) == 1, verdict.notes
    return found[0]


def test_the_verdict_names_the_buffers_in_force_per_rival() -> None:
    cells = [
        shm(MIB, 2e9),
        pipe(MIB, 0.6e9),
        with_params(stream("unix", MIB, around(0.5e9)), sndbuf=425984, rcvbuf=425984),
    ]
    text = note(claim2(cells), "Judged with these buffers in force at 1M")
    assert "pipe: pipe buffer 64K" in text
    assert "unix: socket buffers 416K send, 416K receive" in text
    assert "posix-shm/spin: ring of 4 slots, copied out" in text


def test_buffers_that_differ_by_size_are_named_per_size() -> None:
    cells = [shm(MIB, 2e9), shm(16 * MIB, 2e9), pipe(MIB, 0.6e9), pipe(16 * MIB, 0.6e9, buffer=131072)]
    text = note(claim2(cells), "Judged with these buffers")
    assert "pipe: pipe buffer 64K at 1M, pipe buffer 128K at 16M" in text


def test_a_tuned_pipe_that_catches_up_changes_the_verdict_and_says_where() -> None:
    cells = [shm(MIB, 2e9), pipe(MIB, 0.6e9), pipe(MIB, 3e9, buffer=MIB, tune=MIB)]
    verdict = claim2(cells)
    assert verdict.status == v.REFUTED  # judged against every rival, the tuned one included
    text = note(verdict, "Tuning")
    assert "from holds to refuted" in text and "pipe[pipe_buffer=1M]" in text
    assert "posix-shm/spin at 1M holds with default buffers, refuted with the tuned rivals" in text
    buffers = note(verdict, "Judged with these buffers")
    assert "pipe: pipe buffer 64K" in buffers and "pipe[pipe_buffer=1M]: pipe buffer 1M" in buffers


def test_a_tuned_pipe_that_stays_behind_leaves_the_verdict_as_it_is() -> None:
    cells = [shm(MIB, 4e9), pipe(MIB, 0.6e9), pipe(MIB, 1e9, buffer=MIB, tune=MIB)]
    verdict = claim2(cells)
    assert verdict.status == v.HOLDS
    assert "does not change the verdict" in note(verdict, "Tuning")


def test_a_case_the_tuned_rival_makes_undecided_is_a_change_but_not_of_the_verdict() -> None:
    cells = [
        shm(MIB, 2e9),
        shm(16 * MIB, 4e9),
        pipe(MIB, 0.6e9),
        pipe(16 * MIB, 0.6e9),
        pipe(MIB, 1.9e9, buffer=MIB, tune=MIB),
        tuned(with_params(stream("pipe", 16 * MIB, [0.5e9, 2e9, 6e9]), pipe_buffer=MIB), pipe_buffer=MIB),
    ]
    text = note(claim2(cells), "Tuning")
    assert "leaves the verdict holds" in text
    assert "posix-shm/spin at 16M holds with default buffers, inconclusive with the tuned rivals" in text


def test_without_tuned_cells_nothing_is_said_about_tuning() -> None:
    verdict = claim2([shm(MIB, 2e9), pipe(MIB, 0.6e9)])
    assert not [text for text in verdict.notes if text.startswith("Tuning")]


def test_in_place_receive_is_reported_beside_copy_with_both_outcomes() -> None:
    cells = [shm(MIB, 1e9), shm(MIB, 3e9, receive="inplace"), pipe(MIB, 2e9)]
    verdict = claim2(cells)
    subjects = {f.subject for f in verdict.findings}
    assert subjects == {"posix-shm/spin", "posix-shm/spin[receive=inplace]"}
    text = note(verdict, "In-place receive")
    assert "posix-shm/spin[receive=inplace] stream at 1M moves 3.00x more bytes/s than posix-shm/spin" in text
    assert "(claim: refuted copying, holds in place)" in text
    buffers = note(verdict, "Judged with these buffers")
    assert "posix-shm/spin[receive=inplace]: ring of 4 slots, read in place" in buffers


def test_in_place_is_set_beside_a_copy_asked_for_by_name() -> None:
    """``--tune receive=copy,inplace`` labels the copying cell ``[receive=copy]``, not the default's label."""
    copy = tuned(shm(MIB, 1e9), receive="copy")
    text = note(claim2([copy, shm(MIB, 3e9, receive="inplace"), pipe(MIB, 2e9)]), "In-place receive")
    assert "3.00x more bytes/s than posix-shm/spin[receive=copy]" in text


def test_the_notes_reach_the_verdicts_command() -> None:
    cells = [shm(MIB, 2e9), pipe(MIB, 0.6e9), pipe(MIB, 3e9, buffer=MIB, tune=MIB)]
    for form in ("json", "table", "markdown"):
        text = render([run_of(document(cells))], form)
        assert "Tuning changes the verdict from holds to refuted" in text, form
