"""Figures of the comparison section: several runs (one machine over time, or several machines) together.

Mechanisms keep their colours; runs get theirs from ``style.run_colours`` (distinct colours for a few runs,
an old-to-new ramp for many).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator

from ipcbench.report import style
from ipcbench.report.layout import fit_row
from ipcbench.report.plotting import (
    UNITS,
    LogTicks,
    in_view,
    latency_of,
    legend_right,
    log_y,
    mechanism_line,
    new_figure,
    panel_figure,
    panel_grid,
    plain,
    rate_of,
    series,
    size_axis,
    to_svg,
)
from ipcbench.report.runs import Run
from ipcbench.report.ticks import freeze

_MEASURES = {  # metric -> (workload, key of the cell figure, what it is, its axis label, unit)
    "latency": ("pingpong", "p50", "round-trip time, p50", "round trip, p50 (log)", "ns"),
    # A short axis label: the long one ran past the panel's height and, beside "100 MB/s", off the figure
    # (the left margin also leaves room for those labels: 1.1 in).
    "throughput": ("stream", "bytes_per_s", "stream throughput (bytes/s)", "bytes/s (log)", "B/s"),
}


def across_runs(runs: list[Run], metric: str) -> str | None:
    """Small multiples: one panel per mechanism, one line per run (colour per run, fixed order)."""
    workload, key, title, axis_label, unit = _MEASURES[metric]
    labels = style.ordered(set().union(*(run.labels(workload) for run in runs)))
    if not labels:
        return None
    rows, columns = panel_grid(len(labels), 4)
    legend_rows = -(-len(runs) // 3)
    height = 2.6 * rows + 1.1 + 0.2 * legend_rows
    # No constrained layout here: with a dozen panels it costs more than all the drawing (fixed margins,
    # in inches: the suptitle clear of the panels' titles, the key clear of the last row's axis label).
    with panel_figure(f"runs-{metric}", 11.0, height, len(labels), columns) as (figure, panels):
        bottom = (0.95 + 0.2 * legend_rows) / height
        figure.subplots_adjust(
            left=0.1, right=0.99, top=1 - 0.75 / height, bottom=bottom, hspace=0.62, wspace=0.28
        )
        pick = latency_of(key) if workload == "pingpong" else rate_of(key)
        for index, (axes, label) in enumerate(zip(panels, labels, strict=True)):
            _runs_panel(axes, runs, label, workload, pick, unit)
            axes.set_ylabel(axis_label if index % columns == 0 else "")
            # Sizes are labelled once per column, under its last panel: the ticks say which sizes.
            axes.set_xlabel("message size (bytes)" if index + columns >= len(labels) else "")
            freeze(axes)
        handles = [Line2D([], [], color=colour, marker="o") for colour in style.run_colours(len(runs))]
        titles = [plain(run.title) for run in runs]
        figure.legend(handles, titles, loc="lower center", ncols=min(3, len(runs)), title="run", fontsize=8.5)
        figure.suptitle(f"{title[0].upper()}{title[1:]} by message size, per mechanism: one line per run")
        return to_svg(figure)


def _runs_panel(
    axes: Axes,
    runs: list[Run],
    label: str,
    workload: str,
    pick: Callable[[dict[str, Any]], float | None],
    unit: str,
) -> None:
    sizes = sorted(set().union(*(run.sizes(workload) for run in runs)))
    for colour, run in zip(style.run_colours(len(runs)), runs, strict=True):
        xs, ys = series(run, label, workload, pick)
        axes.plot(xs, ys, marker="o", markersize=3, linewidth=1.2, color=colour)
    size_axis(axes, sizes, narrow=True)
    log_y(axes, "", unit)
    axes.set_title(plain(label), color=style.colour(label), fontweight="bold")


def relative_to_first(runs: list[Run]) -> str | None:
    """Each mechanism's figures in each run relative to run 1 (geometric mean over the sizes they share):
    drift over time, or the gap between machines, in one glance."""
    with new_figure("runs-relative", 11.0, 4.4, ncols=2) as (figure, (left, right)):
        drawn = 0
        for axes, metric in ((left, "latency"), (right, "throughput")):
            drawn += _relative_panel(axes, runs, metric)
        if not drawn:
            return None
        left.set_ylabel("round-trip p50 ÷ run 1's (log scale; below 1 = faster)")
        right.set_ylabel("stream bytes/s ÷ run 1's (log scale; above 1 = faster)")
        left.set_title("Round trip, relative to run 1")
        right.set_title("Stream throughput, relative to run 1")
        figure.suptitle("Every run against run 1: geometric mean over the message sizes both measured")
        legend_right(figure, left if left.lines else right)
        fit_row(figure, [left, right])
        return to_svg(figure)


def _relative_panel(axes: Axes, runs: list[Run], metric: str) -> int:
    workload, pick = (
        ("pingpong", latency_of("p50")) if metric == "latency" else ("stream", rate_of("bytes_per_s"))
    )
    first = runs[0]
    drawn = 0
    for label in style.ordered(first.labels(workload)):
        base = dict(zip(*series(first, label, workload, pick), strict=True))
        ratios = [
            _geometric_ratio(base, dict(zip(*series(run, label, workload, pick), strict=True)))
            for run in runs
        ]
        points = [(i + 1, r) for i, r in enumerate(ratios) if r is not None]
        if len(points) > 1:
            mechanism_line(axes, label, [x for x, _ in points], [y for _, y in points])
            drawn += 1
    axes.set_yscale("log")
    in_view(axes.yaxis)
    axes.yaxis.set_major_formatter(LogTicks(UNITS[""]))
    axes.yaxis.set_minor_formatter(LogTicks(UNITS[""]))
    axes.axhline(1.0, color="#333333", linewidth=0.8)
    axes.set_xlabel("run (numbered as in the table above)")
    axes.xaxis.set_major_locator(FixedLocator(list(range(1, len(runs) + 1))))
    return drawn


def _geometric_ratio(base: dict[int, float], other: dict[int, float]) -> float | None:
    shared = [size for size in base if size in other]
    if not shared:
        return None
    return float(np.exp(np.mean([np.log(other[size] / base[size]) for size in shared])))
