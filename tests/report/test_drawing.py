"""How figures are drawn cheaply without changing what they show: grouped trend points, flat runs dropped
from outlines, compact SVG path data."""

from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.ticker import LogLocator

from ipcbench import stats
from ipcbench.report import plotting
from ipcbench.report.figures import _percentile_curve
from ipcbench.report.trends import MOST_POINTS, _corners, _grouped


@pytest.mark.parametrize("count", [MOST_POINTS, MOST_POINTS + 1, 1000, 1005])
def test_many_files_are_drawn_as_the_medians_of_consecutive_groups(count: int) -> None:
    rng = np.random.default_rng(count)
    dates = np.arange(count, dtype=float)
    values, lows, highs = (rng.lognormal(size=count) for _ in range(3))
    xs, medians, low_medians, high_medians = _grouped(dates, values, lows, highs)
    assert len(xs) <= MOST_POINTS
    width = -(-count // MOST_POINTS) if count > MOST_POINTS else 1
    for shown, series in ((medians, values), (low_medians, lows), (high_medians, highs)):
        expected = [np.median(series[start : start + width]) for start in range(0, count, width)]
        assert shown == pytest.approx(expected)
    middles = [dates[(start + min(start + width, count) - 1) // 2] for start in range(0, count, width)]
    assert list(xs) == middles


def test_only_vertices_on_a_level_run_between_their_neighbours_are_dropped() -> None:
    xs = np.arange(9, dtype=float)
    ys = np.array([5, 5, 5, 5, 7, 7, 3, 3, 3], dtype=float)
    kept_xs, kept_ys = _corners(xs, ys)
    assert list(kept_xs) == [0, 3, 4, 5, 6, 8]
    # The same outline: the line through the kept vertices passes through every dropped one.
    assert np.interp(xs, kept_xs, kept_ys) == pytest.approx(ys)
    assert _corners(xs[:2], ys[:2])[1].tolist() == [5, 5]


def test_svg_paths_are_written_in_two_decimals_without_spaces_around_commands() -> None:
    with plotting.new_figure("compact", 4, 3) as (figure, axes):
        axes.plot(np.linspace(0, 1, 50), np.sin(np.linspace(0, 6, 50)), marker="o")
        svg = plotting.to_svg(figure)
    outlines = re.findall(r' d="([^"]*)"', svg)
    assert outlines and all(" M" not in d and "L " not in d and "\n" not in d for d in outlines)
    numbers = [number for d in outlines for number in re.findall(r"-?\d+(?:\.\d+)?", d)]
    assert numbers and all(len(number.partition(".")[2]) <= 2 for number in numbers)
    assert 'role="img"' in svg and "<?xml" not in svg


def test_log_axes_make_ticks_only_between_their_ends() -> None:
    with plotting.new_figure("in-view", 4, 3) as (figure, axes):
        axes.plot([1, 2], [150.0, 2.5e6])
        plotting.log_y(axes, "round trip", "ns")
        low, high = axes.get_ylim()
        ticks = list(axes.yaxis.get_majorticklocs())
        everywhere = list(LogLocator().tick_values(low, high))  # matplotlib's own: beyond both ends too
        assert ticks == [tick for tick in everywhere if low <= tick <= high] == [1e2, 1e3, 1e4, 1e5, 1e6]
        assert len(everywhere) > len(ticks)
        assert all(low <= tick <= high for tick in axes.yaxis.get_minorticklocs())
        assert "1 ms" in plotting.to_svg(figure)


@pytest.mark.parametrize("count", [1, 7, 1000, 200_000])
def test_distribution_curves_read_the_histogram_as_hdrh_does(count: int) -> None:
    rng = np.random.default_rng(count)
    samples = (rng.pareto(1.5, count) * 20_000 + 5_000).astype(np.int64)  # a long tail, like round trips
    encoded = stats.encode_histogram(samples)
    percentiles, values = _percentile_curve(encoded)
    expected = stats.decode_histogram(encoded).get_percentile_to_value_dict(percentiles)
    assert values == [float(expected[p]) for p in percentiles]
    assert percentiles == [p for p in percentiles if p <= 100 * (1 - 1 / count)]


@pytest.mark.parametrize(("count", "columns"), [(1, 3), (13, 5), (26, 3), (13, 4)])
def test_panel_figures_make_only_the_cells_used_where_a_full_grid_puts_them(count: int, columns: int) -> None:
    rows = -(-count // columns)
    with plotting.new_figure("grid", 11, 8, nrows=rows, ncols=columns, squeeze=False) as (full, grid):
        full.subplots_adjust(left=0.1, right=0.95, hspace=0.5, wspace=0.3)
        expected = [bound for axes in grid.flat[:count] for bound in axes.get_position().bounds]
    with plotting.panel_figure("grid", 11, 8, count, columns) as (figure, panels):
        figure.subplots_adjust(left=0.1, right=0.95, hspace=0.5, wspace=0.3)
        assert len(figure.axes) == len(panels) == count
        assert [bound for axes in panels for bound in axes.get_position().bounds] == pytest.approx(expected)
