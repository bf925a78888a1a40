"""A fixed layout for the report's one-row figures, computed from the few texts that decide it.

Matplotlib's constrained layout measures every axes' tight bounding box twice before drawing: each time it
makes and places every tick, then measures every tick label, legend entry and title (half the time of a
one-row figure). What decides the margins is much less: the widest tick label of each axis (its labels are
the locator's ticks in view, as the formatter writes them), the axis labels, the titles, the legend and a
colour bar. ``fit_row`` measures those texts as the SVG backend will (at its 72 dpi, without drawing, and
without making a tick per label), sets every axes' box in inches, and leaves the figure without a layout
engine: the SVG is drawn once.

What constrained layout kept, this keeps: panels of equal width and height, ``PAD`` between neighbouring
texts and at the figure's edges, the suptitle at the top, a legend at the figure's upper right or lower
centre where it was placed, a colour bar right of the panels at 0.8 of their height.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis, Tick, XAxis
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.text import Text

from ipcbench.report.ticks import freeze, tick_positions

PAD = 3 / 72  # inches between neighbouring texts and at the figure's edges (constrained layout's own)
_LEAST = 0.3  # inches: a panel never narrower nor lower (its texts then overlap: the tests would say)
_SVG_DPI = 72  # the SVG backend draws at 72 dpi: a point is a pixel
_BAR_SHRINK, _BAR_ASPECT, _BAR_GAP = 0.8, 20, 0.05  # a colour bar as matplotlib makes one: of the panels'
# height, its length over its width, and its gap to the panels as a fraction of their span


# A row of panels in three bands, each text in one: the titles above the axes (TOP), the axes' height
# with the y tick labels and labels (MIDDLE), the x tick labels and labels below (BOTTOM). Panels side by
# side need room between them for the widest reach within each band, not for the widest of all: a long
# axis label under one panel passes under its neighbour's y labels.
TOP, MIDDLE, BOTTOM = range(3)


@dataclass
class _Reach:
    """How far an axes' texts reach beyond its box, in inches: fixed amounts per side, and the texts
    centred on a place along an axis (ticks, axis labels, title) that pass its ends when it is short."""

    left: float = 0.0  # y tick labels and label, in the middle band
    right: float = 0.0
    bottom: float = 0.0
    top: float = 0.0
    along_x: list[tuple[int, float, float]] = field(default_factory=list)  # (band, place 0..1, half width)
    along_y: list[tuple[float, float]] = field(default_factory=list)  # (place 0..1, half height)

    def beyond(self, width: float, height: float) -> tuple[list[float], list[float], float, float]:
        """For a box of this size: how far its texts reach left and right in each band, below and above."""
        left, right = [0.0, self.left, 0.0], [0.0, self.right, 0.0]
        for band, place, half in self.along_x:
            left[band] = max(left[band], half - place * width)
            right[band] = max(right[band], half - (1 - place) * width)
        return (
            left,
            right,
            max([self.bottom, *(half - place * height for place, half in self.along_y)]),
            max([self.top, *(half - (1 - place) * height for place, half in self.along_y)]),
        )


class _Ruler:
    """Text sizes in inches as the SVG backend measures them, on a figure not yet drawn."""

    def __init__(self, figure: Figure) -> None:
        width, height = figure.get_size_inches() * _SVG_DPI
        self.renderer = RendererSVG(width, height, io.StringIO())  # type: ignore[no-untyped-call]

    def size(self, text: Text, string: str | None = None) -> tuple[float, float]:
        """(width, height) of ``text``'s box, rotated as it is, showing ``string`` if given."""
        if string is not None:
            text.set_text(string)
        if not text.get_visible() or not text.get_text():
            return 0.0, 0.0
        box = text.get_window_extent(self.renderer)
        return box.width / _SVG_DPI, box.height / _SVG_DPI


@contextmanager
def _at_svg_dpi(figure: Figure) -> Iterator[None]:
    dpi = figure.dpi
    figure.dpi = _SVG_DPI
    try:
        yield
    finally:
        figure.dpi = dpi


