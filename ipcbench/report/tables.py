"""The report's tables, as rows of ready-to-print strings: the template only lays them out.

Each function takes a loaded ``Run`` (or several) and returns small frozen rows. Ratios are
``verdicts.Speedup`` objects turned into a ``Ratio`` cell with a CSS class, so "faster", "slower" and
"no significant difference" look the same in every table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ipcbench.report import style
from ipcbench.report.ratios import Speedup, compare, comparison_of, times
from ipcbench.report.runs import METRICS, Run, cores_busy, cpu_per_message, size_text
from ipcbench.units import format_ns, format_rate

BASELINE = "pipe"
# Written as escapes: the characters look like "-" and "x" in an editor.
MISSING = "\N{EN DASH}"
TIMES = "\N{MULTIPLICATION SIGN}"
# The comparison table shows at most this many runs beside the baseline (the plots show all of them).
MOST_COMPARED = 6


@dataclass(frozen=True)
class Ratio:
    """A speed-up in a table cell: ``7.31x faster``, its interval, and how to colour it."""

    text: str
    interval: str
    css: str  # "faster", "slower", "same" (no significant difference) or "unknown" (no interval)


_NONE = Ratio(MISSING, "", "none")
_SELF = Ratio("baseline", "", "none")


def ratio_cell(comparison: Speedup | None) -> Ratio:
    if comparison is None:
        return _NONE
    interval = "" if comparison.ci is None else f"[{times(comparison.ci[0])}, {times(comparison.ci[1])}]"
    outcome = comparison.outcome
    if outcome == "no significant difference":
        return Ratio(f"{times(comparison.speedup)}{TIMES} n.s.", interval, "same")
    if outcome == "no interval":
        return Ratio(f"{times(comparison.speedup)}{TIMES}", "one run", "unknown")
    if outcome == "faster":
        return Ratio(f"{times(comparison.speedup)}{TIMES} faster", interval, outcome)
    # "1.52x slower [1.43, 1.54]": the interval in the same direction as the figure beside it.
    assert comparison.ci is not None
    low, high = 1 / comparison.ci[1], 1 / comparison.ci[0]
    return Ratio(f"{times(1 / comparison.speedup)}{TIMES} slower", f"[{times(low)}, {times(high)}]", outcome)


# ---- relative speed -------------------------------------------------------------------------------------


def relative_speed(run: Run) -> dict[str, dict[tuple[str, int], Speedup]]:
    """Every mechanism against a pipe at every size: round-trip latency and stream throughput."""
    result: dict[str, dict[tuple[str, int], Speedup]] = {}
    for metric in ("latency", "throughput"):
        workload = METRICS[metric][0]
        found = {
            (label, size): compare(run, label, BASELINE, metric, size)
            for label in run.labels(workload) - {BASELINE}
            for size in run.sizes(workload)
        }
        result[metric] = {key: value for key, value in found.items() if value is not None}
    return result


@dataclass(frozen=True)
class SpeedRow:
    label: str
    colour: str
    wait: str
    round_trip: str
    latency: Ratio
    throughput: str
    stream: Ratio
    cpu: str
    busy: str
    warning: str  # why this row deserves care (unstable runs, a spinning pair), or ""


def speed_tables(
    run: Run, speed: dict[str, dict[tuple[str, int], Speedup]]
) -> list[tuple[str, list[SpeedRow]]]:
    """One table per size: each mechanism's figures and its speed-up over a pipe."""
    tables = []
    for size in run.sizes():
        rows = [_speed_row(run, speed, label, size) for label in style.ordered(run.labels())]
        tables.append((size_text(size), [row for row in rows if row is not None]))
    return tables


