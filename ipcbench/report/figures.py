"""The report's figures: matplotlib (Agg, no pyplot) rendered to inline SVG strings.

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
from typing import Any, Literal, cast

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, LogFormatter, NullLocator

from ipcbench import stats
from ipcbench.report import style
from ipcbench.report.ratios import Comparison, times
from ipcbench.report.runs import Run, cores_busy, size_text

_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"],
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.dpi": 100,
}
# Percentiles drawn in the distribution figure, on a "nines" axis (50, 90, 99, 99.9, ...).
_PERCENTILES = (1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999)


@contextmanager
def _figure(
    name: str,
    width: float,
    height: float,
    layout: Literal["constrained"] | None = "constrained",
    **subplots: Any,
) -> Iterator[tuple[Figure, Any]]:
    """A figure inside the report's style; ``svg.hashsalt`` keeps the SVG ids of figures apart."""
    settings: dict[str, Any] = {**_RC, "svg.hashsalt": name}
    with matplotlib.rc_context(cast(Any, settings)):  # typed for literal keys only
        figure = Figure(figsize=(width, height), layout=layout)
        yield figure, figure.subplots(**subplots)


def to_svg(figure: Figure) -> str:
    """The figure as an ``<svg>`` element to inline: no XML prologue, no fixed size (CSS scales it)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    figure.clear()
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img"', text, count=1)


def plain(text: str) -> str:
    """Text from a result file, safe from matplotlib's mathtext (``$``) in titles and legends."""
    return text.replace("$", r"\$")


# ---- axes helpers ---------------------------------------------------------------------------------------


def _size_axis(axes: Axes, sizes: Sequence[int], narrow: bool = False) -> None:
    axes.set_xscale("log", base=2)
    axes.xaxis.set_major_locator(FixedLocator(list(sizes)))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: size_text(round(value))))
    axes.set_xlabel("message size (bytes, log scale)")
    if len(sizes) > (4 if narrow else 6):  # neighbours on a log axis spanning 64 B to 16M collide
        axes.tick_params(axis="x", labelrotation=45)


class _LogTicks(LogFormatter):
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


def _log_y(axes: Axes, label: str, unit: str) -> None:
    """A log y axis labelled in ``unit``, spanning at least a factor of 4 (call after plotting)."""
    axes.set_yscale("log")
    low, high = axes.dataLim.intervaly
    if 0 < low <= high < 4 * low:  # else ticks crowd on a near-flat line: "10.005 us, 10.01 us, ..."
        middle = (low * high) ** 0.5
        axes.set_ylim(middle / 2, middle * 2)
    axes.yaxis.set_major_formatter(_LogTicks(UNITS[unit]))
    if 0 < low and high > 20 * low:
        # Over several decades the minor ticks carry no label, and matplotlib's ticks are costly objects:
        # dropping them halves the time a figure takes to draw.
        axes.yaxis.set_minor_locator(NullLocator())
    else:
        axes.yaxis.set_minor_formatter(_LogTicks(UNITS[unit]))
    axes.set_ylabel(label)


def _mechanism_line(axes: Axes, label: str, xs: Sequence[float], ys: Sequence[float]) -> None:
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


def _legend_right(figure: Figure, axes: Axes) -> None:
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", title="mechanism")


def _series(
    run: Run, label: str, workload: str, value: Callable[[dict[str, Any]], float | None]
) -> tuple[list[int], list[float]]:
    points = [
        (size, value(cell)) for size in run.sizes(workload) if (cell := run.cell(label, workload, size))
    ]
    kept = [(x, y) for x, y in points if y is not None and y > 0]
    return [x for x, _ in kept], [y for _, y in kept]


