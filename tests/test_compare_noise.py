"""compare's between-file noise term (``--noise-from``) on hand-made series with known answers: a cell that
moves between files as much as it moves now is held back and said; a quiet cell's regression still fails;
too few files, other machines and settings fall back and say so; bad input is one line and exit 2; the
small-sample factor keeps --noise-z's tail probability."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ipcbench import changes, compare, compare_noise
from ipcbench.cli import main
from tests.compare_docs import document, grid, scaled, write

NOISY = ("sysv-shm/sem", "pingpong", 64)  # a blocking round trip whose speed changes from file to file
SWINGS = [1.0, 1.5, 0.75, 1.3, 0.8, 1.45, 0.7, 1.2, 0.9, 1.6, 0.85, 1.35]
JITTER = [1.0, 1.02, 0.98, 1.01, 0.99]  # every other cell, a little, cell by cell


def series_file(index: int, noisy: float | None = None, extra: dict | None = None) -> dict:
    """File ``index`` of an A/A series: the noisy cell swings, the others jitter by a few percent."""
    swing = SWINGS[index % len(SWINGS)] if noisy is None else noisy
    doc = document(grid({NOISY: swing, **(extra or {})}), created=f"2026-11-27T10:{index:02d}:00Z")
    doc["run_id"] = f"run{index:09d}"
    return scaled(doc, JITTER[index % 5 :] + JITTER[: index % 5])


def make_series(folder: Path, count: int, start: int = 0) -> Path:
    for index in range(start, start + count):
        write(series_file(index), folder / f"2026112710{index:02d}00.json")
    return folder


def compared(tmp_path: Path, new_extra: dict | None = None) -> tuple[str, str]:
    """BASE at the noisy cell's low level, NEW at a high one (an A/A move of 1.5x), plus ``new_extra``."""
    base = write(series_file(20, noisy=0.9), tmp_path / "base.json")
    new = write(series_file(21, noisy=1.35, extra=new_extra), tmp_path / "new.json")
    return str(base), str(new)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["compare", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_a_cell_that_moves_as_much_between_earlier_files_is_held_back_and_named(tmp_path, capsys) -> None:
    base, new = compared(tmp_path)
    status, out, _ = run(capsys, base, new, "--fail")
    assert status == 1 and "REGRESSION sysv-shm/sem pingpong 64: p50 +5" in out  # the gate as it was
    series = make_series(tmp_path / "series", 12)
    status, out, _ = run(capsys, base, new, "--fail", "--noise-from", str(series))
    assert status == 0, out
    assert "held back by between-file noise: sysv-shm/sem pingpong 64: p50 +5" in out
    status, out, _ = run(capsys, base, new, "--fail", "--noise-from", str(series), "--format", "json")
    data = json.loads(out)
    assert data["gate"] == "pass" and data["between_files"]["used"] is True
    assert len(data["between_files"]["files"]) == 12 and data["between_files"]["min_files"] == 8
    cell = next(c for c in data["cells"] if c["name"] == "sysv-shm/sem pingpong 64")
    assert cell["verdict"] == compare.BETWEEN and cell["metrics"]["p50"]["held_by_between_files"] is True
    noise = data["between_files"]["cells"]["sysv-shm/sem pingpong 64 p50"]
    assert noise["files"] == 12 and noise["floor"] > 1.5 and noise["sd"] > 0.2
    quiet = data["between_files"]["cells"]["pipe pingpong 64 p50"]
    assert quiet["floor"] < 1.2
    assert any(note.startswith("between-file noise from 12 earlier file(s)") for note in data["notes"])


def test_a_quiet_cell_slowed_still_fails_beside_the_series(tmp_path, capsys) -> None:
    base, new = compared(tmp_path, {("pipe", "pingpong", 64): 1.5})
    series = make_series(tmp_path / "series", 12)
    status, out, _ = run(capsys, base, new, "--fail", "--noise-from", str(series))
    assert status == 1
    assert "REGRESSION pipe pingpong 64: p50 +" in out and "its own between-file floor" in out
    assert "REGRESSION sysv-shm/sem" not in out


def test_too_few_files_keep_the_session_floor_and_say_so(tmp_path, capsys) -> None:
    base, new = compared(tmp_path)
    series = make_series(tmp_path / "series", compare_noise.MIN_FILES - 1)
    status, out, _ = run(capsys, base, new, "--fail", "--noise-from", str(series), "--format", "json")
    data = json.loads(out)
    assert status == 1 and data["between_files"]["used"] is True
    few = [n for n in data["notes"] if "fewer than 8 files of the series keep the session floor alone" in n]
    assert few and few[0].startswith("32 gated cell metric(s)")
    assert data["between_files"]["cells"]["sysv-shm/sem pingpong 64 p50"]["floor"] is None


def test_files_measured_otherwise_are_left_out_and_said(tmp_path, capsys) -> None:
    base, new = compared(tmp_path)
    series = make_series(tmp_path / "series", 12)
    for index in range(3):
        other = series_file(30 + index)
        other["config"]["placement"] = "same-core"
        write(other, series / f"other{index}.json")
    status, out, _ = run(capsys, base, new, "--fail", "--noise-from", str(series), "--format", "json")
    data = json.loads(out)
    assert status == 0
    assert data["between_files"]["skipped"] == [
        "3 file(s) not measured like NEW (theirs -> NEW's: placement same-core -> cross-core)"
    ]
    # A series of another machine only: the term is not used, said, and the gate is as it was.
    elsewhere = tmp_path / "elsewhere"
    for index in range(10):
        doc = series_file(index)
        doc["machine"]["cpu_model"] = "Other CPU"
        write(doc, elsewhere / f"{index:02d}.json")
    status, out, _ = run(capsys, base, new, "--fail", "--noise-from", str(elsewhere))
    assert status == 1
    assert "between-file noise not used: no file of the series was measured like NEW" in out


def test_the_files_compared_are_not_their_own_noise(tmp_path, capsys) -> None:
    series = make_series(tmp_path / "series", 10)
    base = str(write(series_file(20, noisy=0.9), series / "base.json"))
    new = str(write(series_file(21, noisy=1.35), series / "new.json"))
    _, out, _ = run(capsys, base, new, "--noise-from", str(series), "--format", "json")
    data = json.loads(out)
    assert data["between_files"]["skipped"] == ["2 file(s) being compared"]
    assert len(data["between_files"]["files"]) == 10


def test_only_the_newest_noise_files_are_used(tmp_path, capsys) -> None:
    base, new = compared(tmp_path)
    series = make_series(tmp_path / "series", 12)
    _, out, _ = run(capsys, base, new, "--noise-from", str(series), "--noise-files", "9", "--format", "json")
    files = json.loads(out)["between_files"]["files"]
    assert [Path(f).name for f in files] == [f"2026112710{i:02d}00.json" for i in range(3, 12)]


def test_bad_noise_from_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    base, new = compared(tmp_path)
    (tmp_path / "empty").mkdir()
    cases = [
        (["--noise-from", str(tmp_path / "missing")], "--noise-from"),
        (["--noise-from", str(tmp_path / "empty")], "no result files in this folder"),
        (["--noise-from", str(tmp_path / "empty"), "--noise-files", "1"], "at least 2"),
    ]
    for extra, message in cases:
        status, _, err = run(capsys, base, new, "--fail", *extra)
        assert status == 2, err
        assert len(err.strip().splitlines()) == 1 and message in err


def test_a_level_shift_or_a_session_drift_in_the_series_does_not_widen_a_quiet_floor(tmp_path) -> None:
    series = []
    for index in range(12):
        doc = series_file(index)
        doc = scaled(doc, [1.3 if index % 2 else 1.0])  # the whole session drifts from file to file
        if index >= 6:  # an earlier code change: pipe pingpong 64 got 2x slower and stayed so
            for run_ in next(c for c in doc["cells"] if c["transport"] == "pipe")["runs"]:
                run_["p50_ns"] *= 2
        series.append((tmp_path / f"{index}.json", doc))
    between = compare_noise.of(series, compare.Settings())
    pipe = between.cells[(("pipe", None, "pingpong", 64, "python"), "p50")]
    assert pipe.files == 12 and pipe.floor is not None and pipe.floor < 1.25
    noisy = between.cells[(("sysv-shm", "sem", "pingpong", 64, "python"), "p50")]
    assert noisy.floor is not None and noisy.floor > 2


def test_the_vectorised_scales_are_noise_scale_row_by_row() -> None:
    rows = np.random.default_rng(20261127).normal(size=(compare_noise._DRAWS, 9))
    expected = np.array([changes.noise_scale(row) for row in rows[:200]])
    assert np.allclose(compare_noise.simulated_scales(9)[:200], expected)


def test_the_small_sample_factor_keeps_the_tail_probability() -> None:
    """Checked with other draws than the factor's own: a normal move passes z x factor estimated SDs
    about as often as z known SDs."""
    z = 3.0
    factors = [compare_noise.small_sample_factor(files, z) for files in (8, 12, 30)]
    assert factors[0] > factors[1] > factors[2] > 1
    assert compare_noise.small_sample_factor(8, 0.0) == 1.0
    rng = np.random.default_rng(7)
    levels = rng.normal(size=(400_000, 8))
    sds = 1.4826 * np.median(np.abs(np.diff(levels, axis=1)), axis=1) / math.sqrt(2)
    moves = rng.normal(size=400_000) * math.sqrt(2)
    passed = float(np.mean(moves > z * factors[0] * sds * math.sqrt(2)))
    target = 0.0013499
    assert target * 0.75 < passed < target * 1.33
    assert float(np.mean(moves > z * sds * math.sqrt(2))) > 10 * target  # why the factor is there


def test_the_ci_gate_reads_the_stored_series_in_both_comparisons() -> None:
    import yaml

    root = Path(__file__).resolve().parents[1]
    workflow = yaml.safe_load((root / ".github/workflows/bench.yml").read_text())
    script = "\n".join(step.get("run", "") for step in workflow["jobs"]["gate"]["steps"])
    assert "git fetch --quiet --depth 1 origin bench-results" in script
    assert 'noise=(--noise-from "noise/results/$MACHINE")' in script
    assert script.count('"${noise[@]}"') == 2  # the first comparison and the confirming one
