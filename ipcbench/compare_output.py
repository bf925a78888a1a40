"""How ``ipcbench compare`` prints: a rich table on a terminal, Markdown for a CI job summary, JSON for
scripts. Every format carries the same facts: ratios with intervals, verdicts, the gate, and the notes that
qualify them (too few runs, different machines, unstable cells, where the noise floor comes from).

This module depends on ``compare`` (the comparison itself), never the reverse; the ``compare`` command,
which does both, lives here.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ipcbench import compare_noise, compare_probe, idle, outfile, stats
from ipcbench.compare import (
    BETWEEN,
    METRICS,
    CellResult,
    Change,
    Comparison,
    Session,
    gate_text,
    mechanism_text,
)
from ipcbench.compare_run import run, settings_from
from ipcbench.compare_text import (
    gate_lines,
    noise_notes,
    print_gate,
    ratio_text,
    regression_line,
    vacuous_reason,
    verdict_text,
)
from ipcbench.errors import EXIT_OK, EXIT_REGRESSION
from ipcbench.units import format_size

SHOWN = ("p50", "p99", "throughput")
STYLE = {
    "slower": "bold red",
    "unstable and slower": "bold red",
    "failed in NEW": "bold red",
    "faster": "green",
    "unstable: rerun": "yellow",
    compare_probe.UNDECIDED: "yellow",
    BETWEEN: "yellow",
}


def command(args: argparse.Namespace) -> int:
    """``ipcbench compare``: every input checked first, then compare, print, and gate."""
    if args.output is not None:
        outfile.check(args.output, "the comparison")
    comparison = run(
        args.base,
        args.new,
        settings_from(args),
        args.confirm,
        args.confirm_base,
        args.noise_from,
        args.noise_files,
    )
    text = render(comparison, args.format)
    if args.output is not None:
        outfile.write(text, args.output, "the comparison")
        print_gate(comparison)
    else:
        emit(text, args.format, comparison)
    return EXIT_REGRESSION if args.fail and comparison.failed else EXIT_OK


def column_title(name: str) -> str:
    """A ratio column's heading, with its direction: below 1 is better for latency, above 1 for throughput."""
    metric = METRICS[name]
    return f"{metric.title} ({'>' if metric.bigger_is_better else '<'}1 better)"


def render(comparison: Comparison, form: str) -> str:
    if form == "markdown":
        return markdown(comparison)
    if form == "json":
        return json.dumps(as_json(comparison), indent=1, allow_nan=False) + "\n"
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, no_color=True, highlight=False)
    for item in terminal(comparison):
        console.print(item)
    return buffer.getvalue()


def emit(text: str, form: str, comparison: Comparison) -> None:
    """Print to stdout: the table with colour (when stdout is a terminal), other formats as text."""
    if form != "table":
        print(text, end="")
        return
    # A CI log is not a terminal: rich would wrap at 80 columns and split every ratio over two lines.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    for item in terminal(comparison):
        console.print(item)


def method_text(comparison: Comparison) -> str:
    settings = comparison.settings
    return (
        f"Ratios are NEW/BASE, the median of the run-by-run ratios with its exact Mann-Whitney interval "
        f"(90% with 3 runs a side). A change is significant when a one-sided Mann-Whitney U test over the "
        f"runs gives p <= {settings.alpha:g} and its whole interval lies beyond {settings.threshold:.0%}; "
        f"the gate ({gate_text(settings)}) also needs its point to stand out of the session noise floor, "
        f"beyond the session-wide shift"
        + (", and out of its own between-file noise (--noise-from)." if comparison.between else ".")
    )


def idle_line(comparison: Comparison) -> str | None:
    """Said at the top of every format when the files differ in ``--cpu-idle``."""
    base, new = comparison.base, comparison.new
    if idle.policy_of(base) == idle.policy_of(new):
        return None
    return (
        f"CPU idle differs: BASE {idle.text(base)}, NEW {idle.text(new)}: blocking round trips are not "
        "comparable between the two; the ratios show the idle policy, not the code"
    )


