"""The wake-up probe (real processes) and compare's rule for cells whose cost is a wake-up (hand-made files):
a machine whose wake-ups changed between the files is not a regression of the cells that wait by blocking,
while a move beyond the probe's, a move when the probe stood still, and a spinning cell's move still are."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ipcbench import compare, compare_output, compare_probe, store, wakeprobe
from ipcbench.errors import ResultFileError
from ipcbench.plan import build_options
from ipcbench.runner import Runner
from tests.compare_docs import SPREAD, document, grid, pingpong, scaled
from tests.seams import MOCK_REGISTRY

# ---- the probe itself ----------------------------------------------------------------------------------


def test_a_probe_measures_both_kinds_with_real_processes() -> None:
    found = wakeprobe.measure(0, 1 if len(__import__("os").sched_getaffinity(0)) > 1 else 0)
    assert "error" not in found
    for kind in wakeprobe.KINDS:
        figures = found[kind]
        assert figures["round_trips"] > 0
        assert 0 < figures["p10_ns"] <= figures["p50_ns"] <= figures["p90_ns"] <= figures["p99_ns"]


def test_a_run_probes_before_amid_and_after_its_cells_and_the_file_loads(tmp_path: Path) -> None:
    options = build_options(
        profile="quick",
        transports="mock",
        sizes="64",
        workloads="pingpong",
        repeats=2,
        budget_s=0.002,
        output=tmp_path,
        registry=MOCK_REGISTRY,
    )
    document, path = Runner(options, registry=MOCK_REGISTRY).run()
    section = store.load(path)["wake_probe"]
    assert [probe["at"] for probe in section["probes"]] == ["start", "middle", "end"]
    assert [probe["after_cells"] for probe in section["probes"]] == [0, 1, 2]
    assert all(probe["pipe"]["p50_ns"] > 0 and probe["spin"]["p50_ns"] > 0 for probe in section["probes"])
    assert wakeprobe.p50s(document, "pipe") == [p["pipe"]["p50_ns"] for p in section["probes"]]
    assert wakeprobe.text(document).startswith("wake-up probe p50 (pipe / spin): start ")
    assert wakeprobe.text({"cells": []}) is None


def test_a_damaged_probe_is_refused_and_a_file_without_one_loads() -> None:
    doc = with_probes(document(grid()), [100e3] * 3)
    doc["wake_probe"]["probes"][1]["pipe"]["p50_ns"] = 0
    with pytest.raises(ResultFileError, match=r"wake_probe.probes\[1\].pipe.p50_ns"):
        store.validate(doc)
    store.validate(document(grid()))


# ---- compare's rule ------------------------------------------------------------------------------------

FAST, SLOW = [90e3, 92e3, 88e3], [300e3, 310e3, 290e3]  # the pipe probe's p50s in the two wake-up modes
SPIN = [700.0, 710.0, 690.0]


def with_probes(doc: dict[str, Any], pipe: list[float], spin: list[float] = SPIN) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    probes = [
        {"at": at, "pipe": {"round_trips": 1000, "p50_ns": p}, "spin": {"round_trips": 2000, "p50_ns": s}}
        for at, p, s in zip(("start", "middle", "end"), pipe, spin, strict=True)
    ]
    doc["wake_probe"] = {"method": wakeprobe.METHOD, "probes": probes}
    for cell in doc["cells"]:  # the grid marks every cell "block"; spinning variants spin
        if (cell.get("variant") or "").startswith("spin"):
            cell["params"] = {**cell["params"], "wait": "spin"}
    store.validate(doc)
    return doc


def slowed(doc: dict[str, Any], factors: dict[tuple[str, str | None, str, int], float]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for cell in doc["cells"]:
        factor = factors.get((cell["transport"], cell["variant"], cell["workload"], cell["size"]), 1.0)
        for run in cell["runs"]:
            for key in ("p50_ns", "p99_ns"):
                if key in run:
                    run[key] *= factor
            run["bytes_per_s"] /= factor
            run["msgs_per_s"] /= factor
    return doc


# Only a few cells move in a mode change: pipe and fifo round trips, a semaphore stream (as measured).
MACHINE = {
    ("pipe", None, "pingpong", 64): 3.0,
    ("fifo", None, "pingpong", 64): 2.6,
    ("posix-shm", "sem", "stream", 64): 2.2,
}


def compared(base: dict[str, Any], new: dict[str, Any]) -> compare.Comparison:
    new = {**new, "created": "2026-11-26T15:00:00Z"}
    return compare.compare((Path("base.json"), base), (Path("new.json"), new))


def verdicts(comparison: compare.Comparison) -> dict[str, tuple[str, bool]]:
    return {cell.name: (cell.verdict, cell.regressed) for cell in comparison.cells}


def test_blocking_cells_that_moved_with_the_probe_are_undecided_and_listed() -> None:
    base = with_probes(document(grid()), FAST)
    comparison = compared(base, slowed(with_probes(base, SLOW), MACHINE))
    found = verdicts(comparison)
    for name in ("pipe pingpong 64", "fifo pingpong 64", "posix-shm/sem stream 64"):
        assert found[name] == (compare_probe.UNDECIDED, False)
    assert not comparison.failed
    move = comparison.probes["block"]
    assert move.moved and move.ratio == pytest.approx(300 / 90, rel=0.05)
    assert not comparison.probes["spin"].moved
    cell = next(c for c in comparison.cells if c.name == "pipe pingpong 64")
    assert "p50 +200.0%; p50 x0.900 relative to the pipe wake-up probe x3.33" in cell.detail
    text = compare_output.render(comparison, "table")
    assert "3 cell(s) machine changed: undecided" in text
    assert "3 cell(s) moved with the machine's wake-ups: undecided" in text
    data = json.loads(compare_output.render(comparison, "json"))
    assert data["gate"] == "pass" and data["wake_probes"]["block"]["moved"] is True
    assert any(
        note.endswith(": fifo pingpong 64, pipe pingpong 64, posix-shm/sem stream 64")
        for note in data["notes"]
    )
    cells = {c["name"]: c for c in data["cells"]}
    assert cells["pipe pingpong 64"]["verdict"] == compare_probe.UNDECIDED
    assert cells["pipe pingpong 64"]["relative_to_probe"]["p50"]["ratio"] == pytest.approx(0.9, rel=0.05)
    assert compare_probe.UNDECIDED in compare_output.render(comparison, "markdown")


def test_the_session_is_measured_on_the_cells_no_moved_probe_speaks_for() -> None:
    cells = grid() + [
        pingpong(f"posix-shm/spin{n}", 64, [700.0 * s for s in SPREAD]) for n in range(6)
    ]  # enough spinning cells to measure a session on
    base = with_probes(document(cells), FAST)
    blocking = {
        (cell["transport"], cell["variant"], cell["workload"], cell["size"]): 2.5
        for cell in base["cells"]
        if cell["params"]["wait"] == "block"
    }
    raw = compared(base, slowed({**base, "wake_probe": None}, blocking) | {"wake_probe": None})
    assert raw.noise[("pingpong", "p50")].shift == pytest.approx(2.5)  # the machine's move, as the shift
    comparison = compared(base, slowed(with_probes(base, SLOW), blocking))
    assert comparison.noise[("pingpong", "p50")].shift == pytest.approx(1.0)  # the spinning cells'
    assert not comparison.failed
    moved = [c for c in comparison.cells if c.base["params"]["wait"] == "block" and c.key[2] == "pingpong"]
    assert {c.verdict for c in moved} == {compare_probe.UNDECIDED}
    # Stream has too few spinning cells for a session of its own: its session is every cell's, as before.
    assert comparison.noise[("stream", "throughput")].shift == pytest.approx(2.5)


def test_a_blocking_cell_that_moved_while_the_probe_stood_still_regresses() -> None:
    base = with_probes(document(grid()), FAST)
    for factor in (1.3, 1.5):
        new = slowed(with_probes(base, [91e3, 89e3, 90e3]), {("pipe", None, "pingpong", 64): factor})
        comparison = compared(base, new)
        assert not comparison.probes["block"].moved
        assert verdicts(comparison)["pipe pingpong 64"] == ("slower", True)


def test_a_blocking_cell_that_moved_beyond_the_probe_regresses() -> None:
    base = with_probes(document(grid()), FAST)
    new = slowed(with_probes(base, SLOW), {**MACHINE, ("pipe", None, "pingpong", 64): 3.0 * 1.5})
    comparison = compared(base, new)
    assert verdicts(comparison)["pipe pingpong 64"] == ("slower", True)
    cell = next(c for c in comparison.cells if c.name == "pipe pingpong 64")
    assert "p50 x1.350 relative to" in cell.detail and "relative to the pipe wake-up probe" in cell.detail
    assert comparison.failed


def test_a_spinning_cell_that_moved_while_only_the_pipe_probe_moved_regresses() -> None:
    base = with_probes(document(grid()), FAST)
    new = slowed(with_probes(base, SLOW), {**MACHINE, ("posix-shm", "spin", "pingpong", 64): 2.0})
    comparison = compared(base, new)
    assert verdicts(comparison)["posix-shm/spin pingpong 64"] == ("slower", True)


def test_a_blocking_cell_slower_while_the_machine_got_faster_regresses() -> None:
    base = with_probes(document(grid()), SLOW)
    new = slowed(with_probes(base, FAST), {("pipe", None, "pingpong", 64): 1.5})
    assert verdicts(compared(base, new))["pipe pingpong 64"] == ("slower", True)


def test_files_without_probes_are_compared_as_before() -> None:
    base = document(grid())
    new = slowed(base, MACHINE)
    plain = compared(base, new)
    assert plain.probes == {} and verdicts(plain)["pipe pingpong 64"] == ("slower", True)
    one_side = compared(with_probes(base, FAST), slowed(base, MACHINE))
    assert verdicts(one_side) == verdicts(plain)
    assert "only BASE has wake-up probes" in compare_output.render(one_side, "table")
    assert all(not cell.relative for cell in plain.cells)


def test_probes_that_scatter_as_much_as_they_moved_do_not_count_as_a_move() -> None:
    base = with_probes(document(grid()), [90e3, 300e3, 95e3])
    new = slowed(with_probes(document(grid()), [290e3, 100e3, 310e3]), MACHINE)
    comparison = compared(base, scaled(new, [1.0]))
    assert not comparison.probes["block"].moved
    assert verdicts(comparison)["pipe pingpong 64"][0] == "slower"
