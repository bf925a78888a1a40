"""How the report draws: one matplotlib style, SVG output, and the axes and series helpers all figures use.

Figures are built on bare ``Figure`` objects, never through pyplot, so nothing is registered globally and
each figure is freed as soon as its SVG is written. Text stays text in the SVG (``svg.fonttype: none``), so
the page needs no font files and the browser's own sans-serif is used. Every figure has a title, axes
labelled with units, and a legend; a mechanism has the same colour and line style everywhere
(``style.colour``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogFormatter, LogLocator, NullLocator

from ipcbench.report import style
from ipcbench.report.runs import Run, size_text

_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"],
    "font.size": 10,
    "axes.titlesize": 11,
    # A fixed title height: matplotlib otherwise measures every axis of every titled panel once more (a
    # third of a panel figure's time) to lift titles over top tick labels, which no figure here has.
    "axes.titley": 1.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.dpi": 100,
}


@contextmanager
def new_figure(
    name: str,
    width: float,
    height: float,
    **subplots: Any,
) -> Iterator[tuple[Figure, Any]]:
    """A figure inside the report's style; ``svg.hashsalt`` keeps the SVG ids of figures apart. No layout
    engine (constrained layout measured every tick label twice): ``layout.fit_row`` sets the margins."""
    with _styled(name):
        figure = Figure(figsize=(width, height), layout=None)
        yield figure, figure.subplots(**subplots)


@contextmanager
def panel_figure(
    name: str, width: float, height: float, count: int, columns: int
) -> Iterator[tuple[Figure, list[Axes]]]:
    """A figure of ``count`` small panels in rows of ``columns``, placed as ``new_figure``'s grid would
    place them, but only in the cells used: a hidden axes costs as much to make as a panel. No layout
    engine: the caller sets the margins."""
    with _styled(name):
        figure = Figure(figsize=(width, height), layout=None)
        cells = figure.add_gridspec(-(-count // columns), columns)
        yield figure, [figure.add_subplot(cells[index // columns, index % columns]) for index in range(count)]


@contextmanager
def _styled(name: str) -> Iterator[None]:
    settings: dict[str, Any] = {**_RC, "svg.hashsalt": name}
    with matplotlib.rc_context(cast(Any, settings)):  # typed for literal keys only
        yield


def to_svg(figure: Figure) -> str:
    """The figure as an ``<svg>`` element to inline: no XML prologue, no fixed size (CSS scales it)."""
    buffer = io.StringIO()
    # No ``figure.clear()`` after: it resets every axes (new ticks, spines) only to throw them away, a
    # tenth of a figure's time; nothing global refers to a bare Figure, so it is freed once dropped.
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img"', text, count=1)
    return _PATH_DATA.sub(_compact, text)


# A path's outline, as matplotlib writes it: "M 88.1 156.356071 \nL 89.354783 156.356071 \n...".
_PATH_DATA = re.compile(r' d="([^"]*)"')
_DIGITS = re.compile(r"(\.\d\d)\d+")


def _compact(found: re.Match[str]) -> str:
    """A path's outline in 2 decimals of a point (1/7200 inch; matplotlib writes 6) and without the space
    around its commands: a line of a thousand vertices takes 40% less text, and looks the same."""
    data = found[1].replace(" \n", "").replace("\n", "")
    for command in "MLQC":
        data = data.replace(command + " ", command)
    return ' d="' + _DIGITS.sub(lambda digits: digits[1], data) + '"'


def plain(text: str) -> str:
    """Text from a result file, safe from matplotlib's mathtext (``$``) in titles and legends."""
    return text.replace("$", r"\$")


def wrapped(name: str, most: int = 28) -> str:
    """A mechanism's name as a tick label in lines of at most about ``most`` characters, broken after a
    separator where it has one: tuned variants and plug-ins can be long, and a row of panels labelled
    with them would leave the panels no room."""
    lines = [""]
    for piece in re.findall(r"[^-/,\[]+[-/,\[]?|[-/,\[]", name):
        if lines[-1] and len(lines[-1]) + len(piece) > most:
            lines.append("")
        lines[-1] += piece
    return "\n".join(lines)


def lines_of(names: Sequence[str]) -> int:
    """The most lines a name takes as a tick label (``wrapped``)."""
    return max((wrapped(name).count("\n") + 1 for name in names), default=1)


# ---- axes helpers ---------------------------------------------------------------------------------------


def size_axis(axes: Axes, sizes: Sequence[int], narrow: bool = False) -> None:
    axes.set_xscale("log", base=2)
    axes.xaxis.set_major_locator(FixedLocator(list(sizes)))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: size_text(round(value))))
    axes.set_xlabel("message size (bytes, log scale)")
    if len(sizes) > (4 if narrow else 6):  # neighbours on a log axis spanning 64 B to 16M collide
        axes.tick_params(axis="x", labelrotation=45)