def _side(comparison: Comparison, which: str, markdown: bool = False) -> str:
    path, document = (
        (comparison.base_path, comparison.base) if which == "BASE" else (comparison.new_path, comparison.new)
    )
    name = _md(document["machine"]["name"]) if markdown else document["machine"]["name"]
    where = f"`{path}`" if markdown else str(path)
    return f"{where} ({name}, profile {document['config'].get('profile')}, {document['created']})"


# ---- notes ---------------------------------------------------------------------------------------------


def notes(comparison: Comparison) -> list[str]:
    """What a reader must know before trusting the verdicts: said, never silently assumed."""
    base, new, settings = comparison.base, comparison.new, comparison.settings
    notes: list[str] = []
    if comparison.differences:
        notes.append(
            f"measured differently ({'; '.join(comparison.differences)}): the changes below include that "
            "difference, and the session noise floor is not used to explain them away"
        )
    if idle.policy_of(base) != idle.policy_of(new):
        notes.append(
            f"different CPU idle policies (BASE {idle.text(base)}, NEW {idle.text(new)}): blocking round "
            "trips are not comparable between them; the ratios show the idle policy, not the code"
        )
    vacuous = vacuous_reason(comparison)
    if vacuous:
        notes.append(vacuous)
    names = (base["machine"].get("name"), new["machine"].get("name"))
    if _hardware(base) != _hardware(new):
        notes.append(
            "different machines: ratios include the hardware and system, not only the code "
            "(fingerprints side by side below)"
        )
    elif names[0] != names[1]:
        notes.append(
            f"different machine names ({names[0]} vs {names[1]}) with the same CPU model, cores, kernel "
            "and virtualisation (fingerprints side by side below)"
        )
    profiles = (base["config"].get("profile"), new["config"].get("profile"))
    if profiles[0] != profiles[1]:
        notes.append(
            f"different profiles ({profiles[0]} vs {profiles[1]}): run lengths and repeats differ; "
            "like cells are still compared"
        )
    for side, document in (("BASE", base), ("NEW", new)):
        if document.get("status", "complete") != "complete":
            notes.append(f"{side} is {document.get('status')}: it may lack cells")
    run_counts = sorted(
        {
            (len(c.base["runs"]), len(c.new["runs"]))
            for c in comparison.cells
            if c.changes and c.base and c.new
        }
    )
    for n_base, n_new in run_counts:
        lowest = stats.smallest_p(n_base, n_new)
        reach = "can reach" if lowest <= settings.alpha * (1 + 1e-9) else "can never reach"
        notes.append(
            f"{n_base} vs {n_new} runs per cell: the smallest possible one-sided p-value is "
            f"{lowest:.3g}, which {reach} alpha {settings.alpha:g}"
        )
    for kind in ("only in BASE", "only in NEW"):
        one_sided = [c.name for c in comparison.cells if c.verdict == kind]
        if one_sided:
            more = " ..." if len(one_sided) > 8 else ""
            notes.append(f"{len(one_sided)} cell(s) {kind}: {', '.join(one_sided[:8])}{more}")
    unstable = [c.name for c in comparison.cells if c.verdict == "unstable: rerun"]
    if unstable:
        notes.append(
            f"{len(unstable)} unstable cell(s) not judged unless clearly slower; rerun to judge them"
        )
    notes.extend(compare_probe.notes(comparison))
    notes.extend(noise_notes(comparison.noise, settings))
    notes.extend(compare_noise.notes(comparison))
    return notes


FINGERPRINT = (
    "name",
    "cpu_model",
    "cores",
    "smt",
    "kernel",
    "python",
    "virtualization",
    "clocksource",
    "governor",
)


