"""The figures of one run: latency, bands, throughput, distributions, speed-up heatmap, synchronisation.

Each function takes a loaded ``Run`` and returns an ``<svg>`` string, or None when the run has nothing to
draw for it (a run without ping-pong cells has no latency figure).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter

from ipcbench import stats
from ipcbench.report import style
from ipcbench.report.layout import fit_row
from ipcbench.report.plotting import (
    latency_of,
    legend_right,
    lines_of,
    log_y,
    mechanism_line,
    new_figure,
    panel_figure,
    panel_grid,
    plain,
    rate_of,
    same_limits,
    series,
    size_axis,
    to_svg,
    wrapped,
)
from ipcbench.report.ratios import Speedup, times
from ipcbench.report.runs import Run, cores_busy, size_text
from ipcbench.report.ticks import freeze

# Percentiles drawn in the distribution figure, on a "nines" axis (50, 90, 99, 99.9, ...).
_PERCENTILES = (1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999)


def latency_vs_size(run: Run) -> str | None:
    """Every mechanism's median round trip on one log-log plot (the bands are in ``latency_bands``)."""
    labels = style.ordered(run.labels("pingpong"))
    if not labels:
        return None
    with new_figure("latency", 9.5, 4.8) as (figure, axes):
        for label in labels:
            mechanism_line(axes, label, *series(run, label, "pingpong", latency_of("p50")))
        size_axis(axes, run.sizes("pingpong"))
        log_y(axes, "round-trip time, p50 (log scale)", "ns")
        axes.set_title("Round-trip latency by message size: median (p50)")
        legend_right(figure, axes)
        fit_row(figure, [axes])
        return to_svg(figure)


def latency_bands(run: Run) -> str | None:
    """One panel per mechanism: its p50 line with a band up to p99, the others' p50 in grey behind.

    Ten overlapping bands on one plot hide each other; side by side, on shared axes, they compare.
    """
    labels = style.ordered(run.labels("pingpong"))
    if not labels:
        return None
    rows, columns = panel_grid(len(labels), 5)
    height = 2.3 * rows + 1.2
    # Panels on the same scales, not shared axes: matplotlib keeps shared axes in step on every change.
    with panel_figure("bands", 11.0, height, len(labels), columns) as (figure, panels):
        figure.subplots_adjust(
            left=0.08, right=0.99, top=1 - 0.6 / height, bottom=1.05 / height, hspace=0.35, wspace=0.08
        )
        medians = {label: series(run, label, "pingpong", latency_of("p50")) for label in labels}
        for axes, label in zip(panels, labels, strict=True):
            _band_panel(axes, run, label, medians)
        same_limits(panels)
        for index, axes in enumerate(panels):
            size_axis(axes, run.sizes("pingpong"), narrow=True)
            log_y(axes, "", "ns")
            axes.yaxis.set_tick_params(
                labelleft=index % columns == 0
            )  # the first column's labels read for all
        for axes in panels[::columns]:
            axes.set_ylabel("round trip (log)")
        _label_shared_sizes(panels, columns)
        for axes in panels:
            freeze(axes)
        figure.legend(*_band_key(), loc="lower center", ncols=3)
        figure.suptitle(
            "Round-trip latency per mechanism: p50 line, shaded band up to p99 (others' p50 in grey)"
        )
        return to_svg(figure)


def _label_shared_sizes(panels: list[Axes], columns: int) -> None:
    """Size ticks and label under the last panel of each column (not always on the bottom row)."""
    for index, axes in enumerate(panels):
        last_in_column = index + columns >= len(panels)
        axes.xaxis.set_tick_params(labelbottom=last_in_column)
        axes.set_xlabel("message size (bytes)" if last_in_column else "")


def _band_key() -> tuple[list[Any], list[str]]:
    """Legend entries for the band panels, drawn in neutral grey: the panel titles name the colours."""
    handles = [
        Line2D([], [], color="#555555", marker="o", markersize=3),
        Rectangle((0, 0), 1, 1, color="#555555", alpha=0.25, linewidth=0),
        Line2D([], [], color="#d0d4d8", linewidth=0.9),
    ]
    return handles, ["p50 of the panel's mechanism", "from p50 up to p99", "p50 of the other mechanisms"]


