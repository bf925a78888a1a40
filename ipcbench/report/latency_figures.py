"""Latency as latency-critical users measure it: one-way legs beside RTT/2, latency against offered load
(open loop) with each curve's knee, and latency against CPU per round trip for the three ways a
shared-memory reader can wait (spin, hybrid, sem).

Each function takes a loaded ``Run`` and returns rows or an ``<svg>`` string, or []/None when the run holds
no cells of the workload it needs (``oneway``, ``openloop``, shared-memory ``pingpong`` with a hybrid
wait). ``context`` gathers them for the page's "under load" section.
"""

from __future__ import annotations

from typing import Any

from ipcbench import stats
from ipcbench.report import style
from ipcbench.report.layout import fit_row
from ipcbench.report.plotting import UNITS, LogTicks, legend_right, log_y, new_figure, plain, to_svg
from ipcbench.report.runs import Run, cpu_per_message
from ipcbench.workloads.openloop import knee

# One-way p50 against RTT/2: "alike" when the whole interval of the ratio lies within this band around 1,
# "differs" when it lies wholly on one side of 1, otherwise undecided (the runs cannot tell).
ALIKE_BAND = 0.10
WAITS = ("spin", "hybrid", "sem")
# The size the latency-against-load figure draws, when the run measured it (else its smallest open-loop size).
PREFERRED_LOAD_SIZE = 64


def context(run: Run) -> dict[str, Any]:
    """What the page's "under load" section shows of one run besides its figures (``load_curves`` and
    ``latency_vs_cpu``, drawn with the page's others)."""
    return {
        "oneway_rows": oneway_rows(run),
        "load_size": load_size(run),
        "load_rows": load_rows(run),
        "wait_rows": wait_points(run),
    }


def oneway_rows(run: Run) -> list[dict[str, Any]]:
    """Per mechanism and size: both legs' p50 and p99, RTT/2 from the same run's pingpong cell, and the
    forward leg over RTT/2 with its distribution-free interval over the runs (``stats.ratio_interval``)."""
    rows = []
    for size in run.sizes("oneway"):
        for label in style.ordered(run.labels("oneway")):
            cell = run.cell(label, "oneway", size)
            if cell is None:
                continue
            rtt = run.cell(label, "pingpong", size)
            back = cell.get("latency_back_ns") or {}
            row: dict[str, Any] = {
                "mechanism": label,
                "size": size,
                "forward_p50": cell["latency_ns"]["p50"],
                "forward_p99": cell["latency_ns"]["p99"],
                "back_p50": back.get("p50"),
                "back_p99": back.get("p99"),
                "half_rtt": rtt["latency_ns"]["p50"] / 2 if rtt else None,
            }
            rows.append({**row, **against_half_rtt(cell, rtt)})
    return rows


def against_half_rtt(oneway: dict[str, Any], pingpong: dict[str, Any] | None) -> dict[str, Any]:
    """The forward leg's per-run p50s over the pingpong runs' halves: ratio, interval and its coverage, and
    the reading (alike, differs, or undecided)."""
    if pingpong is None:
        return {"ratio": None, "interval": None, "level": None, "reading": "no pingpong cell at this size"}
    legs = [run["p50_ns"] for run in oneway["runs"] if run.get("p50_ns")]
    halves = [run["p50_ns"] / 2 for run in pingpong["runs"] if run.get("p50_ns")]
    interval = stats.ratio_interval(legs, halves)
    if interval is None:
        ratio, _ = stats.ratio_ci(legs, halves)
        return {"ratio": ratio, "interval": None, "level": None, "reading": _UNDECIDED_FEW}
    low, high = interval.low, interval.high
    if 1 - ALIKE_BAND <= low and high <= 1 + ALIKE_BAND:
        reading = f"alike: RTT/2 is within {ALIKE_BAND:.0%} of the one-way leg here"
    elif low > 1:
        reading = "differs: the one-way leg is longer than RTT/2"
    elif high < 1:
        reading = "differs: the one-way leg is shorter than RTT/2"
    else:
        reading = "undecided: the interval holds 1 but is wider than the alike band"
    return {"ratio": interval.point, "interval": interval.bounds, "level": interval.level, "reading": reading}


_UNDECIDED_FEW = "undecided: fewer than two runs on a side, no interval"


def _offered(entry: dict[str, Any]) -> float:
    return float(entry["offered_msgs_per_s"])


def load_size(run: Run) -> int | None:
    """The message size the latency-against-load figure draws."""
    sizes = run.sizes("openloop")
    if not sizes:
        return None
    return PREFERRED_LOAD_SIZE if PREFERRED_LOAD_SIZE in sizes else sizes[0]


def _sweeps(run: Run, size: int) -> list[tuple[str, list[dict[str, Any]]]]:
    found = []
    for label in style.ordered(run.labels("openloop")):
        cell = run.cell(label, "openloop", size)
        if cell is not None and cell.get("rate_sweep"):
            found.append((label, sorted(cell["rate_sweep"], key=_offered)))
    return found


