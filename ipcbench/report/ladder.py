"""The cost ladder: per mechanism and size, the native floor, what the Python tier measured, and the gap.

Both tiers run the same loops over the same kernel objects (``impl``: ``native`` in C, ``python`` through
the bindings), so for one mechanism and size the difference is what Python itself costs. A rung gives the
cost per round trip (ping-pong p50) or per message (stream: 1 / messages per second), the difference
absolute per round trip and per message (a round trip carries two messages), and the ratio Python/native
with its exact Mann-Whitney interval from the per-run figures of each tier. Pure: a ``Run`` in, rungs out; the
figure is drawn with the report's helpers.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from ipcbench.report import plotting, style
from ipcbench.report.layout import fit_row
from ipcbench.report.ratios import Speedup, comparison_of
from ipcbench.report.runs import Run, size_text

# Workload -> the per-run figure a rung compares, and how a figure becomes a cost in nanoseconds.
_METRIC = {"pingpong": "latency", "stream": "msgs"}


@dataclass(frozen=True)
class Rung:
    """One mechanism at one size and workload, in both tiers."""

    mechanism: str
    workload: str
    size: int
    native_ns: float  # native cost: p50 round trip (pingpong) or ns per message (stream)
    python_ns: float  # the same figure measured by the Python tier
    ratio: Speedup  # native "faster" than python by this factor, with its interval

    @property
    def extra_ns(self) -> float:
        """What Python adds per round trip (pingpong) or per message (stream)."""
        return self.python_ns - self.native_ns

    @property
    def extra_per_message_ns(self) -> float:
        """What Python adds per message: a round trip is two messages, one each way."""
        return self.extra_ns / 2 if self.workload == "pingpong" else self.extra_ns

    @property
    def python_share(self) -> float:
        """The fraction of the Python figure that is Python, not the mechanism (0 when Python is as fast)."""
        return max(0.0, self.extra_ns) / self.python_ns if self.python_ns > 0 else 0.0


def _cost(values: list[float], workload: str) -> float:
    """Median per-run figure as a cost in ns: a p50 already is one; a message rate is inverted."""
    middle = float(statistics.median(values))
    return middle if workload == "pingpong" else 1e9 / middle


def rungs(run: Run) -> list[Rung]:
    """Every (mechanism, workload, size) measured in both tiers of ``run``, in the report's order."""
    native, python = run.in_tier("native"), run.in_tier("python")
    found: list[Rung] = []
    for workload, metric in _METRIC.items():
        labels = native.labels(workload) & python.labels(workload)
        for label in style.ordered(labels):
            for size in sorted(set(native.sizes(workload)) & set(python.sizes(workload))):
                mine, theirs = native.values(label, metric, size), python.values(label, metric, size)
                if mine is None or theirs is None:
                    continue
                ratio = comparison_of("native", "python", metric, size, mine, theirs)
                found.append(
                    Rung(label, workload, size, _cost(mine, workload), _cost(theirs, workload), ratio)
                )
    return found


def ladder_figure(run: Run) -> str | None:
    """Bars per mechanism: the native floor, and Python's extra on top, for ping-pong and stream at the
    smallest size measured (where Python's share is largest) and stream at the largest."""
    found = rungs(run)
    panels = _panels(found)
    if not panels:
        return None
    names = [rung.mechanism for _, chosen in panels for rung in chosen]
    height = 1.2 + (0.32 + 0.14 * (plotting.lines_of(names) - 1)) * _most_rows(panels)
    with plotting.new_figure("cost-ladder", 11, height, ncols=len(panels)) as (fig, axes):
        for ax, (title, chosen) in zip([axes] if len(panels) == 1 else list(axes), panels, strict=True):
            _ladder_panel(ax, title, chosen)
        handles, texts = (axes if len(panels) == 1 else axes[0]).get_legend_handles_labels()
        fig.legend(handles, texts, loc="lower center", ncols=2)
        # Once, under the panels: one label under each panel ran into its neighbour's.
        fig.supxlabel("time (log scale); the end of a bar is the Python figure", fontsize="medium")
        fit_row(fig, [axes] if len(panels) == 1 else list(axes))
        return plotting.to_svg(fig)


def _panels(found: list[Rung]) -> list[tuple[str, list[Rung]]]:
    panels = []
    for workload, unit in (("pingpong", "round trip"), ("stream", "message")):
        sizes = sorted({rung.size for rung in found if rung.workload == workload})
        for size in dict.fromkeys(sizes[:1] + sizes[-1:] if workload == "stream" else sizes[:1]):
            chosen = [r for r in found if r.workload == workload and r.size == size]
            panels.append((f"{workload} {size_text(size)}: time per {unit}", chosen))
    return panels


def _most_rows(panels: list[tuple[str, list[Rung]]]) -> int:
    return max(len(chosen) for _, chosen in panels)


def _ladder_panel(ax: object, title: str, chosen: list[Rung]) -> None:
    from matplotlib.axes import Axes
    from matplotlib.ticker import FuncFormatter, NullFormatter

    assert isinstance(ax, Axes)
    names = [plotting.plain(plotting.wrapped(rung.mechanism)) for rung in chosen]
    rows = list(range(len(chosen)))[::-1]
    floors = [rung.native_ns for rung in chosen]
    extras = [max(rung.python_ns - rung.native_ns, 0.0) for rung in chosen]
    ax.barh(rows, floors, color="#5b6670", label="native floor (C loop, same objects)")
    ax.barh(rows, extras, left=floors, color="#f2b01e", label="what the Python tier adds")
    ax.set_yticks(rows, names)
    ax.set_xscale("log")
    # A panel can span about a decade (stream at 1 MiB or 16 MiB), where matplotlib labelled the minor ticks
    # too and the labels ran into each other: labels at 1 and 3 of each decade on such a short axis, at the
    # decades alone on a longer one, none on minor ticks.
    plotting.in_view(ax.xaxis, subs=(1.0, 3.0))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _tick_text(ax, x)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    # Bars start at the axis' left end: below the smallest floor, so the shortest bar still shows.
    ax.set_xlim(left=min(f for f in floors if f > 0) / 2 if any(f > 0 for f in floors) else None)
    ax.set_title(title)


def _tick_text(ax: object, x: float) -> str:
    """A decade always; 3 of a decade only when the axis spans less than two decades."""
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    low, high = ax.get_xlim()
    decade = abs(math.log10(x) - round(math.log10(x))) < 1e-9
    return plotting.UNITS["ns"](x) if decade or math.log10(high / low) < 2 else ""
