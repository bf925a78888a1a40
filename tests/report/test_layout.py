"""The one-row figures' fixed layout (``layout.fit_row``) on odd data: mechanism names of 40 characters and
more, a single mechanism, two dozen of them, many sizes: no text leaves the figure and none overlaps
another axes, the legend or the figure's titles."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from report_docs import document, pingpong, run_of, stream

from ipcbench.report import figures, latency_figures, page, plotting, run_figures
from ipcbench.report.runs import Run

# The figures drawn on a fixed layout; the panel figures (bands, runs_*) have fixed margins of their own.
ONE_ROW = ("latency", "throughput", "sync", "distribution", "heatmap", "ladder", "runs_relative")
LONG = "-with-a-variant-name-forty-characters-long"
SIZES = (64, 512, 4096, 1 << 16, 1 << 20, 1 << 24)


def cells(labels: list[str], sizes: tuple[int, ...], slower: float = 1.0) -> list[dict[str, Any]]:
    """Both tiers of every label at every size, their figures spread over several decades."""
    found = []
    for rank, label in enumerate(labels):
        for size in sizes:
            latency = (1_000.0 + 10 * rank) * (1 + size / 1000) * slower
            for impl, factor in (("python", 1.0), ("native", 0.3)):
                found.append(
                    pingpong(label, size, [latency * factor * f for f in (0.99, 1, 1.01)], impl=impl)
                )
                rate = 1e9 * size / latency / factor
                found.append(stream(label, size, [rate * f for f in (0.99, 1, 1.01)], impl=impl))
    return found


def runs_of(labels: list[str], sizes: tuple[int, ...] = SIZES) -> list[Run]:
    return [
        run_of(document(cells(labels, sizes, slower), created=f"2026-01-0{day}T00:00:00Z"), f"{day}.json")
        for day, slower in ((1, 1.0), (2, 1.3))
    ]


ODD = {
    "long names": ["pipe", f"posix-shm/spin{LONG}", f"sysv-shm/sem{LONG}", f"unix/x{LONG}"],
    "one mechanism": ["posix-shm/spin"],
    "two dozen": ["pipe", "posix-shm/spin", *(f"tcp/v{number:02d}" for number in range(22))],
}


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Figure]]:
    """The figures ``to_svg`` is given, by name, once their SVG is written."""
    found: dict[str, Figure] = {}
    write = plotting.to_svg

    def keep(figure: Figure) -> str:
        svg = write(figure)
        found[figure.get_axes()[0].get_gid() or str(len(found))] = figure
        return svg

    for module in (figures, latency_figures, run_figures, plotting):
        monkeypatch.setattr(module, "to_svg", keep)
    yield found


def texts(axes: Axes, renderer: RendererSVG) -> list[Bbox]:
    """The boxes of an axes' drawn texts: title, axis labels, the tick labels in view (matplotlib's, or
    drawn as plain texts by ``ticks.freeze``), texts inside it."""
    found = [axes.title, axes.xaxis.label, axes.yaxis.label, *axes.texts]
    for axis in (axes.xaxis, axes.yaxis):
        low, high = sorted(axis.get_view_interval())
        close = (high - low) * 1e-9
        for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
            if low - close <= tick.get_loc() <= high + close:  # drawn (matplotlib keeps others unseen)
                found += [tick.label1, tick.label2]
    return [text.get_window_extent(renderer) for text in found if text.get_visible() and text.get_text()]


def check(name: str, figure: Figure) -> None:
    """Every text inside the figure; none over another axes' texts or box, a legend or a figure text."""
    figure.dpi = 72  # as the SVG backend draws, measuring text as it does
    renderer = RendererSVG(*figure.bbox.size, io.StringIO())
    figure.draw(renderer)
    blocks = [(f"axes {index}", texts(axes, renderer), axes.bbox) for index, axes in enumerate(figure.axes)]
    blocks += [
        (f"legend {index}", [box := legend.get_window_extent(renderer)], box)
        for index, legend in enumerate(figure.legends)
    ]
    blocks += [(text.get_text(), [box := text.get_window_extent(renderer)], box) for text in figure.texts]
    inside = figure.bbox.padded(0.5)
    for label, boxes, _ in blocks:
        for box in boxes:
            assert inside.containsx(box.x0) and inside.containsx(box.x1), (name, label, box)
            assert inside.containsy(box.y0) and inside.containsy(box.y1), (name, label, box)
    for i, (label, boxes, area) in enumerate(blocks):
        for other, other_boxes, other_area in blocks[i + 1 :]:
            for box in boxes:
                for against in [*other_boxes, other_area]:
                    assert not box.padded(-0.5).overlaps(against.padded(-0.5)), (name, label, other, box)
            for box in other_boxes:
                assert not box.padded(-0.5).overlaps(area.padded(-0.5)), (name, other, label, box)


@pytest.mark.parametrize("case", list(ODD))
def test_no_text_leaves_the_figure_or_runs_into_another(case: str, drawn: dict[str, Figure]) -> None:
    runs = runs_of(ODD[case])
    jobs = page._figure_jobs(runs[-1], runs)
    made = []
    for name in ONE_ROW:
        before = len(drawn)
        if jobs[f"{name}_svg"]() is not None:
            made.append(name)
            check(name, list(drawn.values())[before])
    assert made == list(ONE_ROW) or case == "one mechanism"
    assert "ladder" in made and "latency" in made