def _band_panel(axes: Axes, run: Run, label: str, medians: dict[str, tuple[list[int], list[float]]]) -> None:
    others = [np.column_stack([xs, ys]) for other, (xs, ys) in medians.items() if other != label and xs]
    # One artist for all the grey lines, not one each: a panel of a default run has thirteen.
    axes.add_collection(LineCollection(others, colors="#d0d4d8", linewidths=0.9, zorder=1))
    xs, p50 = medians[label]
    _, p99 = series(run, label, "pingpong", latency_of("p99"))
    if len(p99) == len(xs):
        axes.fill_between(xs, p50, p99, color=style.colour(label), alpha=0.25, linewidth=0)
    axes.plot(xs, p50, color=style.colour(label), linestyle=style.linestyle(label), marker="o", markersize=3)
    axes.set_title(plain(label), color=style.colour(label), fontweight="bold")


def throughput_vs_size(run: Run) -> str | None:
    labels = style.ordered(run.labels("stream"))
    if not labels:
        return None
    with new_figure("throughput", 11.0, 4.6, ncols=2) as (figure, (left, right)):
        for label in labels:
            xs, rates = series(run, label, "stream", rate_of("bytes_per_s"))
            mechanism_line(left, label, xs, rates)
            xs, msgs = series(run, label, "stream", rate_of("msgs_per_s"))
            mechanism_line(right, label, xs, msgs)
        for axes in (left, right):
            size_axis(axes, run.sizes("stream"), narrow=True)
        log_y(left, "throughput (bytes/s, log scale; 1 MB = 10⁶ B)", "B/s")
        log_y(right, "messages per second (log scale)", "/s")
        left.set_title("Stream: bytes per second")
        right.set_title("Stream: messages per second")
        figure.suptitle("Stream throughput by message size (one side sends as fast as the other receives)")
        legend_right(figure, left)
        fit_row(figure, [left, right])
        return to_svg(figure)


