"""Noisy machines: the load during every cell is recorded, and a cell measured while the machine was busy,
or whose runs disagree, is flagged ``unstable`` with the reason (the rule is documented in ``stats``)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipcbench import machine, stats, store
from ipcbench.plan import Cell, build_options
from ipcbench.runner import Runner

QUIET = {"wall_s": 0.1, "others_cpus": 0.05, "steal_cpus": 0.0, "cpu_pressure": 0.02}


def test_agreeing_runs_on_a_quiet_machine_are_stable() -> None:
    assert stats.instability([1000, 1010, 990], "pingpong", QUIET, [QUIET] * 3, cpus=2) is None


@pytest.mark.parametrize(("workload", "spread"), [("pingpong", 0.3), ("stream", 0.6)])
def test_runs_that_disagree_are_unstable(workload: str, spread: float) -> None:
    values = [1.0, 1.0 + spread, 1.0 - spread]
    reason = stats.instability(values, workload, QUIET, [QUIET] * 3, cpus=2)
    assert reason is not None and reason.startswith("runs disagree: cv ")


def test_the_stream_bound_is_wider_than_the_pingpong_bound() -> None:
    values = [1.0, 1.35, 0.65]  # cv 0.35
    assert stats.instability(values, "pingpong", QUIET, cpus=2) is not None
    assert stats.instability(values, "stream", QUIET, cpus=2) is None


def test_a_load_that_changed_between_runs_is_unstable() -> None:
    busy_run = {**QUIET, "cpu_pressure": 0.8}
    reason = stats.instability([1000, 1000, 1000], "pingpong", QUIET, [QUIET, busy_run, QUIET], cpus=2)
    assert reason == "load changed between runs: tasks waited for a CPU 2% to 80% of a run"


def test_a_busy_machine_is_unstable_by_pressure_or_by_others_cpu() -> None:
    pressed = {**QUIET, "cpu_pressure": 0.95}
    assert stats.instability([1, 1, 1], "stream", pressed, cpus=2) == (
        "machine busy: tasks waited for a CPU 95% of the time"
    )
    no_psi = {**QUIET, "cpu_pressure": None, "others_cpus": 1.3}
    assert stats.instability([1, 1, 1], "stream", no_psi, cpus=2) == (
        "machine busy: other programs kept 1.3 of 2 CPUs busy"
    )
    # Pressure just under its bound does not hide other programs holding most of the machine.
    held = {**QUIET, "cpu_pressure": 0.89, "others_cpus": 1.3}
    assert stats.instability([1, 1, 1], "stream", held, cpus=2) == (
        "machine busy: other programs kept 1.3 of 2 CPUs busy"
    )


def test_every_reason_is_given() -> None:
    reason = stats.instability([1.0, 2.0, 3.0], "pingpong", {**QUIET, "cpu_pressure": 0.99}, cpus=2)
    assert reason is not None and reason.count("; ") == 1


def test_missing_load_figures_are_no_evidence() -> None:
    assert stats.instability([5, 5], "pingpong", None, [None, None], cpus=2) is None
    assert stats.instability([5], "stream", {}, cpus=2) is None


def test_the_load_meter_counts_the_cpu_another_program_takes() -> None:
    meter = machine.LoadMeter()
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        during = meter.stop()  # before the loop is reaped: its CPU is not ipcbench's
    finally:
        loop.kill()
        loop.wait()
    assert during["wall_s"] >= 0.5
    assert during["others_cpus"] is not None and during["others_cpus"] > 0.3
    assert during["cpu_pressure"] is None or 0 <= during["cpu_pressure"] <= 1


@pytest.fixture
def burners() -> Iterator[None]:
    """Three busy loops on a two-CPU machine: more runnable tasks than CPUs throughout."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


@pytest.mark.slow
def test_a_cell_measured_against_busy_loops_is_flagged(burners: None, tmp_path: Path) -> None:
    # A spinning pair needs both CPUs to itself: competition shows in every run, whatever else runs here.
    options = build_options(
        profile="quick",
        transports="posix-shm/spin",
        sizes="64",
        workloads="pingpong",
        repeats=5,
        pin="cross",
        output=tmp_path,
        timeout_s=30,
    )
    cell = Runner(options).measure_cell(Cell("posix-shm", "spin", "pingpong", 64))
    assert cell["status"] == "ok", cell["reason"]
    assert cell["unstable"] is True
    assert "machine busy" in cell["unstable_reason"]
    during = cell["load"]["during"]
    assert during["others_cpus"] > 0.5
    assert all("load" in run for run in cell["runs"])
    document = {
        "schema_version": 1,
        "ipcbench_version": "0",
        "created": "2026-11-26T14:00:00Z",
        "machine": {"name": "box"},
        "config": {},
        "cells": [cell],
    }
    store.validate(document)  # the new keys are part of schema 1
