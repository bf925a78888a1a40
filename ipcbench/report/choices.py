"""The report's "Python's choices" section: the library layer ranked at each size, beside the kernel layer.

A Python program rarely calls ``pipe`` or ``shm_open`` itself; it takes ``multiprocessing.Pipe``, a
``Queue``, ``shared_memory`` or pyzmq. At each size this section ranks those library-layer mechanisms by
round trip and sets each against the fastest *blocking* kernel-layer mechanism of the same run (every
library mechanism here sleeps while it waits, so that is the like-for-like floor): the ratio is what the
abstraction costs over the mechanism under it. The fastest kernel-layer mechanism of any kind (usually a
spinning shared-memory ring) is shown too, as the floor a program could reach by giving up a core.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ipcbench.report.ratios import compare
from ipcbench.report.runs import Run, size_text
from ipcbench.report.style import ordered
from ipcbench.report.tables import MISSING, Ratio, ratio_cell
from ipcbench.units import format_ns, format_rate


@dataclass(frozen=True)
class ChoiceRow:
    """One mechanism at one size: its figures and how they compare with the blocking kernel floor."""

    size: str
    rank: str  # "1", "2"... for the library layer; "" for a kernel-layer reference row
    mechanism: str
    role: str  # "library", or what a kernel-layer row stands for
    round_trip: str
    latency: Ratio
    throughput: str
    stream: Ratio


def _median(run: Run, label: str, metric: str, size: int) -> float | None:
    values = run.values(label, metric, size)
    return None if values is None else float(statistics.median(values))


def _blocks(run: Run, label: str, size: int) -> bool:
    cells = [run.cell(label, workload, size) for workload in ("pingpong", "stream")]
    return all(((c.get("params") or {}).get("wait", "block") == "block") for c in cells if c is not None)


def _fastest(run: Run, labels: list[str], metric: str, size: int) -> str | None:
    measured = [(v, label) for label in labels if (v := _median(run, label, metric, size)) is not None]
    if not measured:
        return None
    return (min if metric == "latency" else max)(measured)[1]


def choice_rows(run: Run) -> list[ChoiceRow]:
    """Every size's ranking, smallest size first; empty when the run measured no library mechanism."""
    labels = ordered(run.labels())
    library = [label for label in labels if run.layer(label) == "library"]
    kernel = [label for label in labels if run.layer(label) == "kernel"]
    rows: list[ChoiceRow] = []
    for size in run.sizes() if library else []:
        blocking = [label for label in kernel if _blocks(run, label, size)]
        floor = {m: _fastest(run, blocking, m, size) for m in ("latency", "throughput")}
        ranked = sorted(library, key=lambda label: _median(run, label, "latency", size) or float("inf"))
        present = [label for label in ranked if any(run.cell(label, w, size) for w in ("pingpong", "stream"))]
        for rank, label in enumerate(present, 1):
            rows.append(_row(run, size, label, str(rank), "library", floor))
        for reference, role in _references(floor, _fastest(run, kernel, "latency", size)):
            rows.append(_row(run, size, reference, "", role, floor))
    return rows


def _references(floor: dict[str, str | None], fastest: str | None) -> list[tuple[str, str]]:
    """The kernel-layer rows to show: the blocking floor by each metric, then the fastest of any kind."""
    roles: dict[str, list[str]] = {}
    for label, what in ((floor["latency"], "round trip"), (floor["throughput"], "stream")):
        if label is not None:
            roles.setdefault(label, []).append(what)
    found = [(label, f"fastest blocking kernel mechanism by {' and '.join(w)}") for label, w in roles.items()]
    if fastest is not None and fastest not in roles:
        found.append((fastest, "fastest kernel mechanism, any wait"))
    return found


def _row(run: Run, size: int, label: str, rank: str, role: str, floor: dict[str, str | None]) -> ChoiceRow:
    p50, rate = _median(run, label, "latency", size), _median(run, label, "throughput", size)
    ratios = [_ratio(run, label, floor[metric], metric, size) for metric in ("latency", "throughput")]
    return ChoiceRow(
        size_text(size),
        rank,
        label,
        role,
        MISSING if p50 is None else format_ns(p50),
        ratios[0],
        MISSING if rate is None else format_rate(rate),
        ratios[1],
    )


def _ratio(run: Run, label: str, floor: str | None, metric: str, size: int) -> Ratio:
    if floor is None:
        return ratio_cell(None)
    if floor == label:
        return Ratio("floor", "", "none")
    return ratio_cell(compare(run, label, floor, metric, size))
