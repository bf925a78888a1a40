"""The Trends section: each cell's headline figure over time, per machine with a series of files.

One figure per machine and workload: a panel per mechanism, a line per message size (x: the date of each
file), the band of each file's 95% interval across its runs behind it, and the change points that
``ipcbench history`` finds marked where the new level starts (a red triangle for a slowdown, a green one
for a speed-up). Over more than ``MOST_POINTS`` files, consecutive files are drawn together as the median
of their figures and intervals, so that a year of nightly runs stays a readable, small SVG; the change
markers keep their exact dates. The changes are listed below the figures with their size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedFormatter, FixedLocator

from ipcbench.history import Line, format_value
from ipcbench.report import style
from ipcbench.report.plotting import log_y, panel_figure, panel_grid, plain, to_svg
from ipcbench.report.runs import size_text
from ipcbench.report.ticks import freeze

MIN_FILES = 3  # a machine needs this many files for a trend
MOST_POINTS = 100  # drawn points per line (a panel is ~3 inches wide); more files are drawn in groups
_WORKLOADS = {
    "pingpong": ("round-trip time, p50", "ns", "Round trip (p50) over time"),
    "stream": ("stream throughput (bytes/s)", "B/s", "Stream throughput over time"),
}


@dataclass(frozen=True)
class ChangeRow:
    """One change point, as the table under the figures lists it."""

    machine: str
    mechanism: str
    workload: str
    size: str
    when: str  # created time and label of the file where the new level starts
    file: str
    slower: bool
    text: str  # "slower p50 +30.0% [+24.1%, +36.2%] p=2e-09"
    level: str  # "12.1 us -> 15.8 us": the figure just before and at the change


@dataclass(frozen=True)
class MachineTrend:
    machine: str
    files: int
    figures: list[tuple[str, str]]  # (workload title, svg)
    changes: list[ChangeRow]


def _machines(lines: list[Line]) -> dict[str, list[Line]]:
    """The lines of each machine whose files make a series (at least ``MIN_FILES``)."""
    found = {}
    for machine in sorted({line.machine for line in lines}):
        own = [line for line in lines if line.machine == machine]
        if len({point.file for line in own for point in line.points}) >= MIN_FILES:
            found[machine] = own
    return found


def figure_jobs(lines: list[Line]) -> dict[str, Callable[[], str | None]]:
    """The figures of the section, by name, not drawn yet (``drawing.Drawing`` draws them)."""
    return {
        _name(machine, workload): partial(
            _figure, machine, [line for line in own if line.key[2] == workload], workload
        )
        for machine, own in _machines(lines).items()
        for workload in _WORKLOADS
    }


def trends(lines: list[Line], drawn: dict[str, str | None] | None = None) -> list[MachineTrend]:
    """A trend per machine whose files make a series, with the figures ``drawn`` from ``figure_jobs``
    (drawn here when not given)."""
    drawn = drawn if drawn is not None else {name: job() for name, job in figure_jobs(lines).items()}
    result = []
    for machine, own in _machines(lines).items():
        files = len({point.file for line in own for point in line.points})
        figures = [
            (title, svg)
            for workload, (_, _, title) in _WORKLOADS.items()
            if (svg := drawn[_name(machine, workload)])
        ]
        result.append(MachineTrend(machine, files, figures, [row for line in own for row in _rows(line)]))
    return result


def _name(machine: str, workload: str) -> str:
    return f"trend-{workload}-{machine}"


def _rows(line: Line) -> list[ChangeRow]:
    rows = []
    for change in line.changes:
        point = line.points[change.index]
        before = line.points[change.index - 1] if change.index else point
        rows.append(
            ChangeRow(
                line.machine,
                line.mechanism,
                line.key[2],
                size_text(line.key[3]),
                f"{point.created} {point.label or ''}".strip(),
                str(point.file),
                change.worse(line.bigger_is_better),
                point.step,
                f"{format_value(line.key[2], before.value)} → {format_value(line.key[2], point.value)}",
            )
        )
    return rows


def _figure(machine: str, lines: list[Line], workload: str) -> str | None:
    mechanisms = style.ordered({line.mechanism for line in lines})
    if not mechanisms:
        return None
    measure, unit, title = _WORKLOADS[workload]
    sizes = sorted({line.key[3] for line in lines})
    colours = dict(zip(sizes, _size_colours(len(sizes)), strict=True))
    rows, columns = panel_grid(len(mechanisms), 3)
    height = 2.5 * rows + 1.2
    dates = _date_numbers(lines)
    # Not shared axes: every panel gets the same limits and ticks, set once. Shared, the panels' limits are
    # kept in step on every change, which cost a third of the figure with two dozen panels.
    span = _margins(min(dates.values()), max(dates.values()))
    with panel_figure(_name(machine, workload), 11.0, height, len(mechanisms), columns) as (figure, panels):
        figure.subplots_adjust(
            left=0.1, right=0.99, top=1 - 0.8 / height, bottom=0.9 / height, hspace=0.55, wspace=0.3
        )
        ticks = _date_ticks(panels[0], span)
        for index, (axes, mechanism) in enumerate(zip(panels, mechanisms, strict=True)):
            _panel(axes, [line for line in lines if line.mechanism == mechanism], colours, dates)
            axes.set_xlim(span)
            ticks.apply(axes)
            log_y(axes, measure if index % columns == 0 else "", unit)
            axes.set_title(plain(mechanism), color=style.colour(mechanism), fontweight="bold")
            freeze(axes)
        handles = [Line2D([], [], color=colours[size], linewidth=2) for size in sizes]
        handles += [_marker("^", "#c62828"), _marker("v", "#2e7d32")]
        texts = [size_text(size) for size in sizes] + ["slower from here", "faster from here"]
        figure.legend(handles, texts, loc="lower center", ncols=len(texts), fontsize=8.5)
        # Placed in the top margin: the default height of a tall figure's title ran into the first panels'.
        figure.suptitle(
            f"{title} on {plain(machine)}: one line per message size, band: 95% interval", y=1 - 0.2 / height
        )
        return to_svg(figure)


def _margins(low: float, high: float) -> tuple[float, float]:
    """The time axis: every file's date, with matplotlib's usual 5% margin (a day each way for one date)."""
    pad = 0.05 * (high - low) if high > low else 1.0
    return low - pad, high + pad


@dataclass(frozen=True)
class _Ticks:
    """Date ticks chosen once for all panels (matplotlib's date locator is costly, run per panel twice)."""

    where: list[float]
    texts: list[str]
    offset: str

    def apply(self, axes: Axes) -> None:
        fixed = FixedFormatter(self.texts)
        fixed.set_offset_string(self.offset)
        axes.xaxis.set_major_locator(FixedLocator(self.where))
        axes.xaxis.set_major_formatter(fixed)


def _date_ticks(axes: Axes, span: tuple[float, float]) -> _Ticks:
    """Where the dates of ``span`` are labelled and how they read, as matplotlib's concise dates do."""
    axes.set_xlim(span)
    # maxticks alone leaves some spans (3 days, 1,000 days) without an interval: matplotlib warns
    locator = AutoDateLocator(minticks=2, maxticks=6)  # type: ignore[no-untyped-call]
    concise = ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    ticks = [tick for tick in axes.xaxis.get_majorticklocs() if span[0] <= tick <= span[1]]
    texts = concise.format_ticks(ticks)  # type: ignore[no-untyped-call]
    return _Ticks(ticks, texts, concise.get_offset())  # type: ignore[no-untyped-call]


def _marker(shape: str, colour: str) -> Line2D:
    return Line2D([], [], linestyle="none", marker=shape, color=colour, markersize=7)


def _date_numbers(lines: list[Line]) -> dict[str, float]:
    """Each file's created time as a matplotlib date, converted once (all lines share the files)."""
    created = sorted({point.created for line in lines for point in line.points})
    numbers = date2num([_date(text) for text in created])  # type: ignore[no-untyped-call]
    return dict(zip(created, (float(number) for number in numbers), strict=True))


def _panel(axes: Axes, lines: list[Line], colours: dict[int, str], dates: dict[str, float]) -> None:
    """One mechanism: a line per size, its band behind it, its change markers on it; one artist each for
    all the lines, all the bands and each kind of marker (a figure has two dozen panels)."""
    shown = [_line_data(line, dates) for line in lines]
    line_colours = [colours[line.key[3]] for line in lines]
    axes.add_collection(
        PolyCollection(
            [_band_polygon(points) for points, _ in shown], facecolors=line_colours, alpha=0.18, linewidths=0
        )
    )
    axes.add_collection(
        LineCollection(
            [np.column_stack(_corners(*points[:2])) for points, _ in shown],
            colors=line_colours,
            linewidths=1.2,
            capstyle="projecting",  # as a plotted line's ends
        )
    )
    for slower, shape, colour in ((True, "^", "#c62828"), (False, "v", "#2e7d32")):
        marks = [(x, y) for _, changes in shown for x, y, worse in changes if worse == slower]
        if marks:
            axes.plot(
                *zip(*marks, strict=True),
                linestyle="none",
                marker=shape,
                markersize=8,
                color=colour,
                markeredgecolor="white",
                zorder=5,
            )
    axes.autoscale_view()


def _line_data(
    line: Line, dates: dict[str, float]
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], list[tuple[float, float, bool]]]:
    """The points to draw (grouped when there are many), and each change's (date, value, slower)."""
    table = np.array(
        [
            (dates[point.created], point.value, *(point.interval or (point.value, point.value)))
            for point in line.points
        ]
    )
    xs, values, lows, highs = table.T
    lows = np.where(lows > 0, lows, values)  # a Student interval of a mean can dip below 0
    changes = [
        (float(xs[change.index]), float(values[change.index]), change.worse(line.bigger_is_better))
        for change in line.changes
    ]
    return _grouped(xs, values, lows, highs), changes


