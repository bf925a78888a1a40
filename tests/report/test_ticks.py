"""Panel ticks drawn as plain artists (``ticks.freeze``) look as matplotlib's own: the same labels at the
same places, the same tick marks and grid lines, the axis labels and the date offset where they were."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import numpy as np
import pytest
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from ipcbench.report import plotting
from ipcbench.report.ticks import freeze, tick_positions

_SIZES = [64, 512, 4096, 65536, 1 << 20, 16 << 20]


def _panels(frozen: bool) -> str:
    """Panels as the report draws them: log y over decades or narrow (labelled minor ticks), size axes
    with turned labels, hidden labels, a time axis with its offset, axis labels."""
    with plotting.new_figure("ticks", 9.0, 6.0, nrows=2, ncols=2, squeeze=False) as (figure, grid):
        figure.subplots_adjust(left=0.12, right=0.98, top=0.95, bottom=0.18, hspace=0.6, wspace=0.3)
        wide, narrow, hidden, dates = grid.flat
        wide.plot(_SIZES, [2e3, 3e3, 9e3, 5e4, 1e6, 3e7], marker="o")
        narrow.plot(_SIZES[:3], [41e3, 60e3, 112e3], marker="o")
        hidden.plot(_SIZES, [1e9, 2e9, 5e9, 8e9, 9e9, 9e9])
        for axes, unit in ((wide, "ns"), (narrow, "ns"), (hidden, "B/s")):
            plotting.size_axis(axes, _SIZES, narrow=True)
            plotting.log_y(axes, "round trip (log)" if axes is wide else "", unit)
        hidden.yaxis.set_tick_params(labelleft=False)
        hidden.xaxis.set_tick_params(labelbottom=False)
        dates.plot([20400.0, 20420.0], [5e3, 8e5])
        plotting.log_y(dates, "stream", "ns")
        concise = FixedFormatter(["08", "15", "22"])
        concise.set_offset_string("2025-Nov")
        dates.xaxis.set_major_locator(FixedLocator([20400.0, 20407.0, 20414.0, 20430.0]))  # one out of view
        dates.xaxis.set_major_formatter(concise)
        if frozen:
            for axes in grid.flat:
                freeze(axes)
        return plotting.to_svg(figure)


def _texts(svg: str) -> Counter[tuple[str, str]]:
    """Each text with its attributes (place, turn, font, anchor), numbers to 0.01 pt."""
    found = re.findall(r"<text ([^>]*)>([^<]*)<", svg)
    return Counter(
        (text, _NUMBER.sub(lambda n: f"{float(n[0]):.2f}", attributes)) for attributes, text in found
    )


_NUMBER = re.compile(r"-?\d+\.\d+|-?\d+")


def _marks(svg: str) -> Counter[tuple[float, float]]:
    found = re.findall(r'<use xlink:href="#[^"]*" x="([-\d.]+)" y="([-\d.]+)"', svg)
    return Counter((round(float(x), 2), round(float(y), 2)) for x, y in found)


def _grid(svg: str) -> Counter[tuple[float, ...]]:
    segments: Counter[tuple[float, ...]] = Counter()
    for outline in re.findall(r' d="([^"]*)"[^>]*stroke: #b0b0b0', svg):
        points = re.findall(r"([ML])([-\d.]+) ([-\d.]+)", outline)
        for (move, *start), (line, *end) in itertools.pairwise(points):
            if move == "M" and line == "L":
                segments[tuple(round(float(v), 1) for v in (*start, *end))] += 1
    return segments


def test_frozen_ticks_draw_the_same_labels_marks_and_grid_lines() -> None:
    before, after = _panels(frozen=False), _panels(frozen=True)
    assert _texts(after) == _texts(before)
    assert _marks(after) == _marks(before)
    assert _grid(after) == _grid(before)
    # What the figure is checked on: labels of both kinds, turned ones, axis labels and the offset.
    texts = {text for text, *_ in _texts(before)}
    assert {"60 µs", "4K", "round trip (log)", "stream", "2025-Nov", "15"} <= texts
    assert any("rotate(-45" in attributes for _, attributes in _texts(before))
    assert len(_grid(before)) > 20 and len(_marks(before)) > 30


@pytest.mark.parametrize(("low", "high"), [(150.0, 2.5e6), (41e3, 112e3), (3.3e7, 9.9e9), (1.0, 1.5)])
def test_tick_positions_are_those_matplotlib_draws(low: float, high: float) -> None:
    with plotting.new_figure("positions", 4, 3) as (figure, axes):
        axes.plot([1, 2], [low, high])
        plotting.log_y(axes, "", "ns")
        axes.xaxis.set_major_locator(FixedLocator(np.linspace(0.5, 2.5, 9)))
        figure.canvas.draw()  # matplotlib's own ticks, as drawn
        for axis in (axes.xaxis, axes.yaxis):
            drawn = [(tick.get_loc(), tick.label1.get_text()) for tick in axis._update_ticks()]
            mine = tick_positions(axis)
            if not isinstance(axis.get_minor_locator(), NullLocator):
                mine += tick_positions(axis, major=False)
            assert [loc for loc, _ in mine] == pytest.approx([loc for loc, _ in drawn])
            assert [text for _, text in mine] == [text for _, text in drawn]
