"""ipcbench compare on hand-made result files with known answers: verdicts, the gate's exit status and
wording, the statistics' edge cases, every output format, and bad input."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from ipcbench import compare, compare_output, compare_run, stats
from ipcbench.cli import main
from tests.compare_docs import MECHANISMS, document, grid, not_measured, pingpong, scaled, stream, write
from tests.conftest import run_cli

GOLDEN = Path(__file__).parent / "golden"


def files(tmp_path: Path, base: dict, new: dict) -> tuple[str, str]:
    return str(write(base, tmp_path / "base.json")), str(write(new, tmp_path / "new.json"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["compare", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


# ---- the gate -----------------------------------------------------------------------------------------


def test_a_20_percent_slowdown_in_one_cell_fails_the_gate_and_names_it(tmp_path, capsys) -> None:
    base = document(grid())
    new = document(grid({("pipe", "pingpong", 64): 1.2}), created="2026-11-26T15:00:00Z")
    status, out, _ = run(capsys, *files(tmp_path, base, new), "--fail")
    assert status == 1
    assert "gate: FAIL: 1 cell(s) regressed" in out
    assert "REGRESSION pipe pingpong 64: p50 +20.0%" in out
    assert out.count("REGRESSION") == 1


def test_without_fail_a_regression_is_reported_but_exits_0(tmp_path, capsys) -> None:
    base, new = document(grid()), document(grid({("pipe", "pingpong", 64): 1.2}))
    status, out, _ = run(capsys, *files(tmp_path, base, new))
    assert status == 0
    assert "REGRESSION pipe pingpong 64" in out


def test_identical_files_pass(tmp_path, capsys) -> None:
    doc = document(grid())
    status, out, _ = run(capsys, *files(tmp_path, doc, doc), "--fail")
    assert status == 0
    assert "gate: pass" in out
    comparison = compare_run.run(tmp_path / "base.json", tmp_path / "new.json", compare.Settings())
    assert {cell.verdict for cell in comparison.cells} == {"no significant change"}
    assert all(change.p_slower > 0.5 for cell in comparison.cells for change in cell.changes.values())


def test_noise_within_the_threshold_passes(tmp_path, capsys) -> None:
    base = document(grid())
    # Every cell moves by up to 3%, one of them consistently: significant, but below the 5% threshold.
    new = scaled(base, [1.03, 0.98, 1.01, 0.97, 1.02])
    status, out, _ = run(capsys, *files(tmp_path, base, new), "--fail")
    assert status == 0, out
    assert "slower" not in out.split("gate:")[0]


def test_a_throughput_drop_in_a_stream_cell_fails(tmp_path, capsys) -> None:
    base, new = document(grid()), document(grid({("unix", "stream", 4096): 1.2}))
    status, out, _ = run(capsys, *files(tmp_path, base, new), "--fail")
    assert status == 1
    assert "REGRESSION unix stream 4K: throughput -16.7%" in out


def test_a_faster_cell_is_said_and_passes(tmp_path, capsys) -> None:
    base, new = document(grid()), document(grid({("tcp", "pingpong", 64): 0.5}))
    status, out, _ = run(capsys, *files(tmp_path, base, new), "--fail", "--format", "json")
    assert status == 0
    cells = {cell["name"]: cell for cell in json.loads(out)["cells"]}
    assert cells["tcp pingpong 64"]["verdict"] == "faster"
    assert cells["tcp pingpong 64"]["detail"] == "p50 -50.0%"


def test_an_unstable_cell_is_not_judged_unless_clearly_slower(tmp_path, capsys) -> None:
    cells = grid({("pipe", "pingpong", 64): 1.04})
    cells[0] = pingpong("pipe", 64, [r["p50_ns"] for r in cells[0]["runs"]], unstable=True)
    cells[0]["unstable_reason"] = "machine busy"
    status, out, _ = run(
        capsys, *files(tmp_path, document(grid()), document(cells)), "--fail", "--format", "json"
    )
    data = json.loads(out)
    assert status == 0
    assert [(c["verdict"], c["detail"]) for c in data["cells"] if c["unstable"]] == [
        ("unstable: rerun", "(machine busy)")
    ]
    assert "1 unstable cell(s) not judged unless clearly slower; rerun to judge them" in data["notes"]


def test_a_cell_that_turns_unstable_and_clearly_worse_fails(tmp_path, capsys) -> None:
    """Issue 9: NEW runs of 20, 30 and 45 us against a stable 10 us BASE came out "unstable: rerun"."""
    base = document([pingpong("pipe", 64, [10_000, 10_050, 9_950])])
    new = document([pingpong("pipe", 64, [20_000, 30_000, 45_000], unstable=True)])
    new["cells"][0]["unstable_reason"] = "runs disagree: cv 0.40 > 0.25"
    status, out, _ = run(capsys, *files(tmp_path, base, new), "--fail", "--format", "json")
    data = json.loads(out)
    assert status == 1 and data["gate"] == "fail"
    assert data["cells"][0]["verdict"] == "unstable and slower"
    assert data["regressions"][0]["detail"] == "p50 +200.0% (runs disagree: cv 0.40 > 0.25)"


def test_few_cells_get_the_stated_fallback_floor_not_none(tmp_path, capsys) -> None:
    """Issue 9: with fewer than 6 cells there was no floor at all and an 8% change failed."""
    base = document([pingpong("pipe", 64, [10_000, 10_050, 9_950])])
    new = document([pingpong("pipe", 64, [10_800, 10_850, 10_750])])
    status, out, _ = run(capsys, *files(tmp_path, base, new), "--fail")
    assert status == 0
    assert "within session noise" in out and "session noise floor assumed for pingpong" in out


def test_a_uniform_drift_is_a_session_shift_not_48_regressions(tmp_path, capsys) -> None:
    base = document(grid())
    new = scaled(base, [1.12])
    status, out, _ = run(capsys, *files(tmp_path, base, new), "--fail", "--format", "json")
    data = json.loads(out)
    assert status == 0 and data["gate"] == "pass" and not data["regressions"]
    session = data["sessions"]["pingpong/p50"]
    assert session["shift"] == pytest.approx(1.12)
    assert session["shift_interval"][0] <= 1.12 <= session["shift_interval"][1]
    assert "session-wide shift" in " ".join(data["notes"])
    # Everything twice as slow is still caught, as a shift of the whole session.
    status, out, _ = run(capsys, *files(tmp_path, base, scaled(base, [2.0])), "--fail")
    assert status == 1 and "the whole session moved: pingpong p50 x2.000" in out


def test_one_slow_cell_stands_out_of_a_drifting_session(tmp_path, capsys) -> None:
    base = document(grid())
    new = scaled(base, [1.12, 1.05, 1.18, 1.1])
    new["cells"][0]["runs"] = [{**r, "p50_ns": r["p50_ns"] * 2} for r in new["cells"][0]["runs"]]
    comparison = compare.compare((Path("b"), base), (Path("n"), new))
    assert [cell.name for cell in comparison.regressions] == ["pipe pingpong 64"]


def test_different_placement_is_named_and_not_hidden_in_a_noise_floor(tmp_path, capsys) -> None:
    """Issue 9: cross-core against same-core gave a floor of x22.8 and "gate: pass"."""
    base = document(grid())
    factors = {
        (m, "pingpong", s): (3.0 if m.endswith("spin") else 1 / 12) for m in MECHANISMS for s in (64, 4096)
    }
    new = document(grid(factors))
    new["config"]["placement"] = "same-core"
    comparison = compare.compare((Path("b"), base), (Path("n"), new))
    assert comparison.differences == ["placement cross-core -> same-core"]
    slower = {cell.name for cell in comparison.regressions}
    assert slower == {f"{m} pingpong {s}" for m in MECHANISMS if m.endswith("spin") for s in ("64", "4K")}
    text = compare_output.render(comparison, "table")
    assert "measured differently (placement cross-core -> same-core)" in text


def test_a_change_within_session_noise_does_not_fail(tmp_path, capsys) -> None:
    base = document(grid())
    # The whole NEW run scatters by +-20% cell to cell (another session); one cell is 25% slower.
    new = scaled(base, [1.2, 0.8, 1.1, 0.9, 1.0, 1.25])
    comparison = compare.compare((Path("b"), base), (Path("n"), new))
    verdicts = {cell.verdict for cell in comparison.cells}
    assert "within session noise" in verdicts
    assert not comparison.regressions
    # ...but a threefold slowdown stands out of that noise.
    new["cells"][0]["runs"] = [{**r, "p50_ns": r["p50_ns"] * 3} for r in new["cells"][0]["runs"]]
    comparison = compare.compare((Path("b"), base), (Path("n"), new))
    assert [cell.name for cell in comparison.regressions] == ["pipe pingpong 64"]


def test_noise_z_0_turns_the_floor_off(tmp_path, capsys) -> None:
    base = document(grid())
    new = scaled(base, [1.2, 0.8, 1.1, 0.9, 1.0, 1.25])
    status, out, _ = run(capsys, *files(tmp_path, base, new), "--fail", "--noise-z", "0")
    assert status == 1
    assert "session noise floor off" in out


def test_a_regression_must_be_confirmed_by_the_second_run(tmp_path, capsys) -> None:
    base = document(grid())
    new = document(grid({("pipe", "pingpong", 64): 1.3}))
    write(document(grid({("fifo", "pingpong", 64): 1.3})), tmp_path / "new2.json")
    write(document(grid({("pipe", "pingpong", 64): 1.31})), tmp_path / "new3.json")
    base_file, new_file = files(tmp_path, base, new)
    status, out, _ = run(capsys, base_file, new_file, "--fail", "--confirm", str(tmp_path / "new2.json"))
    assert status == 0
    assert "not confirmed by the second run (ignored): pipe pingpong 64" in out
    status, out, _ = run(capsys, base_file, new_file, "--fail", "--confirm", str(tmp_path / "new3.json"))
    assert status == 1
    assert "REGRESSION pipe pingpong 64: p50 +30.0%" in out


def test_the_second_run_must_agree_with_the_first(tmp_path, capsys) -> None:
    base = document(grid())
    new = document(grid({("pipe", "pingpong", 64): 3.0}))
    write(document(grid({("pipe", "pingpong", 64): 1.3})), tmp_path / "new2.json")
    base_file, new_file = files(tmp_path, base, new)
    status, out, _ = run(capsys, base_file, new_file, "--fail", "--confirm", str(tmp_path / "new2.json"))
    assert status == 0
    assert "not confirmed by the second run (ignored): pipe pingpong 64" in out


def test_a_bad_base_is_not_confirmed(tmp_path, capsys) -> None:
    """Issue 9: a BASE measured too fast was "confirmed" by any second NEW run."""
    too_fast = document(grid({("pipe", "pingpong", 64): 0.7}))
    write(document(grid()), tmp_path / "base2.json")
    write(document(grid()), tmp_path / "new2.json")
    base_file, new_file = files(tmp_path, too_fast, document(grid()))
    confirm_new = ["--confirm", str(tmp_path / "new2.json")]
    status, out, _ = run(capsys, base_file, new_file, "--fail", *confirm_new)
    assert status == 1  # NEW and NEW2 agree: nothing tells the bad BASE from a regression
    status, out, _ = run(
        capsys, base_file, new_file, "--fail", *confirm_new, "--confirm-base", str(tmp_path / "base2.json")
    )
    assert status == 0
    assert "not confirmed by the second run (ignored): pipe pingpong 64" in out


def test_a_cell_that_failed_in_new_fails_the_gate(tmp_path, capsys) -> None:
    cells = grid()
    cells[0] = not_measured("pipe", "pingpong", 64, "failed", "PayloadError: message 7 corrupted")
    status, out, _ = run(capsys, *files(tmp_path, document(grid()), document(cells)), "--fail")
    assert status == 1
    assert "REGRESSION pipe pingpong 64: failed in NEW: PayloadError: message 7 corrupted" in out


def test_cells_on_one_side_skipped_cells_and_different_machines_are_said(tmp_path, capsys) -> None:
    base_cells = [*grid(), not_measured("sysv-mq", "pingpong", 1 << 20, "skipped", "above msgmax")]
    new_cells = [
        *grid()[1:],
        pingpong("sysv-mq", 64, [9000, 9100, 8900]),
        not_measured("sysv-mq", "pingpong", 1 << 20, "skipped", "above msgmax"),
    ]
    base = document(base_cells, machine="laptop", cpu_model="CPU A", profile="quick")
    new = document(new_cells, machine="server", cpu_model="CPU B", profile="default")
    status, out, _ = run(capsys, *files(tmp_path, base, new), "--fail", "--format", "markdown")
    assert status == 0
    assert "1 cell(s) only in BASE: pipe pingpong 64" in out
    assert "1 cell(s) only in NEW: sysv-mq pingpong 64" in out
    assert "| sysv-mq | pingpong | 1M | - | - | - | skipped in both |" in out
    assert "different machines" in out
    assert "| cpu_model | CPU A | **CPU B** |" in out
    assert "different profiles (quick vs default)" in out


def test_too_few_runs_can_never_be_significant_and_say_so(tmp_path, capsys) -> None:
    base = document([pingpong("pipe", 64, [10_000]), stream("pipe", 64, [1e9])])
    new = document([pingpong("pipe", 64, [20_000]), stream("pipe", 64, [0.5e9])])
    status, out, _ = run(capsys, *files(tmp_path, base, new), "--fail")
    assert status == 0
    assert "too few runs to tell" in out
    assert "1 vs 1 runs per cell: the smallest possible one-sided p-value is 0.5, which can never" in out
    assert "session noise floor assumed for pingpong and stream" in out


def test_a_folder_stands_for_its_newest_file(tmp_path, capsys) -> None:
    older = document(grid({("pipe", "pingpong", 64): 1.2}), created="2026-11-26T10:00:00Z")
    write(older, tmp_path / "b" / "1.json")
    write(document(grid(), created="2026-11-26T11:00:00Z"), tmp_path / "b" / "2.json")
    (tmp_path / "b" / "pytest-benchmark.json").write_text('{"benchmarks": []}')  # not ours: passed over
    write(document(grid()), tmp_path / "new.json")
    status, out, _ = run(capsys, str(tmp_path / "b"), str(tmp_path / "new.json"), "--format", "json")
    assert status == 0
    assert json.loads(out)["base"]["file"].endswith("2.json")


# ---- statistics ---------------------------------------------------------------------------------------


def test_mann_whitney_exact_and_honest_about_ties() -> None:
    assert stats.mwu_greater([2, 3, 4], [1, 1.5, 1.8]) == pytest.approx(0.05)
    assert stats.mwu_greater([1, 1.5, 1.8], [2, 3, 4]) == pytest.approx(1.0)
    assert stats.mwu_greater([5, 5, 5], [5, 5, 5]) == 1.0
    # All equal within each side: the exact distribution still says 1/20, never the asymptotic 0.023.
    assert stats.mwu_greater([12, 12, 12], [10, 10, 10]) == pytest.approx(0.05)
    assert stats.smallest_p(3, 3) == pytest.approx(0.05)
    assert stats.smallest_p(5, 5) == pytest.approx(1 / 252)
    assert stats.mwu_greater(list(range(20, 30)), list(range(10))) < 1e-3  # large samples: asymptotic


@pytest.mark.parametrize(("text", "value"), [("5%", 0.05), ("0.05", 0.05), ("12.5%", 0.125), ("0", 0.0)])
def test_threshold_accepts_percent_or_fraction(text: str, value: float) -> None:
    assert math.isclose(compare_run.parse_fraction(text, "--threshold"), value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("5", "ambiguous: write 5% or 0.05"), ("five", "not a number"), ("150%", "between 0% and 100%")],
)
def test_threshold_refuses_what_it_cannot_read(text: str, message: str, tmp_path, capsys) -> None:
    doc = document(grid())
    status, _, err = run(capsys, *files(tmp_path, doc, doc), "--threshold", text)
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


# ---- formats ------------------------------------------------------------------------------------------


def golden_comparison() -> compare.Comparison:
    skipped = not_measured("sysv-mq", "stream", 1 << 20, "skipped", "SysV queues carry at most 8192 bytes")
    cells = [
        pingpong("pipe", 64, [10_000, 10_100, 9_900]),
        pingpong("posix-shm/spin", 64, [1_000, 1_010, 990]),
        stream("pipe", 4096, [1.0e9, 1.01e9, 0.99e9]),
        skipped,
    ]
    new_cells = [
        pingpong("pipe", 64, [15_000, 15_150, 14_850]),
        pingpong("posix-shm/spin", 64, [1_000, 990, 1_020]),
        stream("pipe", 4096, [1.3e9, 1.31e9, 1.29e9]),
        skipped,
    ]
    base = document(cells, created="2026-11-26T14:00:00Z")
    new = document(new_cells, created="2026-11-26T15:00:00Z", label="abc123")
    return compare.compare((Path("base.json"), base), (Path("new.json"), new))


def test_markdown_matches_the_golden_text() -> None:
    text = compare_output.render(golden_comparison(), "markdown")
    golden = GOLDEN / "compare.md"
    if os.environ.get("IPCBENCH_UPDATE_GOLDEN") == "1":
        golden.write_text(text)
    assert text == golden.read_text()


def test_json_carries_the_verdicts_and_the_gate() -> None:
    data = json.loads(compare_output.render(golden_comparison(), "json"))
    assert data["gate"] == "fail"
    assert [r["name"] for r in data["regressions"]] == ["pipe pingpong 64"]
    pipe = data["cells"][0]["metrics"]["p50"]
    assert pipe["ratio"] == pytest.approx(1.5)
    assert pipe["verdict"] == "slower"
    assert pipe["ci95"][0] <= 1.5 <= pipe["ci95"][1] and pipe["ci_level"] == pytest.approx(0.9)


def test_table_and_output_file(tmp_path, capsys) -> None:
    base, new = document(grid()), document(grid({("pipe", "pingpong", 64): 1.2}))
    base_file, new_file = files(tmp_path, base, new)
    status, out, _ = run(
        capsys,
        base_file,
        new_file,
        "--fail",
        "--format",
        "markdown",
        "-o",
        str(tmp_path / "out" / "summary.md"),
    )
    assert status == 1
    assert out.startswith("gate: FAIL")  # the gate lines still reach the log
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.startswith("## ipcbench compare: FAIL, 1 regression(s)")
    assert "pipe pingpong 64" in compare_output.render(
        compare_run.run(Path(base_file), Path(new_file), compare.Settings()), "table"
    )


# ---- bad input ----------------------------------------------------------------------------------------


def test_bad_input_is_one_line_on_stderr_and_exit_2(tmp_path, capsys) -> None:
    good = write(document(grid()), tmp_path / "good.json")
    (tmp_path / "broken.json").write_text('{"schema_version": 1, "cells": [')
    newer = document(grid())
    newer["schema_version"] = 99
    write(newer, tmp_path / "newer.json")
    other = write(document([stream("posix-mq", 64, [1e8, 1e8, 1e8])]), tmp_path / "other.json")
    (tmp_path / "empty").mkdir()
    cases = [
        ([str(tmp_path / "missing.json"), str(good)], "no such file"),
        ([str(tmp_path / "broken.json"), str(good)], "not valid JSON"),
        ([str(good), str(tmp_path / "newer.json")], "schema_version 99 is newer"),
        ([str(good), str(other)], "no cell in common"),
        ([str(tmp_path / "empty"), str(good)], "no result files in this folder"),
        ([str(good), str(good), "--gate-metrics", "p42"], "unknown --gate-metrics p42"),
    ]
    for args, message in cases:
        status, _, err = run(capsys, *args, "--fail")
        assert status == 2, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert message in lines[0]
    # ...and through the real command line once.
    result = run_cli("compare", str(tmp_path / "missing.json"), str(good), "--fail")
    assert result.returncode == 2
    expected = f"ipcbench: error: {tmp_path / 'missing.json'}: no such file or folder"
    assert result.stderr.strip().splitlines() == [expected]