class LogTicks(LogFormatter):
    """Log-axis tick labels in the report's units (``10 µs``, ``1 GB/s``), plain text: no mathtext.

    Matplotlib decides which ticks get a label (decades; the minor ticks too on a short axis); this class
    only says how a label reads.
    """

    def __init__(self, text: Callable[[float], str]) -> None:
        super().__init__(labelOnlyBase=False, minor_thresholds=(1.2, 0.5))
        self.text = text

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.text(x) if super().__call__(x, pos) else ""


def _si(value: float, unit: str = "") -> str:
    for prefix, factor in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= factor:
            return f"{value / factor:g} {prefix}{unit}".rstrip()
    return f"{value:g} {unit}".rstrip()


def _ns(value: float) -> str:
    for unit, factor in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if value >= factor:
            return f"{value / factor:g} {unit}"
    return f"{value:g} ns"


UNITS: dict[str, Callable[[float], str]] = {
    "ns": _ns,
    "B/s": lambda value: _si(value, "B/s"),
    "/s": lambda value: _si(value),
    "": lambda value: f"{value:g}",
}


class InView(LogLocator):
    """Matplotlib's log ticks without those it adds beyond the axis' ends: every tick is a costly object
    (three lines and two texts, made and updated on each draw) and those are never drawn."""

    def __call__(self) -> Sequence[float]:
        assert self.axis is not None
        low, high = sorted(self.axis.get_view_interval())
        close = 1 + 1e-9  # matplotlib draws a tick this close to an end
        return [tick for tick in super().__call__() if low / close <= tick <= high * close]


def in_view(axis: Axis, subs: tuple[float, ...] = (1.0,)) -> None:
    """A log axis' ticks (at ``subs`` of each decade, minor ones as matplotlib chooses) only where drawn."""
    axis.set_major_locator(InView(subs=subs))
    axis.set_minor_locator(InView(subs="auto"))


def log_y(axes: Axes, label: str, unit: str) -> None:
    """A log y axis labelled in ``unit``, spanning at least a factor of 4 (call after plotting)."""
    axes.set_yscale("log")
    in_view(axes.yaxis)
    low, high = axes.dataLim.intervaly
    if 0 < low <= high < 4 * low:  # else ticks crowd on a near-flat line: "10.005 us, 10.01 us, ..."
        middle = (low * high) ** 0.5
        axes.set_ylim(middle / 2, middle * 2)
    axes.yaxis.set_major_formatter(LogTicks(UNITS[unit]))
    if 0 < low and high > 20 * low:
        # Over several decades the minor ticks carry no label, and matplotlib's ticks are costly objects:
        # dropping them halves the time a figure takes to draw.
        axes.yaxis.set_minor_locator(NullLocator())
    else:
        axes.yaxis.set_minor_formatter(LogTicks(UNITS[unit]))
    axes.set_ylabel(label)


def mechanism_line(axes: Axes, label: str, xs: Sequence[float], ys: Sequence[float]) -> None:
    axes.plot(
        xs,
        ys,
        marker="o",
        markersize=4,
        color=style.colour(label),
        linestyle=style.linestyle(label),
        label=plain(label),
        linewidth=1.6,
    )


def legend_right(figure: Figure, axes: Axes) -> None:
    """The mechanisms' key at the figure's upper right (``layout.fit_row`` keeps the panels left of it),
    long names (tuned variants, plug-ins) in several lines, in more columns when the figure is not high
    enough for all."""
    handles, labels = axes.get_legend_handles_labels()
    labels = [wrapped(label) for label in labels]
    size = float(matplotlib.rcParams["legend.fontsize"])
    lines = max((label.count("\n") + 1 for label in labels), default=1)
    entry = (1.2 * lines + 0.5) * size / 72  # the highest entry and the space under it (inches)
    fits = max(1, int((figure.get_figheight() - 0.5) / entry) - 1)  # less the title, a suptitle, margins
    figure.legend(
        handles, labels, loc="upper right", title="mechanism", ncols=max(1, -(-len(labels) // fits))
    )


def series(
    run: Run, label: str, workload: str, value: Callable[[dict[str, Any]], float | None]
) -> tuple[list[int], list[float]]:
    points = [
        (size, value(cell)) for size in run.sizes(workload) if (cell := run.cell(label, workload, size))
    ]
    kept = [(x, y) for x, y in points if y is not None and y > 0]
    return [x for x, _ in kept], [y for _, y in kept]


def latency_of(key: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda cell: (cell.get("latency_ns") or {}).get(key)


def rate_of(key: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda cell: (cell.get("throughput") or {}).get(key)


def panel_grid(count: int, most_columns: int) -> tuple[int, int]:
    """(rows, columns) for ``count`` small panels, at most ``most_columns`` wide."""
    columns = max(1, min(most_columns, count))
    return -(-count // columns), columns


def same_limits(panels: list[Axes]) -> None:
    """Every panel's limits made to span all panels' data, as shared axes would, without sharing them:
    matplotlib keeps shared axes in step on every change of any, a quarter of a dozen panels' time."""
    corners = [point for axes in panels for point in axes.dataLim.get_points() if np.isfinite(point).all()]
    for axes in panels:
        axes.update_datalim(corners)