def distribution_sizes(run: Run, most: int = 3) -> list[int]:
    """A few sizes to show distributions at: smallest, largest, and the middle one."""
    sizes = run.sizes("pingpong")
    if len(sizes) <= most:
        return sizes
    return sorted({sizes[0], sizes[len(sizes) // 2], sizes[-1]})


def _percentile_curve(encoded: str) -> tuple[list[float], list[float]]:
    """(percentile, round-trip ns) pairs from a stored histogram, up to the deepest percentile it supports."""
    histogram = stats.decode_histogram(encoded)
    deepest = 100.0 * (1 - 1 / max(histogram.get_total_count(), 1))
    wanted = [p for p in _PERCENTILES if p <= deepest]
    # hdrh's own walk (get_percentile_to_value_dict) visits every bucket in Python: 2.6 ms a histogram,
    # forty in a figure. The same buckets, found in the running counts (a decoded histogram's counts may
    # stop short of counts_len: the rest are empty).
    stored = min(histogram.counts_len, histogram.encoder.payload.counts_len)
    running = np.cumsum(np.ctypeslib.as_array(histogram.counts)[:stored], dtype=np.int64)
    found = np.searchsorted(running, [histogram.get_target_count_at_percentile(p) for p in wanted])
    values = [histogram.get_highest_equivalent_value(histogram.get_value_from_index(int(i))) for i in found]
    return wanted, [float(value) for value in values]


def _nines(percentile: float) -> float:
    return float(-np.log10(1 - percentile / 100))


def latency_distributions(run: Run) -> str | None:
    sizes = distribution_sizes(run)
    if not sizes:
        return None
    with new_figure("distribution", 11.0, 4.2, ncols=len(sizes), squeeze=False) as (figure, grid):
        for axes, size in zip(grid[0], sizes, strict=True):
            _distribution_panel(axes, run, size)
        figure.suptitle("Round-trip latency distribution (percentiles from the stored HDR histograms)")
        legend_right(figure, grid[0][0])
        fit_row(figure, list(grid[0]))
        return to_svg(figure)


def _distribution_panel(axes: Axes, run: Run, size: int) -> None:
    for label in style.ordered(run.labels("pingpong")):
        cell = run.cell(label, "pingpong", size)
        if cell is None or not cell.get("histogram"):
            continue
        percentiles, values = _percentile_curve(cell["histogram"])
        mechanism_line(axes, label, [_nines(p) for p in percentiles], values)
    ticks = (50.0, 90.0, 99.0, 99.9, 99.99, 99.999)
    axes.xaxis.set_major_locator(FixedLocator([_nines(p) for p in ticks]))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{100 * (1 - 10**-value):.6g}"))
    axes.set_xlim(left=0)
    # "99.99" and "99.999" run into each other on a third of the figure's width: tilted, they fit.
    axes.tick_params(axis="x", labelrotation=45)
    axes.set_xlabel("percentile (%, log scale of the tail)")
    log_y(axes, "round-trip time (log scale)", "ns")
    axes.set_title(f"{size_text(size)} messages")


def speedup_heatmap(
    comparisons: dict[str, dict[tuple[str, int], Speedup]], labels: list[str], sizes: list[int]
) -> str | None:
    """Speed-up over a pipe, mechanism by size: green faster, red slower, grey no significant difference."""
    if not labels or not sizes:
        return None
    row = 0.45 + 0.15 * (lines_of(labels) - 1)
    height = max(row * len(labels) + 1.8, 3.0)  # at least the colour bar's label long
    with new_figure("heatmap", 11.0, height, ncols=2) as (figure, panels):
        titles = {"latency": "Round trip (pingpong p50)", "throughput": "Stream (bytes/s)"}
        for axes, (metric, title) in zip(panels, titles.items(), strict=True):
            image = _heatmap_panel(axes, comparisons.get(metric, {}), labels, sizes)
            axes.set_title(title)
        # The same rows in both panels: named once, at the left.
        panels[1].tick_params(axis="y", left=False, labelleft=False)
        panels[1].set_ylabel("")
        # On axes of its own, placed by ``fit_row`` (matplotlib's would take its room from the panels).
        bar = figure.colorbar(image, cax=figure.add_axes((0.9, 0.1, 0.02, 0.8)), ticks=range(-3, 4))
        bar.ax.set_yticklabels(["1/8", "1/4", "1/2", "1", "2", "4", "8"])
        bar.set_label("speed-up over pipe (x, log scale)")
        figure.suptitle(
            "Speed-up over pipe (times; above 1 = faster than a pipe; grey: no significant difference)"
        )
        fit_row(figure, list(panels), bar=bar.ax)
        return to_svg(figure)


def _heatmap_panel(
    axes: Axes, comparisons: dict[tuple[str, int], Speedup], labels: list[str], sizes: list[int]
) -> AxesImage:
    grid = np.full((len(labels), len(sizes)), np.nan)
    for (label, size), comparison in comparisons.items():
        if label in labels and size in sizes:
            grid[labels.index(label), sizes.index(size)] = np.log2(comparison.speedup)
    image = axes.imshow(np.clip(grid, -3, 3), cmap="RdYlGn", vmin=-3, vmax=3, aspect="auto")
    for (label, size), comparison in comparisons.items():
        if label in labels and size in sizes:
            _heatmap_text(axes, labels.index(label), sizes.index(size), comparison)
    axes.set_xticks(range(len(sizes)), [size_text(s) for s in sizes])
    axes.set_yticks(range(len(labels)), [plain(wrapped(label)) for label in labels])
    axes.set_xlabel("message size (bytes)")
    axes.set_ylabel("mechanism")
    axes.grid(False)
    return image


def _heatmap_text(axes: Axes, row: int, column: int, comparison: Speedup) -> None:
    significant = comparison.outcome in ("faster", "slower")
    # Out of the layout: they sit inside the axes, and measuring each one makes the layout slow.
    if not significant:
        axes.add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, color="#dddddd")).set_in_layout(False)
    text = f"{times(comparison.speedup)}x" + ("" if significant else "\nn.s.")
    dark = significant and abs(np.log2(comparison.speedup)) > 2  # the colour map's ends are dark
    axes.text(
        column, row, text, ha="center", va="center", fontsize=8.5, color="white" if dark else "black"
    ).set_in_layout(False)


def sync_cost(run: Run) -> str | None:
    labels = [label for label in style.ordered(run.labels("pingpong")) if style.is_shared_memory(label)]
    if not labels:
        return None
    shown = labels + (["pipe"] if "pipe" in run.labels("pingpong") else [])
    with new_figure("sync", 11.0, 4.4, ncols=2) as (figure, (left, right)):
        for label in shown:
            xs, p50 = series(run, label, "pingpong", latency_of("p50"))
            mechanism_line(left, label, xs, p50)
            xs, busy = series(run, label, "pingpong", cores_busy)
            mechanism_line(right, label, xs, busy)
        for axes in (left, right):
            size_axis(axes, run.sizes("pingpong"), narrow=True)
        log_y(left, "round-trip time, p50 (log scale)", "ns")
        right.set_ylabel("CPUs kept busy (CPU seconds per second)")
        right.set_ylim(bottom=0)
        left.set_title("Round trip: semaphores (dashed) vs spinning (solid)")
        right.set_title("CPU cost: a spinning pair keeps ~2 CPUs busy")
        figure.suptitle("Cost of synchronisation in shared memory (pipe for reference)")
        legend_right(figure, left)
        fit_row(figure, [left, right])
        return to_svg(figure)
