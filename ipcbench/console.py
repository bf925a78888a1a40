"""Terminal output: the live progress of a run and result tables, drawn with rich.

The progress display never redraws on a timer (no refresh thread): it is updated between runs only, so
nothing competes for a core with the measuring pair on a two-core machine.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ipcbench import unsync
from ipcbench.plan import Cell
from ipcbench.transports import cell_label
from ipcbench.units import format_ns, format_rate, format_size

# Off a terminal (CI logs, pipes) rich would wrap tables at 80 columns; logs are read wide.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, highlight=False)


def cell_name(cell: dict[str, Any]) -> str:
    return cell_label(cell)


def tier(cell: dict[str, Any]) -> str:
    """The tier a cell was measured in (files older than schema 2 held only the Python tier)."""
    return str(cell.get("impl", "python"))


class RunProgress:
    """Progress callback for ``Runner``: a bar on a terminal, one line per cell elsewhere (CI logs)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.live = sys.stderr.isatty() and not quiet
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> RunProgress:
        if self.live:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=errors,
                auto_refresh=False,
                transient=True,
            )
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, event: str, index: int, total: int, cell: Cell, result: dict[str, Any] | None) -> None:
        name = f"{cell.mechanism} {cell.impl} {cell.workload} {format_size(cell.size)}"
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task("", total=total)
            self._bar.update(self._task, completed=index + (event == "done"), description=name)
            self._bar.refresh()
        elif event == "done" and result is not None and not self.quiet:
            errors.print(f"[{index + 1}/{total}] {name}: {one_line(result)}", markup=False)


def one_line(cell: dict[str, Any]) -> str:
    if cell["status"] != "ok":
        return f"{cell['status']}: {cell.get('reason')}"
    if cell.get("unsync"):
        return f"demonstration: {unsync.sentence(cell['unsync'])}"
    if cell.get("latency_ns"):
        leg = "one-way" if cell["workload"] == "oneway" else "round trip"
        return f"p50 {format_ns(cell['latency_ns']['p50'])} {leg}"
    if cell.get("rate_sweep"):
        return f"{_sweep_note(cell)}"
    return f"{format_rate(cell['throughput']['bytes_per_s'])}"