def fit_row(figure: Figure, panels: Sequence[Axes], bar: Axes | None = None) -> None:
    """Place one row of equal ``panels`` (and a colour bar's axes ``bar``) so that no text of theirs, of
    the suptitle or of the figure's legend (upper right, or lower centre) is clipped or overlaps another;
    then draw the panels' ticks as plain artists (``ticks.freeze``). Call it last, once everything is
    drawn on the axes: their limits and texts are final then."""
    with _at_svg_dpi(figure):
        ruler = _Ruler(figure)
        reaches = [_reach(axes, ruler) for axes in panels]
        bar_reach = _reach(bar, ruler) if bar is not None else None
        frame = _frame(figure, ruler)
    width, height = figure.get_size_inches()
    boxes = _solve(reaches, bar_reach, frame, width, height)
    for axes, (x, y, w, h) in zip([*panels, bar], boxes, strict=False):
        if axes is not None:
            axes.set_position((x / width, y / height, w / width, h / height))
    for axes in panels:  # their ticks are final: drawn as plain artists, not matplotlib's tick objects
        freeze(axes)


@dataclass
class _Frame:
    """What the figure's own texts take, in inches: above the panels, right of them, below them."""

    top: float
    right: float
    bottom: float


def _frame(figure: Figure, ruler: _Ruler) -> _Frame:
    width, height = figure.get_size_inches()
    top = right = bottom = PAD
    widest = 0.0  # the widest text at the top, centred on the figure
    below = []
    # The figure's own texts (suptitle, supxlabel): at the top, as constrained layout puts a suptitle
    # (matplotlib's own place is lower, at 0.98 of the height), or at the bottom above a legend there.
    for text in figure.texts:
        text_w, text_h = ruler.size(text)
        if text_h and text.get_position()[1] > 0.5:
            text.set(y=1 - top / height, verticalalignment="top")
            top += text_h + PAD
            widest = max(widest, text_w)
        elif text_h:
            below.append((text, text_h))
    for legend in figure.legends:
        box = legend.get_window_extent(ruler.renderer)
        edge = legend.borderaxespad * legend.prop.get_size_in_points() / 72  # from the figure's edge
        if box.x0 / _SVG_DPI > width / 2:  # at the right: the panels end left of it
            right = max(right, box.width / _SVG_DPI + edge + PAD)
            if box.x0 / _SVG_DPI < (width + widest) / 2:  # under the title it would run into
                legend.set_bbox_to_anchor((0, 0, 1, 1 - (top - PAD) / height), transform=figure.transFigure)
        else:  # below the panels
            bottom = max(bottom, box.height / _SVG_DPI + edge + PAD)
    for text, text_h in below:
        text.set(y=bottom / height, verticalalignment="bottom")
        bottom += text_h + PAD
    return _Frame(top, right, bottom)


def _solve(
    reaches: list[_Reach], bar: _Reach | None, frame: _Frame, width: float, height: float
) -> list[tuple[float, float, float, float]]:
    """Boxes (x, y, w, h in inches) of the panels, then of the bar: panels as wide and high as the figure
    allows once every text fits; again until they stop shrinking, since a text centred on a shorter axis
    reaches further past its ends."""
    count = len(reaches)
    panel_w, panel_h = width / count, height
    previous = (0.0, 0.0)
    for _ in range(20):  # converges in a few; texts too wide for the figure would shrink panels to nothing
        if abs(panel_w - previous[0]) + abs(panel_h - previous[1]) < 1e-3:
            break
        previous = (panel_w, panel_h)
        sides = [reach.beyond(panel_w, panel_h) for reach in reaches]
        beside = _beside(bar, panel_h)
        bottom = frame.bottom + max(beside[1], *(side[2] for side in sides))
        top = frame.top + max(beside[2], *(side[3] for side in sides))
        gaps = [
            max(right + left for right, left in zip(sides[i][1], sides[i + 1][0], strict=True)) + 2 * PAD
            for i in range(count - 1)
        ]
        left = PAD + max(sides[0][0])
        span = width - left - frame.right - max(sides[-1][1]) - beside[0]
        span /= 1 + (_BAR_GAP if bar is not None else 0.0)  # the bar's gap is a share of the panels' span
        panel_w = max((span - sum(gaps)) / count, _LEAST)
        panel_h = max(height - top - bottom, _LEAST)
    boxes, x = [], left
    for i in range(count):
        boxes.append((x, bottom, panel_w, panel_h))
        x += panel_w + (gaps[i] if i < len(gaps) else 0.0)
    if bar is not None:
        length = _BAR_SHRINK * panel_h
        x += _BAR_GAP * (x - left) + max(sides[-1][1])
        boxes.append((x, bottom + (panel_h - length) / 2, length / _BAR_ASPECT, length))
    return boxes


