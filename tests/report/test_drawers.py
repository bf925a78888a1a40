"""The report's drawers: every figure drawn once, by forked processes while the caller works, or here."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from ipcbench.report import drawing


def _figure(name: str) -> str:
    return f"<svg>{name} by {os.getpid()}</svg>"


def _jobs(prefix: str, count: int) -> drawing.Jobs:
    return {f"{prefix}{i}": (lambda name=f"{prefix}{i}": _figure(name)) for i in range(count)}


def _fail() -> str:
    raise ValueError("no such cell")


@pytest.mark.parametrize("cores", [{0}, None])
def test_every_figure_is_drawn_once_whoever_draws_it(
    monkeypatch: pytest.MonkeyPatch, cores: set[int] | None
) -> None:
    if cores is not None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cores)
    with drawing.Drawing(_jobs("run", 9)) as drawer:
        drawn = drawer.finish(_jobs("trend", 3))
    assert set(drawn) == {f"run{i}" for i in range(9)} | {f"trend{i}" for i in range(3)}
    assert all(svg and svg.startswith(f"<svg>{name} by ") for name, svg in drawn.items())
    drawers = {svg.split(" by ")[1] for svg in drawn.values() if svg}
    if cores is not None:  # one core: all in this process
        assert drawers == {f"{os.getpid()}</svg>"}


def test_an_error_in_a_drawer_is_raised_in_the_caller_and_no_drawer_is_left() -> None:
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(ValueError, match="no such cell"):
        with drawing.Drawing({"bad": _fail, **_jobs("run", 3)}) as drawer:
            drawer.finish(_jobs("trend", 2))
    assert set(os.listdir("/proc/self/fd")) <= before  # pipes closed
    assert not multiprocessing.active_children()


def test_nothing_to_draw_later_still_draws_the_first_and_the_caller_works_meanwhile() -> None:
    called: list[int] = []
    with drawing.Drawing(_jobs("run", 2)) as drawer:
        assert set(drawer.finish({}, lambda: called.append(1))) == {"run0", "run1"}
    assert called == [1]


def test_drawers_left_behind_end_quietly_when_the_caller_fails(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # what the ipcbench command does on SIGTERM, inherited by the drawers

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    previous = signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match="the history failed"):
            with drawing.Drawing({"slow": lambda: time.sleep(60) or "<svg/>"}):
                time.sleep(0.5)  # the drawer is drawing
                raise RuntimeError("the history failed")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert time.monotonic() - started < 30
    assert "Traceback" not in capfd.readouterr().err
    assert not multiprocessing.active_children()