def _latency(key: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda cell: (cell.get("latency_ns") or {}).get(key)


def _rate(key: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda cell: (cell.get("throughput") or {}).get(key)


# ---- single-run figures ---------------------------------------------------------------------------------


def latency_vs_size(run: Run) -> str | None:
    """Every mechanism's median round trip on one log-log plot (the bands are in ``latency_bands``)."""
    labels = style.ordered(run.labels("pingpong"))
    if not labels:
        return None
    with _figure("latency", 9.5, 4.8) as (figure, axes):
        for label in labels:
            _mechanism_line(axes, label, *_series(run, label, "pingpong", _latency("p50")))
        _size_axis(axes, run.sizes("pingpong"))
        _log_y(axes, "round-trip time, p50 (log scale)", "ns")
        axes.set_title("Round-trip latency by message size: median (p50)")
        _legend_right(figure, axes)
        return to_svg(figure)


def latency_bands(run: Run) -> str | None:
    """One panel per mechanism: its p50 line with a band up to p99, the others' p50 in grey behind.

    Ten overlapping bands on one plot hide each other; side by side, on shared axes, they compare.
    """
    labels = style.ordered(run.labels("pingpong"))
    if not labels:
        return None
    columns = min(5, len(labels))
    rows = -(-len(labels) // columns)
    height = 2.3 * rows + 1.2
    with _figure(
        "bands", 11.0, height, layout=None, nrows=rows, ncols=columns, squeeze=False, sharex=True, sharey=True
    ) as (figure, grid):
        figure.subplots_adjust(
            left=0.08, right=0.99, top=1 - 0.6 / height, bottom=1.05 / height, hspace=0.35, wspace=0.08
        )
        series = {label: _series(run, label, "pingpong", _latency("p50")) for label in labels}
        for axes, label in zip(grid.flat, labels, strict=False):
            _band_panel(axes, run, label, series)
        for axes in list(grid.flat)[len(labels) :]:
            axes.set_visible(False)
        for axes in grid[:, 0]:
            axes.set_ylabel("round trip (log)")
        for index, axes in enumerate(grid.flat[: len(labels)]):
            # The shared size axis is labelled under the last panel of each column, which may not be on the
            # bottom row when the last row is not full.
            last_in_column = index + columns >= len(labels)
            axes.xaxis.set_tick_params(labelbottom=last_in_column)
            axes.set_xlabel("message size (bytes)" if last_in_column else "")
        figure.legend(*_band_key(), loc="lower center", ncols=3)
        figure.suptitle(
            "Round-trip latency per mechanism: p50 line, shaded band up to p99 (others' p50 in grey)"
        )
        return to_svg(figure)


def _band_key() -> tuple[list[Any], list[str]]:
    """Legend entries for the band panels, drawn in neutral grey: the panel titles name the colours."""
    handles = [
        Line2D([], [], color="#555555", marker="o", markersize=3),
        Rectangle((0, 0), 1, 1, color="#555555", alpha=0.25, linewidth=0),
        Line2D([], [], color="#d0d4d8", linewidth=0.9),
    ]
    return handles, ["p50 of the panel's mechanism", "from p50 up to p99", "p50 of the other mechanisms"]


def _band_panel(axes: Axes, run: Run, label: str, series: dict[str, tuple[list[int], list[float]]]) -> None:
    for other, (xs, ys) in series.items():
        if other != label:
            axes.plot(xs, ys, color="#d0d4d8", linewidth=0.9)
    xs, p50 = series[label]
    _, p99 = _series(run, label, "pingpong", _latency("p99"))
    if len(p99) == len(xs):
        axes.fill_between(xs, p50, p99, color=style.colour(label), alpha=0.25, linewidth=0)
    axes.plot(xs, p50, color=style.colour(label), linestyle=style.linestyle(label), marker="o", markersize=3)
    _size_axis(axes, run.sizes("pingpong"), narrow=True)
    _log_y(axes, "", "ns")
    axes.set_title(plain(label), color=style.colour(label), fontweight="bold")


def throughput_vs_size(run: Run) -> str | None:
    labels = style.ordered(run.labels("stream"))
    if not labels:
        return None
    with _figure("throughput", 11.0, 4.6, ncols=2) as (figure, (left, right)):
        for label in labels:
            xs, rates = _series(run, label, "stream", _rate("bytes_per_s"))
            _mechanism_line(left, label, xs, rates)
            xs, msgs = _series(run, label, "stream", _rate("msgs_per_s"))
            _mechanism_line(right, label, xs, msgs)
        for axes in (left, right):
            _size_axis(axes, run.sizes("stream"), narrow=True)
        _log_y(left, "throughput (bytes/s, log scale; 1 MB = 10⁶ B)", "B/s")
        _log_y(right, "messages per second (log scale)", "/s")
        left.set_title("Stream: bytes per second")
        right.set_title("Stream: messages per second")
        figure.suptitle("Stream throughput by message size (one side sends as fast as the other receives)")
        _legend_right(figure, left)
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
    values = histogram.get_percentile_to_value_dict(wanted)
    return wanted, [float(values[p]) for p in wanted]


def _nines(percentile: float) -> float:
    return float(-np.log10(1 - percentile / 100))


def latency_distributions(run: Run) -> str | None:
    sizes = distribution_sizes(run)
    if not sizes:
        return None
    with _figure("distribution", 11.0, 4.2, ncols=len(sizes), squeeze=False) as (figure, grid):
        for axes, size in zip(grid[0], sizes, strict=True):
            _distribution_panel(axes, run, size)
        figure.suptitle("Round-trip latency distribution (percentiles from the stored HDR histograms)")
        _legend_right(figure, grid[0][0])
        return to_svg(figure)


def _distribution_panel(axes: Axes, run: Run, size: int) -> None:
    for label in style.ordered(run.labels("pingpong")):
        cell = run.cell(label, "pingpong", size)
        if cell is None or not cell.get("histogram"):
            continue
        percentiles, values = _percentile_curve(cell["histogram"])
        _mechanism_line(axes, label, [_nines(p) for p in percentiles], values)
    ticks = (50.0, 90.0, 99.0, 99.9, 99.99, 99.999)
    axes.xaxis.set_major_locator(FixedLocator([_nines(p) for p in ticks]))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{100 * (1 - 10**-value):.6g}"))
    axes.set_xlim(left=0)
    axes.set_xlabel("percentile (%, log scale of the tail)")
    _log_y(axes, "round-trip time (log scale)", "ns")
    axes.set_title(f"{size_text(size)} messages")


def speedup_heatmap(
    comparisons: dict[str, dict[tuple[str, int], Comparison]], labels: list[str], sizes: list[int]
) -> str | None:
    """Speed-up over a pipe, mechanism by size: green faster, red slower, grey no significant difference."""
    if not labels or not sizes:
        return None
    with _figure("heatmap", 11.0, 0.45 * len(labels) + 1.8, ncols=2) as (figure, panels):
        titles = {"latency": "Round trip (pingpong p50)", "throughput": "Stream (bytes/s)"}
        for axes, (metric, title) in zip(panels, titles.items(), strict=True):
            image = _heatmap_panel(axes, comparisons.get(metric, {}), labels, sizes)
            axes.set_title(title)
        bar = figure.colorbar(image, ax=list(panels), shrink=0.8, ticks=range(-3, 4))
        bar.ax.set_yticklabels(["1/8", "1/4", "1/2", "1", "2", "4", "8"])
        bar.set_label("speed-up over pipe (x, log scale)")
        figure.suptitle(
            "Speed-up over pipe (times; above 1 = faster than a pipe; grey: no significant difference)"
        )
        return to_svg(figure)


def _heatmap_panel(
    axes: Axes, comparisons: dict[tuple[str, int], Comparison], labels: list[str], sizes: list[int]
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
    axes.set_yticks(range(len(labels)), [plain(label) for label in labels])
    axes.set_xlabel("message size (bytes)")
    axes.set_ylabel("mechanism")
    axes.grid(False)
    return image


def _heatmap_text(axes: Axes, row: int, column: int, comparison: Comparison) -> None:
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
    with _figure("sync", 11.0, 4.4, ncols=2) as (figure, (left, right)):
        for label in shown:
            xs, p50 = _series(run, label, "pingpong", _latency("p50"))
            _mechanism_line(left, label, xs, p50)
            xs, busy = _series(run, label, "pingpong", cores_busy)
            _mechanism_line(right, label, xs, busy)
        for axes in (left, right):
            _size_axis(axes, run.sizes("pingpong"), narrow=True)
        _log_y(left, "round-trip time, p50 (log scale)", "ns")
        right.set_ylabel("CPUs kept busy (CPU seconds per second)")
        right.set_ylim(bottom=0)
        left.set_title("Round trip: semaphores (dashed) vs spinning (solid)")
        right.set_title("CPU cost: a spinning pair keeps ~2 CPUs busy")
        figure.suptitle("Cost of synchronisation in shared memory (pipe for reference)")
        _legend_right(figure, left)
        return to_svg(figure)


# ---- several runs ---------------------------------------------------------------------------------------


def across_runs(runs: list[Run], metric: str) -> str | None:
    """Small multiples: one panel per mechanism, one line per run (colour per run, fixed order)."""
    workload, key, title, unit = {
        "latency": ("pingpong", "p50", "round-trip time, p50", "ns"),
        "throughput": ("stream", "bytes_per_s", "stream throughput (bytes/s)", "B/s"),
    }[metric]
    labels = style.ordered(set().union(*(run.labels(workload) for run in runs)))
    if not labels:
        return None
    columns = min(4, len(labels))
    rows = -(-len(labels) // columns)
    legend_rows = -(-len(runs) // 3)
    height = 2.4 * rows + 0.8 + 0.2 * legend_rows
    # No constrained layout here: with a dozen panels it costs more than all the drawing (fixed margins).
    with _figure(f"runs-{metric}", 11.0, height, nrows=rows, ncols=columns, squeeze=False, layout=None) as (
        figure,
        grid,
    ):
        figure.subplots_adjust(
            left=0.08,
            right=0.99,
            top=1 - 0.55 / height,
            bottom=(0.75 + 0.2 * legend_rows) / height,
            hspace=0.55,
            wspace=0.28,
        )
        pick = _latency(key) if workload == "pingpong" else _rate(key)
        for index, (axes, label) in enumerate(zip(grid.flat, labels, strict=False)):
            _runs_panel(axes, runs, label, workload, pick, unit)
            axes.set_ylabel(f"{title} (log)" if index % columns == 0 else "")
        for axes in list(grid.flat)[len(labels) :]:
            axes.set_visible(False)
        colours = style.run_colours(len(runs))
        handles = [Line2D([], [], color=colour, marker="o") for colour in colours]
        figure.legend(
            handles,
            [plain(run.title) for run in runs],
            loc="lower center",
            ncols=min(3, len(runs)),
            title="run",
            fontsize=8.5,
        )
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
        xs, ys = _series(run, label, workload, pick)
        axes.plot(xs, ys, marker="o", markersize=3, linewidth=1.2, color=colour)
    _size_axis(axes, sizes, narrow=True)
    axes.set_xlabel("message size (bytes)")
    _log_y(axes, "", unit)
    axes.set_title(plain(label), color=style.colour(label), fontweight="bold")


def relative_to_first(runs: list[Run]) -> str | None:
    """Each mechanism's figures in each run relative to run 1 (geometric mean over the sizes they share):
    drift over time, or the gap between machines, in one glance."""
    with _figure("runs-relative", 11.0, 4.4, ncols=2) as (figure, (left, right)):
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
        _legend_right(figure, left if left.lines else right)
        return to_svg(figure)


def _relative_panel(axes: Axes, runs: list[Run], metric: str) -> int:
    workload, pick = (
        ("pingpong", _latency("p50")) if metric == "latency" else ("stream", _rate("bytes_per_s"))
    )
    first = runs[0]
    drawn = 0
    for label in style.ordered(first.labels(workload)):
        base = dict(zip(*_series(first, label, workload, pick), strict=True))
        ratios = [
            _geometric_ratio(base, dict(zip(*_series(run, label, workload, pick), strict=True)))
            for run in runs
        ]
        points = [(i + 1, r) for i, r in enumerate(ratios) if r is not None]
        if len(points) > 1:
            _mechanism_line(axes, label, [x for x, _ in points], [y for _, y in points])
            drawn += 1
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(_LogTicks(UNITS[""]))
    axes.yaxis.set_minor_formatter(_LogTicks(UNITS[""]))
    axes.axhline(1.0, color="#333333", linewidth=0.8)
    axes.set_xlabel("run (numbered as in the table above)")
    axes.xaxis.set_major_locator(FixedLocator(list(range(1, len(runs) + 1))))
    return drawn


def _geometric_ratio(base: dict[int, float], other: dict[int, float]) -> float | None:
    shared = [size for size in base if size in other]
    if not shared:
        return None
    return float(np.exp(np.mean([np.log(other[size] / base[size]) for size in shared])))