def load_curves(run: Run) -> str | None:
    """Corrected p50 and p99 against offered rate per mechanism at ``load_size``; a hollow marker is a
    rate the pair did not keep, the dotted line the uncorrected p99, a cross the knee."""
    size = load_size(run)
    sweeps = _sweeps(run, size) if size is not None else []
    if not sweeps:
        return None
    with new_figure("openloop", 11.0, 4.6, ncols=2) as (figure, (left, right)):
        for label, sweep in sweeps:
            for axes, key in ((left, "p50"), (right, "p99")):
                _curve(axes, label, sweep, key)
            rates = [_offered(entry) for entry in sweep]
            uncorrected = [entry["latency_uncorrected_ns"]["p99"] for entry in sweep]
            right.plot(rates, uncorrected, ":", color=style.colour(label))
            bend = knee(sweep)
            if bend is not None:
                at = next(entry for entry in sweep if _offered(entry) == bend)
                right.plot([bend], [at["latency_ns"]["p99"]], "x", color=style.colour(label), markersize=10)
        for axes, key in ((left, "p50"), (right, "p99")):
            axes.set_xscale("log")
            axes.xaxis.set_major_formatter(LogTicks(UNITS["/s"]))
            axes.set_xlabel("offered rate (messages per second, log scale)")
            log_y(axes, f"latency from intended send, {key} (log scale)", "ns")
        left.set_title("Median under load")
        right.set_title("p99 under load (dotted: uncorrected; x: knee)")
        figure.suptitle(plain(f"Latency against offered load, open loop, {size} B messages"))
        legend_right(figure, left)
        fit_row(figure, [left, right])
        return to_svg(figure)


def _curve(axes: Any, label: str, sweep: list[dict[str, Any]], key: str) -> None:
    colour = style.colour(label)
    rates = [_offered(entry) for entry in sweep]
    values = [entry["latency_ns"][key] for entry in sweep]
    axes.plot(rates, values, style.linestyle(label), color=colour, label=plain(label))
    for rate, value, entry in zip(rates, values, sweep, strict=True):
        axes.plot([rate], [value], "o", color=colour, markerfacecolor=colour if entry["kept"] else "white")


def load_rows(run: Run) -> list[dict[str, Any]]:
    """Per mechanism and size: capacity, the highest rate kept, the knee (where corrected p99 doubles from
    the lowest rate's), the corrected p50 at the lowest rate beside the one-way p50 of the same size, and
    whether corrected p99 was at least the uncorrected one at every rate (it must be, by construction)."""
    rows = []
    for size in run.sizes("openloop"):
        for label, sweep in _sweeps(run, size):
            cell = run.cell(label, "openloop", size) or {}
            kept = [_offered(entry) for entry in sweep if entry["kept"]]
            oneway = run.cell(label, "oneway", size)
            lowest = sweep[0]
            rows.append(
                {
                    "mechanism": label,
                    "size": size,
                    "capacity": cell.get("capacity_msgs_per_s"),
                    "kept_up_to": max(kept) if kept else None,
                    "not_kept": sum(1 for entry in sweep if not entry["kept"]),
                    "knee": knee(sweep),
                    "low_rate": _offered(lowest),
                    "low_p50": lowest["latency_ns"]["p50"],
                    "low_p99": lowest["latency_ns"]["p99"],
                    "oneway_p50": oneway["latency_ns"]["p50"] if oneway else None,
                    "corrected_covers": all(
                        e["latency_ns"]["p99"] >= e["latency_uncorrected_ns"]["p99"] for e in sweep
                    ),
                }
            )
    return rows


def wait_points(run: Run) -> list[dict[str, Any]]:
    """Round-trip p50 and CPU per round trip (both processes, median over runs) of each shared-memory wait
    at the smallest pingpong size, for the APIs measured with a hybrid wait (beside their spin and sem)."""
    sizes = run.sizes("pingpong")
    labels = style.ordered(run.labels("pingpong"))
    apis = {label.partition("/")[0] for label in labels if label.endswith("/hybrid")}
    points = []
    for label in labels:
        api, _, wait = label.partition("/")
        cell = run.cell(label, "pingpong", sizes[0]) if sizes else None
        if api not in apis or wait not in WAITS or cell is None:
            continue
        cpu = cpu_per_message(cell)
        points.append(
            {"mechanism": label, "wait": wait, "size": sizes[0], "p50": cell["latency_ns"]["p50"], "cpu": cpu}
        )
    return points


def latency_vs_cpu(run: Run) -> str | None:
    """Each shared-memory wait as a point: round-trip p50 against CPU time per round trip."""
    points = [point for point in wait_points(run) if point["cpu"]]
    if not points:
        return None
    with new_figure("waits", 7.5, 4.6) as (figure, axes):
        rightmost = max(point["cpu"] for point in points)
        for point in points:
            label = point["mechanism"]
            axes.plot([point["cpu"]], [point["p50"]], "o", color=style.colour(label), label=plain(label))
            # The rightmost point's name on its left: on its right it would pass the axes' end, where the
            # fixed layout (``fit_row``) left no room.
            left = point["cpu"] == rightmost
            axes.annotate(
                plain(point["wait"]),
                (point["cpu"], point["p50"]),
                textcoords="offset points",
                xytext=(-5 if left else 5, 4),
                horizontalalignment="right" if left else "left",
                fontsize=8,
            )
        axes.set_xscale("log")
        axes.xaxis.set_major_formatter(LogTicks(UNITS["ns"]))
        axes.xaxis.set_minor_formatter(LogTicks(UNITS["ns"]))
        axes.set_xlabel("CPU time per round trip, both processes (log scale)")
        log_y(axes, "round-trip time, p50 (log scale)", "ns")
        axes.set_title(plain(f"Latency against CPU: spin, hybrid and sem waits, {points[0]['size']} B"))
        legend_right(figure, axes)
        fit_row(figure, [axes])
        return to_svg(figure)