def _speed_row(
    run: Run, speed: dict[str, dict[tuple[str, int], Speedup]], label: str, size: int
) -> SpeedRow | None:
    pingpong, stream = run.cell(label, "pingpong", size), run.cell(label, "stream", size)
    if pingpong is None and stream is None:
        return None
    any_cell = pingpong or stream
    assert any_cell is not None
    busy = cores_busy(pingpong) if pingpong else None
    return SpeedRow(
        label=label,
        colour=style.colour(label),
        wait=str((any_cell.get("params") or {}).get("wait", "?")),
        round_trip=format_ns((pingpong.get("latency_ns") or {}).get("p50")) if pingpong else MISSING,
        latency=_SELF if label == BASELINE else ratio_cell(speed["latency"].get((label, size))),
        throughput=format_rate((stream.get("throughput") or {}).get("bytes_per_s")) if stream else MISSING,
        stream=_SELF if label == BASELINE else ratio_cell(speed["throughput"].get((label, size))),
        cpu=format_ns(cpu_per_message(pingpong)) if pingpong else MISSING,
        busy=MISSING if busy is None else f"{busy:.2f}",
        warning=_warning([c for c in (pingpong, stream) if c]),
    )


def _warning(cells: list[dict[str, Any]]) -> str:
    notes = []
    if any(str((cell.get("params") or {}).get("wait", "")).startswith("spin") for cell in cells):
        notes.append("spins: burns a CPU on each side, even while waiting")
    for cell in cells:
        if cell.get("unstable"):
            cv = cell.get("cv")
            notes.append(
                f"unstable {cell['workload']}" + (f" (runs vary {cv:.0%})" if cv is not None else "")
            )
    return "; ".join(notes)


# ---- synchronisation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRow:
    api: str
    size: str
    sem_round_trip: str
    spin_round_trip: str
    latency: Ratio  # the semaphore variant's speed-up over spinning (below 1: semaphores cost)
    sem_throughput: str
    spin_throughput: str
    stream: Ratio
    sem_cpu: str
    spin_cpu: str
    sem_busy: str
    spin_busy: str


def sync_rows(run: Run) -> list[SyncRow]:
    rows = []
    for api in ("sysv-shm", "posix-shm"):
        for size in run.sizes():
            row = _sync_row(run, api, size)
            if row is not None:
                rows.append(row)
    return rows


def _sync_row(run: Run, api: str, size: int) -> SyncRow | None:
    sem, spin = f"{api}/sem", f"{api}/spin"
    pingpong = [run.cell(label, "pingpong", size) for label in (sem, spin)]
    stream = [run.cell(label, "stream", size) for label in (sem, spin)]
    if None in pingpong and None in stream:
        return None
    p50 = [format_ns((c.get("latency_ns") or {}).get("p50")) if c else MISSING for c in pingpong]
    rate = [format_rate((c.get("throughput") or {}).get("bytes_per_s")) if c else MISSING for c in stream]
    cpu = [format_ns(cpu_per_message(c)) if c else MISSING for c in pingpong]
    busy = [_busy_text(c) for c in pingpong]
    return SyncRow(
        api,
        size_text(size),
        p50[0],
        p50[1],
        ratio_cell(compare(run, sem, spin, "latency", size)),
        rate[0],
        rate[1],
        ratio_cell(compare(run, sem, spin, "throughput", size)),
        cpu[0],
        cpu[1],
        busy[0],
        busy[1],
    )


def _busy_text(cell: dict[str, Any] | None) -> str:
    busy = cores_busy(cell) if cell else None
    return MISSING if busy is None else f"{busy:.2f}"


# ---- problems, machine, method --------------------------------------------------------------------------


def problem_rows(run: Run) -> list[dict[str, str]]:
    """Skipped and failed cells, with the reason and the setting that would allow a skipped size."""
    return [
        {
            "mechanism": f"{cell['transport']}/{cell['variant']}"
            if cell.get("variant")
            else cell["transport"],
            "workload": cell["workload"],
            "size": size_text(cell["size"]),
            "status": cell["status"],
            "reason": str(cell.get("reason") or "no reason recorded"),
            "remedy": str(cell.get("remedy") or ""),
        }
        for cell in run.document["cells"]
        if cell["status"] != "ok"
    ]


