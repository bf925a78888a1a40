"""A panel's ticks drawn as a few plain artists instead of matplotlib's tick objects.

Matplotlib makes each tick an object of three lines and two texts, updates them on every draw and lays
their labels out twice (to draw them, then to keep the axis label clear of them): in a figure of two dozen
small panels that is most of its drawing time. ``freeze`` asks the axis' own locator and formatter where
its ticks go and how they read, once the limits are final, and draws the same marks, grid lines and labels
with the properties of the axis' own tick: one line for all marks, one for all grid lines, one text per
label. The axis label and offset (the year under a time axis) are placed beside the labels as matplotlib
places them. The figure looks the same; its SVG groups the parts differently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis, Tick, XAxis
from matplotlib.backend_bases import RendererBase
from matplotlib.lines import Line2D
from matplotlib.text import Annotation, Text
from matplotlib.ticker import NullFormatter, NullLocator
from matplotlib.transforms import Bbox

A = TypeVar("A", bound=Artist)
_Box = Callable[[RendererBase], Bbox]


def freeze(axes: Axes) -> None:
    """Both axes' ticks as plain artists; call once the axes' limits, scales and tick settings are final.

    An axis laid out in a way this does not copy (its label on the far side, a y offset) keeps matplotlib's.
    """
    for axis in (axes.xaxis, axes.yaxis):
        if axis.get_visible() and _copyable(axis):
            _freeze(axis)


def tick_positions(axis: Axis, major: bool = True) -> list[tuple[float, str]]:
    """The ticks matplotlib would draw on ``axis``: (position, label), only those in view."""
    locs = list(axis.get_majorticklocs() if major else axis.get_minorticklocs())
    texts = (axis.get_major_formatter() if major else axis.get_minor_formatter()).format_ticks(locs)
    scale = axis.get_transform()
    low, high = sorted(scale.transform(np.asarray(axis.get_view_interval(), dtype=float)))
    slack = (high - low) * 1e-10  # matplotlib's tolerance: a tick this close to an end is drawn
    where = scale.transform(np.asarray(locs, dtype=float))
    return [
        (float(loc), text)
        for loc, text, at in zip(locs, texts, where, strict=True)
        if low - slack <= at <= high + slack
    ]


def _copyable(axis: Axis) -> bool:
    if axis.get_label_position() not in ("left", "bottom"):
        return False
    return _is_x(axis) or not axis.get_major_formatter().get_offset()


def _is_x(axis: Axis) -> bool:
    return isinstance(axis, XAxis)


def _freeze(axis: Axis) -> None:
    offset = axis.get_major_formatter().get_offset()
    kinds = [(axis.majorTicks[0], tick_positions(axis))]
    if not isinstance(axis.get_minor_locator(), NullLocator):
        kinds.append((axis.minorTicks[0], tick_positions(axis, major=False)))
    if axis.get_label_text() and not any(tick.label1.get_visible() and ticks for tick, ticks in kinds):
        return  # the label would sit by the tick marks: matplotlib's own rule for that case is kept
    labels = [label for tick, ticks in kinds if ticks for label in _draw(axis, tick, ticks)]
    axis.set_major_locator(NullLocator())
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(NullFormatter())  # no offset text of the axis' own either
    if axis.get_label_text():
        _add(axis, _axis_label(axis, labels), None)
        axis.set_label_text("")
    if offset:
        _add(axis, _offset(axis, labels, offset), None)


def _draw(axis: Axis, tick: Tick, ticks: Sequence[tuple[float, str]]) -> list[Text]:
    """One kind of tick's marks, grid lines and labels; returns the first-side labels (even empty ones:
    matplotlib places the axis label beside those)."""
    locs = [loc for loc, _ in ticks]
    for mark in (tick.tick1line, tick.tick2line):
        if mark.get_visible():
            _add(axis, _line_like(mark, axis, locs, [float(_across(axis, mark)[0])] * len(locs)), mark)
    if tick.gridline.get_visible():
        start, end = _across(axis, tick.gridline)[:2]
        along = [value for loc in locs for value in (loc, loc, np.nan)]  # one path, a segment each
        across = [float(value) for _ in locs for value in (start, end, np.nan)]
        _add(axis, _line_like(tick.gridline, axis, along, across), tick.gridline)
    labels = []
    for label in (tick.label1, tick.label2):
        if label.get_visible():
            drawn = [_add(axis, _text_like(label, axis, loc, text), label) for loc, text in ticks]
            labels += drawn if label is tick.label1 else []
    return labels


def _across(axis: Axis, line: Line2D) -> np.ndarray:
    """A tick part's coordinates across its axis (axes fractions: where the mark or grid line sits)."""
    return np.asarray(line.get_ydata() if _is_x(axis) else line.get_xdata(), dtype=float)


