"""``ipcbench verdicts FILE...``: the report's verdicts on the four claims, as a table, markdown or JSON.

The same ``verdicts.verdicts`` the HTML report shows, so CI can assert a claim without parsing a page:
``jq '.claims[] | select(.claim == 4) | .outcome'``. One file gives one object
``{"file", "machine", "created", "claims": [{"claim", "statement", "outcome", "headline", "cases": [...]}]}``;
several files give a list of them. A case is ``{"mechanisms": [subject, baseline], "workload", "size",
"metric", "outcome", "ratio", "interval", "level", "reason"}``: ``ratio`` is the speed-up of the first
mechanism over the second (above 1: faster), ``interval`` its interval (null without one) and ``level``
the interval's coverage.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ipcbench import store
from ipcbench.errors import InputError
from ipcbench.report.ratios import times
from ipcbench.report.runs import Run, load_runs, size_text
from ipcbench.report.verdicts import Finding, Verdict, verdicts

FORMATS = ("table", "markdown", "json")


def case_record(finding: Finding) -> dict[str, Any]:
    comparison = finding.deciding or finding.evidence[0]
    return {
        "mechanisms": [comparison.subject, comparison.baseline],
        "workload": finding.workload,
        "size": finding.size,
        "metric": comparison.metric,
        "outcome": finding.outcome,
        "ratio": comparison.speedup,
        "interval": list(comparison.ci) if comparison.ci else None,
        "level": comparison.level,
        "reason": finding.reason or None,
        "runs_to_decide": finding.runs_needed,
    }


def run_record(run: Run, found: list[Verdict]) -> dict[str, Any]:
    return {
        "file": str(run.path),
        "machine": run.machine,
        "created": run.created,
        "claims": [
            {
                "claim": verdict.claim,
                "statement": verdict.statement,
                "outcome": verdict.status,
                "headline": verdict.headline,
                "notes": list(verdict.notes),
                "cases": [case_record(finding) for finding in verdict.findings],
            }
            for verdict in found
        ],
    }


def _case_line(finding: Finding) -> list[str]:
    comparison = finding.deciding or finding.evidence[0]
    interval = f"[{times(comparison.ci[0])}, {times(comparison.ci[1])}]" if comparison.ci else "-"
    level = f"{comparison.level:.0%}" if comparison.level is not None else "-"
    return [
        f"{comparison.subject} vs {comparison.baseline}",
        f"{finding.workload} {size_text(finding.size)}",
        finding.outcome,
        f"{times(comparison.speedup)}x",
        f"{interval} {level}",
        finding.reason,
    ]


HEADER = ["case", "cell", "outcome", "speed-up", "interval", "why"]


def render_markdown(run: Run, found: list[Verdict]) -> str:
    lines = [f"## Verdicts: {run.title}", ""]
    for verdict in found:
        lines += [f"### Claim {verdict.claim}: {verdict.status}", "", verdict.headline, ""]
        if verdict.findings:
            lines += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
            lines += ["| " + " | ".join(_case_line(f)) + " |" for f in verdict.findings]
            lines.append("")
        lines += [f"- {note}" for note in verdict.notes] + ([""] if verdict.notes else [])
    return "\n".join(lines)


def render_table(run: Run, found: list[Verdict]) -> str:
    lines = [f"verdicts: {run.title}"]
    for verdict in found:
        lines += ["", f"claim {verdict.claim}: {verdict.status.upper()}: {verdict.headline}"]
        rows = [HEADER] + [_case_line(f) for f in verdict.findings]
        widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
        lines += (
            [
                "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
                for row in rows
            ]
            if verdict.findings
            else []
        )
        lines += [f"  note: {note}" for note in verdict.notes]
    return "\n".join(lines)


def render(runs: list[Run], form: str) -> str:
    per_run = [(run, verdicts(run)) for run in runs]
    if form == "json":
        records = [run_record(run, found) for run, found in per_run]
        return json.dumps(records[0] if len(records) == 1 else records, indent=2)
    draw = render_markdown if form == "markdown" else render_table
    return "\n\n".join(draw(run, found) for run, found in per_run) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help="result files, or folders to search for them")
    parser.add_argument("--format", choices=FORMATS, default="table")


def command(args: argparse.Namespace) -> int:
    files = store.find_results(list(args.paths))
    if not files:
        raise InputError(f"no result files in {', '.join(str(p) for p in args.paths)}")
    print(render(load_runs(files), args.format), end="" if args.format != "json" else "\n")
    return 0