def unstable_rows(run: Run) -> list[dict[str, str]]:
    return [
        {
            "mechanism": label,
            "workload": workload,
            "size": size_text(size),
            "cv": "?" if cell.get("cv") is None else f"{cell['cv']:.0%}",
            "reason": str(cell.get("unstable_reason") or ""),
        }
        for (label, workload, size), cell in sorted(run.cells.items(), key=lambda item: item[0][2])
        if cell.get("unstable")
    ]


def text_of(value: Any) -> str:
    """A fingerprint or config value as plain text (lists and objects compactly, as JSON)."""
    if isinstance(value, str):
        return value
    if value is None:
        return MISSING
    return json.dumps(value, separators=(", ", ": ")) if isinstance(value, dict | list) else str(value)


def key_values(values: dict[str, Any], skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(str(key), text_of(value)) for key, value in values.items() if key not in skip]


def run_facts(run: Run) -> list[tuple[str, str]]:
    document = run.document
    facts = [
        ("file", str(run.path)),
        ("status", run.status),
        ("label", text_of(document.get("label"))),
        ("created", run.created),
        ("finished", text_of(document.get("finished"))),
        ("ipcbench version", str(document["ipcbench_version"])),
        ("schema version", str(document.get("schema_version"))),
    ]
    cells = document["cells"]
    counts = {
        status: sum(1 for c in cells if c["status"] == status) for status in ("ok", "skipped", "failed")
    }
    facts.append(("cells", ", ".join(f"{n} {status}" for status, n in counts.items())))
    return facts


def planned_cells(run: Run) -> int | None:
    """How many cells the run set out to measure, from its config (None if the config does not say)."""
    config = run.document["config"]
    parts = [config.get(key) for key in ("transports", "sizes", "workloads")]
    lists = [part for part in parts if isinstance(part, list)]
    if len(lists) != len(parts):
        return None
    planned = len(lists[0]) * len(lists[1]) * len(lists[2])
    # "posix-shm" in a config may stand for all its variants: then the count says nothing.
    return planned if planned >= len(run.document["cells"]) else None


# ---- several runs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrossRow:
    mechanism: str
    colour: str
    measure: str
    size: str
    ratios: list[Ratio]


def cross_rows(base: Run, others: list[Run]) -> list[CrossRow]:
    """Each later run (or other machine) against the first, for every cell they share."""
    rows = []
    for metric, measure in (("latency", "round trip"), ("throughput", "stream")):
        workload = METRICS[metric][0]
        for label in style.ordered(base.labels(workload)):
            for size in base.sizes(workload):
                ratios = [ratio_cell(_between(base, other, label, metric, size)) for other in others]
                if any(r is not _NONE for r in ratios):
                    rows.append(CrossRow(label, style.colour(label), measure, size_text(size), ratios))
    return rows


def _between(base: Run, other: Run, label: str, metric: str, size: int) -> Speedup | None:
    mine, theirs = other.values(label, metric, size), base.values(label, metric, size)
    if mine is None or theirs is None:
        return None
    return comparison_of(other.title, base.title, metric, size, mine, theirs)


# ---- the cost ladder ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LadderRow:
    mechanism: str
    workload: str
    size: int
    native: str  # per round trip (pingpong) or per message (stream)
    python: str
    extra: str  # what Python adds, per round trip (pingpong) or per message
    extra_per_message: str
    ratio: Ratio  # Python/native, with its interval
    share: str  # the part of the Python figure that is Python


def ladder_rows(run: Run) -> list[LadderRow]:
    """Every rung of the cost ladder (``report.ladder``) as text for the table."""
    from ipcbench.report.ladder import rungs

    return [
        LadderRow(
            rung.mechanism,
            rung.workload,
            rung.size,
            format_ns(rung.native_ns),
            format_ns(rung.python_ns),
            _signed_ns(rung.extra_ns) if rung.workload == "pingpong" else "",
            _signed_ns(rung.extra_per_message_ns),
            ratio_cell(rung.ratio),
            f"{rung.python_share:.0%}",
        )
        for rung in rungs(run)
    ]


def _signed_ns(value: float) -> str:
    return format_ns(value) if value >= 0 else f"-{format_ns(-value)}"