def _band_polygon(shown: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """The band between lows and highs as one closed outline: along the lows, back along the highs."""
    xs, _, lows, highs = shown
    low_xs, lows = _corners(xs, lows)
    high_xs, highs = _corners(xs, highs)
    return np.column_stack([np.concatenate([low_xs, high_xs[::-1]]), np.concatenate([lows, highs[::-1]])])


def _corners(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vertices where a line turns: a point level with both neighbours lies on the segment between
    them. Medians of histogram figures repeat exactly, so half the vertices go and the line looks the same."""
    keep = np.ones(len(ys), dtype=bool)
    keep[1:-1] = (ys[1:-1] != ys[:-2]) | (ys[1:-1] != ys[2:])
    return xs[keep], ys[keep]


def _grouped(
    dates: np.ndarray, values: np.ndarray, lows: np.ndarray, highs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """At most ``MOST_POINTS`` points: medians of consecutive files when there are more, each group
    drawn at its middle file's date (the last group may be shorter)."""
    count = len(values)
    if count <= MOST_POINTS:
        return dates, values, lows, highs
    width = -(-count // MOST_POINTS)  # files per group
    whole = count - count % width
    figures = np.stack([values, lows, highs])
    medians = np.median(figures[:, :whole].reshape(3, -1, width), axis=2)
    if whole < count:
        medians = np.column_stack([medians, np.median(figures[:, whole:], axis=1)])
    starts = np.arange(0, count, width)
    middle = dates[(starts + np.minimum(starts + width, count) - 1) // 2]
    return middle, medians[0], medians[1], medians[2]


def _date(created: str) -> datetime:
    return datetime.fromisoformat(created.replace("Z", "+00:00"))


def _size_colours(count: int) -> list[str]:
    from matplotlib import colormaps

    ramp = colormaps["plasma"]
    return [style.matplotlib_hex(ramp(0.85 * i / max(count - 1, 1))) for i in range(count)]