def _hardware(document: dict[str, Any]) -> tuple[Any, ...]:
    machine = document["machine"]
    return tuple(machine.get(key) for key in ("cpu_model", "cores", "kernel", "virtualization"))


def fingerprints(comparison: Comparison) -> list[tuple[str, str, str]]:
    """(field, BASE, NEW) for the machine and run settings, for a side-by-side table."""
    rows = []
    for key in FINGERPRINT:
        rows.append((key, str(comparison.base["machine"].get(key)), str(comparison.new["machine"].get(key))))
    for key in ("profile", "repeats", "placement"):
        rows.append((key, str(comparison.base["config"].get(key)), str(comparison.new["config"].get(key))))
    for key in ("created", "label", "ipcbench_version"):
        rows.append((key, str(comparison.base.get(key)), str(comparison.new.get(key))))
    return rows


# ---- terminal -----------------------------------------------------------------------------------------


def terminal(comparison: Comparison) -> list[Any]:
    title = f"BASE {_side(comparison, 'BASE')}\nNEW  {_side(comparison, 'NEW')}"
    idle_note = idle_line(comparison)
    table = Table(title=escape(title + (f"\n{idle_note}" if idle_note else "")))
    for header, justify in (
        ("mechanism", "left"),
        ("workload", "left"),
        ("size", "right"),
        *((column_title(name), "right") for name in SHOWN),
        ("verdict", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for cell in comparison.cells:
        transport, variant, workload, size, impl = cell.key
        ratios = [escape(ratio_text(cell.changes.get(name))) for name in SHOWN]
        table.add_row(
            escape(mechanism_text(transport, variant, impl)),
            workload,
            format_size(size),
            *ratios,
            escape(verdict_text(cell)),
            style=STYLE.get(cell.verdict),
        )
    items: list[Any] = [table, escape(method_text(comparison))]
    items.extend(escape(f"note: {note}") for note in notes(comparison))
    if any(note.startswith("different machine") for note in notes(comparison)):
        machines = Table(title="machines")
        for header in ("", "BASE", "NEW"):
            machines.add_column(header)
        for key, base, new in fingerprints(comparison):
            machines.add_row(key, escape(base), escape(new), style="bold" if base != new else None)
        items.append(machines)
    items.extend(escape(line) for line in gate_lines(comparison))
    return items


# ---- markdown -----------------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(comparison: Comparison) -> str:
    regressions = comparison.regressions
    status = f"FAIL, {len(regressions)} regression(s)" if regressions else "pass"
    lines = [
        f"## ipcbench compare: {status}",
        "",
        f"**BASE** {_side(comparison, 'BASE', markdown=True)}  ",
        f"**NEW** {_side(comparison, 'NEW', markdown=True)}",
        *([] if (idle_note := idle_line(comparison)) is None else ["", f"**{_md(idle_note)}**"]),
        "",
        method_text(comparison) + " **Bold**: a significant change beyond the threshold.",
        "",
        "| mechanism | workload | size | " + " | ".join(column_title(n) for n in SHOWN) + " | verdict |",
        "|:--|:--|--:|--:|--:|--:|:--|",
    ]
    for cell in comparison.cells:
        transport, variant, workload, size, impl = cell.key
        ratios = [_md_ratio(cell.changes.get(name)) for name in SHOWN]
        verdict = _md(verdict_text(cell))
        if cell.regressed:
            verdict = f"**{verdict}**"
        lines.append(
            f"| {mechanism_text(transport, variant, impl)} | {workload} | {format_size(size)} | "
            + " | ".join(ratios)
            + f" | {verdict} |"
        )
    gate = gate_lines(comparison)
    lines += ["", "### Gate", "", f"**{_md(gate[0])}**", ""]
    lines += [f"- {_md(line.strip())}" for line in gate[1:]]
    lines += ["", "### Notes", ""]
    lines += [f"- {_md(note)}" for note in notes(comparison)]
    lines += ["", "<details><summary>Machines and runs</summary>", "", "| | BASE | NEW |", "|:--|:--|:--|"]
    for key, base, new in fingerprints(comparison):
        shown = f"**{_md(new)}**" if new != base else _md(new)
        lines.append(f"| {key} | {_md(base)} | {shown} |")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _md_ratio(change: Change | None) -> str:
    text = ratio_text(change)
    return f"**{text}**" if change is not None and change.verdict in ("slower", "faster") else text


# ---- json ---------------------------------------------------------------------------------------------


def as_json(comparison: Comparison) -> dict[str, Any]:
    settings = comparison.settings
    return {
        "base": _file_json(comparison, "BASE"),
        "new": _file_json(comparison, "NEW"),
        "cpu_idle_differs": idle_line(comparison),
        "settings": {
            "threshold": settings.threshold,
            "alpha": settings.alpha,
            "gate_metrics": list(settings.gate_metrics),
            "noise_z": settings.noise_z,
            "shift_threshold": settings.shift_threshold,
        },
        "gate": "fail" if comparison.failed else "pass",
        "regressions": [
            {**_key_json(cell), "detail": cell.detail, "line": regression_line(cell, settings)}
            for cell in comparison.regressions
        ],
        "unconfirmed": comparison.unconfirmed,
        "noise_floors": {f"{w}/{m}": session.floor for (w, m), session in comparison.noise.items()},
        "sessions": {f"{w}/{m}": _session_json(session) for (w, m), session in comparison.noise.items()},
        "shifted": [f"{w}/{m}" for w, m in comparison.shifted],
        "wake_probes": compare_probe.as_json(comparison),
        "between_files": compare_noise.as_json(comparison),
        "differences": comparison.differences,
        "notes": notes(comparison),
        "cells": [_cell_json(cell) for cell in comparison.cells],
    }


def _file_json(comparison: Comparison, which: str) -> dict[str, Any]:
    path, document = (
        (comparison.base_path, comparison.base) if which == "BASE" else (comparison.new_path, comparison.new)
    )
    return {
        "file": str(path),
        "created": document["created"],
        "label": document.get("label"),
        "machine": document["machine"],
        "profile": document["config"].get("profile"),
        "repeats": document["config"].get("repeats"),
        "placement": document["config"].get("placement"),
        "cpu_idle": idle.policy_of(document),
    }


def _key_json(cell: CellResult) -> dict[str, Any]:
    transport, variant, workload, size, impl = cell.key
    return {
        "name": cell.name,
        "transport": transport,
        "variant": variant,
        "workload": workload,
        "size": size,
        "impl": impl,
    }


def _cell_json(cell: CellResult) -> dict[str, Any]:
    unstable = bool(cell.base and cell.base.get("unstable")) or bool(cell.new and cell.new.get("unstable"))
    metrics = {name: _change_json(change) for name, change in cell.changes.items()}
    return {
        **_key_json(cell),
        "verdict": cell.verdict,
        "detail": cell.detail,
        "regressed": cell.regressed,
        "unstable": unstable,
        "metrics": metrics,
        "relative_to_probe": {name: _change_json(change) for name, change in cell.relative.items()},
    }


def _session_json(session: Session) -> dict[str, Any]:
    return {
        "cells": session.cells,
        "shift": session.shift if session.shift_ci is not None else None,
        "shift_interval": session.shift_ci,
        "shift_level": session.shift_level,
        "scatter": session.scatter,
        "scatter_measured": session.measured,
        "floor": session.floor,
    }


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "ratio": change.ratio,
        "ci95": change.ci,
        "ci_level": change.level,
        "p_slower": change.p_slower,
        "p_faster": change.p_faster,
        "slowdown": change.slowdown,
        "noise_floor": change.noise_floor,
        "between_floor": change.between_floor,
        "held_by_between_files": change.held,
        "verdict": change.verdict,
    }
