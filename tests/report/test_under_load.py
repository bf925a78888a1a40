"""The report's "under load" section from hand-made runs: one-way legs beside RTT/2 with the three readings,
latency against offered load with knees and rates not kept, latency against CPU for spin, hybrid and sem."""

from __future__ import annotations

import re

import pytest
from report_docs import document, full_run, run_of, small_run
from under_load_docs import under_load_cells

from ipcbench.report import latency_figures
from ipcbench.report.page import render
from ipcbench.report.runs import Run


@pytest.fixture(scope="module")
def run() -> Run:
    base = full_run(sizes=(64, 4096))
    return run_of(document(base["cells"] + under_load_cells()))


def test_one_way_legs_beside_rtt_half_differ_agree_or_stay_undecided(run: Run) -> None:
    rows = {row["mechanism"]: row for row in latency_figures.oneway_rows(run)}
    assert rows["pipe"]["reading"] == "differs: the one-way leg is longer than RTT/2"
    assert rows["pipe"]["ratio"] == pytest.approx(1.2, rel=0.02)
    assert rows["pipe"]["interval"][0] > 1 and 0.8 <= rows["pipe"]["level"] < 1
    assert rows["pipe"]["back_p50"] == pytest.approx(1.1 * rows["pipe"]["forward_p50"])
    assert rows["posix-shm/spin"]["reading"].startswith("alike")
    assert rows["posix-shm/sem"]["reading"].startswith("undecided")


def test_the_knee_is_where_p99_doubles_and_rates_not_kept_are_counted(run: Run) -> None:
    rows = {row["mechanism"]: row for row in latency_figures.load_rows(run)}
    pipe, spin = rows["pipe"], rows["posix-shm/spin"]
    assert pipe["knee"] == pytest.approx(0.9 * pipe["capacity"])  # 90 us >= 2 x 40 us
    assert pipe["kept_up_to"] == pytest.approx(1.2 * pipe["capacity"]) and pipe["not_kept"] == 0
    assert spin["knee"] is None and spin["not_kept"] == 1
    assert spin["kept_up_to"] == pytest.approx(spin["capacity"])
    assert pipe["oneway_p50"] == pytest.approx(6000) and pipe["low_p50"] == pytest.approx(8000)
    assert pipe["corrected_covers"] and spin["corrected_covers"]
    assert latency_figures.load_size(run) == 64


def test_hybrid_sits_beside_spin_and_sem_on_latency_against_cpu(run: Run) -> None:
    points = {
        point["wait"]: point for point in latency_figures.wait_points(run) if "posix" in point["mechanism"]
    }
    assert set(points) == {"spin", "hybrid", "sem"}
    assert points["hybrid"]["cpu"] < points["spin"]["cpu"]
    assert points["hybrid"]["p50"] == pytest.approx(2500)


def test_the_page_shows_the_section_with_its_figures(run: Run) -> None:
    html = render([run])
    section = html[html.index('id="under-load"') : html.index('id="choices"')]
    assert len(re.findall(r"<svg\b", section)) == 2  # latency against load, latency against CPU
    for text in ("differs: the one-way leg is longer than RTT/2", "undecided", "alike", "1 not kept"):
        assert text in section
    assert "Latency against offered load, open loop, 64 B messages" in section
    assert "not reached" in section  # posix-shm/spin's p99 never doubled
    assert "No oneway cells" not in section and "No openloop cells" not in section


def test_without_those_cells_the_section_says_how_to_get_them() -> None:
    html = render([run_of(small_run())])
    section = html[html.index('id="under-load"') : html.index('id="choices"')]
    assert "<svg" not in section
    assert "--workloads openloop" in section and "--workloads pingpong,oneway" in section
    assert "posix-shm/hybrid" in section