def result_table(document: dict[str, Any], title: str | None = None) -> Table:
    """One row per cell: latency percentiles, throughput, CPU per message, status."""
    table = Table(title=escape(title) if title else None, show_lines=False)
    for header, justify in (
        ("mechanism", "left"),
        ("impl", "left"),
        ("workload", "left"),
        ("size", "right"),
        ("p50 latency", "right"),
        ("p99", "right"),
        ("p99.9", "right"),
        ("throughput", "right"),
        ("msgs/s", "right"),
        ("CPU/msg init|peer", "right"),
        ("note", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for cell in document["cells"]:
        table.add_row(*_row(cell))
    return table


def _row(cell: dict[str, Any]) -> list[str]:
    head = [escape(cell_name(cell)), tier(cell), cell["workload"], format_size(cell["size"])]
    if cell["status"] != "ok":
        reason = cell.get("reason") or ""
        if cell.get("remedy"):
            reason += f" (allow: {cell['remedy']})"
        return [*head, "", "", "", "", "", "", escape(f"{cell['status'].upper()}: {reason}")]
    if cell.get("unsync"):  # counts of a race, not a speed: no figure to show
        return [
            *head,
            "",
            "",
            "",
            "",
            "",
            "",
            f"DEMONSTRATION, no synchronisation: {unsync.sentence(cell['unsync'])}",
        ]
    latency = cell.get("latency_ns") or {}
    throughput = cell.get("throughput") or {}  # a loadable file may hold null here: show "-", never crash
    cpu = cell.get("cpu_ns_per_msg") or {}
    note = (
        f"UNSTABLE ({cell.get('unstable_reason') or 'runs disagree'}; rerun)" if cell.get("unstable") else ""
    )
    if ((cell.get("params") or {}).get("wait") or "").startswith("spin"):
        note = ", ".join(filter(None, [cell["params"]["wait"], note]))
    if cell.get("rate_sweep"):  # openloop: the throughput columns are the capacity swept against
        note = ", ".join(filter(None, [_sweep_note(cell), note]))
    if cell.get("latency_back_ns"):  # oneway: the columns are the forward leg
        back = format_ns(cell["latency_back_ns"]["p50"])
        note = ", ".join(filter(None, [f"one-way, initiator to peer (way back p50 {back})", note]))
    return [
        *head,
        format_ns(latency.get("p50")),
        format_ns(latency.get("p99")),
        format_ns(latency.get("p999")),
        format_rate(throughput.get("bytes_per_s")),
        format_rate(throughput.get("msgs_per_s"), "/s"),
        f"{format_ns(cpu.get('initiator'))} | {format_ns(cpu.get('peer'))}",
        note,
    ]


def _sweep_note(cell: dict[str, Any]) -> str:
    from ipcbench.workloads.openloop import knee

    sweep = cell["rate_sweep"]
    kept = [entry["offered_msgs_per_s"] for entry in sweep if entry["kept"]]
    bend = knee(sweep)
    return (
        f"stream capacity shown; rates kept up to {format_rate(max(kept), '/s') if kept else 'none'}; "
        f"p99 doubles at {format_rate(bend, '/s') if bend else 'no rate swept'} (see the sweep table)"
    )


def _offered(entry: dict[str, Any]) -> str:
    fraction = entry.get("fraction_of_capacity")
    share = f" ({fraction:.0%})" if isinstance(fraction, (int, float)) else ""
    return f"{format_rate(entry['offered_msgs_per_s'], '/s')}{share}"


def sweep_table(document: dict[str, Any]) -> Table | None:
    """The open-loop cells' rate sweeps: latency from the intended send time (corrected) and from the
    actual one, at each offered rate; a rate the pair could not keep says so."""
    cells = [cell for cell in document["cells"] if cell["status"] == "ok" and cell.get("rate_sweep")]
    if not cells:
        return None
    table = Table(title="open loop: latency against offered load (corrected: from the intended send time)")
    headers = ("mechanism", "impl", "size", "offered", "achieved", "kept", "p50", "p99", "p99.9", "max")
    for header in (*headers, "p50 uncorr.", "p99 uncorr."):
        table.add_column(header, justify="left" if header in ("mechanism", "impl") else "right")
    for cell in cells:
        head = [escape(cell_name(cell)), tier(cell), format_size(cell["size"])]
        for entry in cell["rate_sweep"]:
            latency, uncorrected = entry["latency_ns"], entry["latency_uncorrected_ns"]
            table.add_row(
                *head,
                _offered(entry),
                format_rate(entry["achieved_msgs_per_s"], "/s"),
                "yes" if entry["kept"] else "NOT KEPT",
                *(format_ns(latency[key]) for key in ("p50", "p99", "p999", "max")),
                format_ns(uncorrected["p50"]),
                format_ns(uncorrected["p99"]),
            )
            head = ["", "", ""]
    return table


def header_lines(document: dict[str, Any]) -> list[str]:
    from ipcbench import idle, wakeprobe
    from ipcbench.store import incomplete_reason

    machine = document["machine"]
    config = document["config"]
    lines = [
        f"machine {machine['name']}: {machine.get('cpu_model')}, {machine.get('cores')} cores, "
        f"kernel {machine.get('kernel')}, Python {machine.get('python')}",
        f"profile {config.get('profile')}, {config.get('repeats')} runs per cell, placement "
        f"{config.get('placement')}, status {document.get('status', 'complete')}, "
        f"created {document['created']}",
        f"tiers {', '.join(config.get('impls') or ['python'])}"
        + _native_note(config.get("native_tier") or {}),
        f"CPU idle: {idle.text(document)}",
    ]
    lines += [line for line in (wakeprobe.text(document), _shared_cpu_note(config)) if line]
    incomplete = incomplete_reason(document)  # a killed run's file is valid, but must not pass for whole
    return [*lines, incomplete] if incomplete else lines


def _native_note(native_tier: dict[str, Any]) -> str:
    reason = native_tier.get("reason")
    return f" (native tier unavailable: {reason})" if reason else ""


def _shared_cpu_note(config: dict[str, Any]) -> str | None:
    """Said when the run put both sides on one CPU although not asked to (only one CPU was usable)."""
    if config.get("placement") != "same-core" or config.get("pin") == "same":
        return None
    cpu = (config.get("pinning") or {}).get("initiator_cpu")
    return (
        f"both sides shared CPU {cpu}: it is the only CPU this run may use (taskset or a cpuset), so "
        f"--pin {config.get('pin')} placed them together, as --pin same does (a spinning waiter yields)"
    )
