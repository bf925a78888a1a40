"""ipcbench.load: result files as a DataFrame, one row per cell, run and machine metadata as columns."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import ipcbench
from ipcbench import frames
from ipcbench.errors import ResultFileError
from tests.compare_docs import document, not_measured, pingpong, stream, write


def sample(folder: Path) -> Path:
    cells = [
        pingpong("posix-shm/spin", 64, [1_000, 1_010, 990]),
        stream("pipe", 4096, [1e9, 1.1e9, 0.9e9]),
        not_measured("sysv-mq", "pingpong", 1 << 20, "skipped", "above msgmax"),
    ]
    return write(document(cells, label="nightly"), folder / "m1" / "run.json")


def test_one_row_per_cell_with_documented_columns(tmp_path: Path) -> None:
    frame = ipcbench.load(sample(tmp_path))
    assert list(frame.columns) == list(frames.COLUMNS)
    assert len(frame) == 3
    for column in frames.COLUMNS:  # every column is named in the docstring
        assert f"``{column}``" in (frames.load.__doc__ or ""), column
    spin = frame.iloc[0]
    assert (spin.mechanism, spin.transport, spin.variant, spin.workload, spin["size"]) == (
        "posix-shm/spin",
        "posix-shm",
        "spin",
        "pingpong",
        64,
    )
    assert spin.p50_ns == 1_000 and spin.p99_ns == 1_500
    assert spin.run_p50_ns == [1_000, 1_010, 990]
    assert (spin.machine, spin.cpu_model, spin.profile, spin.label) == ("m1", "Test CPU", "quick", "nightly")
    assert spin.created == pd.Timestamp("2026-11-26T14:00:00Z")
    pipe = frame.iloc[1]
    assert math.isnan(pipe.p50_ns)
    assert pipe.bytes_per_s == pytest.approx(1e9)
    assert not pipe.unstable
    skipped = frame.iloc[2]
    assert skipped.status == "skipped" and skipped.reason == "above msgmax" and skipped.runs == 0


def test_a_folder_loads_every_result_below_it_and_passes_over_foreign_json(tmp_path: Path) -> None:
    sample(tmp_path)
    write(
        document([stream("unix", 64, [5e8, 5e8, 5e8])], machine="m2", created="2026-11-25T09:00:00Z"),
        tmp_path / "m2" / "old.json",
    )
    (tmp_path / "pytest-benchmark.json").write_text('{"benchmarks": []}')
    frame = ipcbench.load(tmp_path)
    assert list(frame.machine) == ["m2", "m1", "m1", "m1"]  # oldest file first
    assert frame.file.nunique() == 2


def test_a_broken_result_file_in_a_folder_is_an_error(tmp_path: Path) -> None:
    sample(tmp_path)
    (tmp_path / "m1" / "broken.json").write_text('{"schema_version": 1, "cells": 3}')
    with pytest.raises(ResultFileError, match=r"broken\.json"):
        ipcbench.load(tmp_path)
    with pytest.raises(ResultFileError, match="no such file"):
        ipcbench.load(tmp_path / "missing.json")