def _beside(bar: _Reach | None, panel_h: float) -> tuple[float, float, float]:
    """What a colour bar beside panels this high takes: its width with its texts', and how far these
    reach below and above the panels (a long label on a short bar)."""
    if bar is None:
        return 0.0, 0.0, 0.0
    length = _BAR_SHRINK * panel_h
    _, right, below, above = bar.beyond(length / _BAR_ASPECT, length)
    inset = (panel_h - length) / 2
    return length / _BAR_ASPECT + max(right), below - inset, above - inset


def _reach(axes: Axes, ruler: _Ruler) -> _Reach:
    reach = _Reach()
    _ticks_reach(axes.xaxis, ruler, reach)
    _ticks_reach(axes.yaxis, ruler, reach)
    _labels_reach(axes, ruler, reach)
    return reach


def _labels_reach(axes: Axes, ruler: _Ruler, reach: _Reach) -> None:
    """The axis labels beyond the tick labels, and the title above the axes (its pad from rcParams,
    read when the axes was made, inside the report's style)."""
    title_w, title_h = ruler.size(axes.title)
    if title_h:
        reach.top = max(reach.top, _title_pad() + title_h)
        reach.along_x.append((TOP, 0.5, title_w / 2))
    label_w, label_h = ruler.size(axes.xaxis.label)
    if label_h:
        beyond = axes.xaxis.labelpad / 72 + label_h
        on_top = axes.xaxis.get_label_position() == "top"
        if on_top:
            reach.top += beyond
        else:
            reach.bottom += beyond
        reach.along_x.append((TOP if on_top else BOTTOM, 0.5, label_w / 2))
    label_w, label_h = ruler.size(axes.yaxis.label)
    if label_w:
        beyond = axes.yaxis.labelpad / 72 + label_w
        side: str = axes.yaxis.get_label_position()  # typed as an x axis' ("top", "bottom")
        if side == "right":
            reach.right += beyond
        else:
            reach.left += beyond
        reach.along_y.append((0.5, label_h / 2))


def _title_pad() -> float:
    """The title's offset above the axes, in inches (``axes.titlepad`` of the report's style)."""
    return float(matplotlib.rcParams["axes.titlepad"]) / 72


def _ticks_reach(axis: Axis, ruler: _Ruler, reach: _Reach) -> None:
    """The tick labels in view, as the formatters write them, measured on one tick's label of each kind:
    the ticks themselves are made only when drawn."""
    is_x = isinstance(axis, XAxis)
    for ticks, major in ((axis.majorTicks, True), (axis.minorTicks, False)):
        shown = _in_view(axis, major)
        if not shown:
            continue
        tick: Tick = ticks[0]
        given: float = tick.get_pad()  # type: ignore[func-returns-value, assignment]  # stub: None
        pad = (given + tick.get_tick_padding()) / 72
        for probe, first in ((tick.label1, True), (tick.label2, False)):
            if not probe.get_visible():
                continue
            sizes = [(place, *ruler.size(probe, text)) for place, text in shown]
            probe.set_text("")
            if is_x:
                reach.along_x.extend((BOTTOM if first else TOP, place, w / 2) for place, w, _ in sizes)
            else:
                reach.along_y.extend((place, h / 2) for place, _, h in sizes)
            _add_depth(reach, is_x, first, pad + max(h if is_x else w for _, w, h in sizes))


def _add_depth(reach: _Reach, is_x: bool, first: bool, depth: float) -> None:
    """Tick labels on the bottom or left (``first``), or on the top or right, this deep."""
    if is_x and first:
        reach.bottom = max(reach.bottom, depth)
    elif is_x:
        reach.top = max(reach.top, depth)
    elif first:
        reach.left = max(reach.left, depth)
    else:
        reach.right = max(reach.right, depth)


def _in_view(axis: Axis, major: bool) -> list[tuple[float, str]]:
    """The labelled ticks matplotlib draws (``ticks.tick_positions``), as places 0..1 along the axis from
    its start on screen, and their labels."""
    scale = axis.get_transform()
    start, end = scale.transform(np.asarray(axis.get_view_interval(), dtype=float))
    shown = [(loc, text) for loc, text in tick_positions(axis, major) if text]
    if not shown or start == end:
        return []
    places = (scale.transform(np.asarray([loc for loc, _ in shown], dtype=float)) - start) / (end - start)
    return [(float(place), text) for place, (_, text) in zip(places, shown, strict=True)]
