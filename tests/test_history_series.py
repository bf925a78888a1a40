"""Change points on a series made by resampling a real run (``bench/history_series.py``): noise as it
really is, with a planted 1.3x slowdown of one cell from file 40 of 60."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from ipcbench import history, store
from ipcbench.cache import summarize
from tests.conftest import ROOT

REAL = ROOT / "tests" / "golden" / "series" / "quick-real.json"
# A cell whose three real runs agree (cv 4%): noisier cells are flagged unstable and leave the series.
PLANTED = ("tcp", None, "pingpong", 4096, "python")  # transport, variant, workload, size, impl


def _generator():  # bench/ is not a package: load the generator by its path
    spec = importlib.util.spec_from_file_location("history_series", ROOT / "bench" / "history_series.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["history_series"] = module
    spec.loader.exec_module(module)
    return module


generator = _generator()


def series_lines(seed: int, plant: bool) -> list[history.Line]:
    """The 60 files' summaries, made in memory (the files' round trip through disk and cache is tested
    elsewhere; this is about the detector)."""
    planted = generator.Plant(PLANTED, 1.3, 40) if plant else None
    documents = generator.series([store.load(REAL)], 60, seed, planted)
    return history.build([summarize(doc, Path(f"{doc['label']}.json")) for doc in documents])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_planted_slowdown_is_found_at_its_file(seed: int) -> None:
    lines = series_lines(seed, plant=True)
    line = next(line for line in lines if (*line.key, line.impl) == PLANTED)
    assert [p.label for p in line.points][40] == "n0040"
    assert any(abs(change.index - 40) <= 1 and change.worse(False) for change in line.changes), line.changes
    found = next(change for change in line.changes if abs(change.index - 40) <= 1)
    assert found.ci is not None and found.ci[0] < 1.3 * 1.05 and found.ci[1] > 1.3 / 1.05


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_without_the_plant_the_cell_keeps_its_level(seed: int) -> None:
    lines = series_lines(seed, plant=False)
    line = next(line for line in lines if (*line.key, line.impl) == PLANTED)
    assert line.changes == []
    assert len(line.points) == 60