def _line_like(template: Line2D, axis: Axis, along: list[float], across: list[float]) -> Line2D:
    line = Line2D(*((along, across) if _is_x(axis) else (across, along)))
    line.update_from(template)
    return line


def _text_like(template: Text, axis: Axis, loc: float, text: str) -> Text:
    x, y = template.get_position()
    label = Text(*((loc, y) if _is_x(axis) else (x, loc)), text=text)
    label.update_from(template)
    label.set_rotation_mode(template.get_rotation_mode())
    return label


def _add(axis: Axis, artist: A, template: Artist | None) -> A:
    """Into the axes, drawn where its axis is (below the data lines), clipped as the template is."""
    assert axis.axes is not None
    axis.axes.add_artist(artist)
    artist.set_zorder(axis.get_zorder())
    artist.set_clip_box(template.get_clip_box() if template is not None else None)
    artist.set_clip_path(template.get_clip_path() if template is not None else None)
    return artist


def _labels_box(labels: list[Text], renderer: RendererBase) -> Bbox | None:
    boxes = [label.get_window_extent(renderer) for label in labels]
    return Bbox.union(boxes) if boxes else None


def _axis_label(axis: Axis, labels: list[Text]) -> Annotation:
    """The axis label ``labelpad`` points beyond the tick labels and the spine, as matplotlib puts it."""
    axes = axis.axes
    assert axes is not None
    x, y = axis.label.get_position()
    spine = axes.spines.get(axis.get_label_position())

    def beside(renderer: RendererBase) -> Bbox:
        edge = spine.get_window_extent(renderer) if spine is not None else axes.bbox
        boxes = _labels_box(labels, renderer)
        return Bbox.union([boxes, edge]) if boxes is not None else edge

    coords: tuple[str | _Box, str | _Box]
    if _is_x(axis):
        where, coords, pad = (x, 0.0), ("axes fraction", beside), (0.0, -axis.labelpad)
    else:
        where, coords, pad = (0.0, y), (beside, "axes fraction"), (-axis.labelpad, 0.0)
    return _annotation(axis.label, axis.get_label_text(), where, coords, pad)


def _offset(axis: Axis, labels: list[Text], text: str) -> Annotation:
    """The x axis' offset text (a date axis' year) ``OFFSETTEXTPAD`` points under its tick labels."""
    axes = axis.axes
    assert axes is not None

    def under(renderer: RendererBase) -> Bbox:
        boxes = _labels_box(labels, renderer)
        return boxes if boxes is not None else axes.bbox

    where = (axis.offsetText.get_position()[0], 0.0)
    return _annotation(axis.offsetText, text, where, ("axes fraction", under), (0.0, -axis.OFFSETTEXTPAD))


def _annotation(
    template: Text,
    text: str,
    where: tuple[float, float],
    coords: tuple[str | _Box, str | _Box],
    pad: tuple[float, float],
) -> Annotation:
    note = Annotation(text, where, xycoords=coords, xytext=pad, textcoords="offset points")
    transform = note.get_transform()
    note.update_from(template)
    note.set_transform(transform)  # the annotation's own, not the template's
    note.set_rotation_mode(template.get_rotation_mode())
    return note
