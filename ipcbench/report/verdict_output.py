"""``ipcbench verdicts FILE...``: the report's verdicts on the four claims, as a table, markdown or JSON.

The same ``verdicts.verdicts`` the HTML report shows, per tier as it shows them (native first: the
mechanism; then Python: what a Python program gets), so CI can assert a claim without parsing a page:
``jq '.claims[] | select(.claim == 4 and .impl == "native") | .outcome'``. One file gives one object
``{"file", "machine", "created", "tiers", "claims": [{"claim", "impl", "statement", "outcome", "headline",
"agreement", "cases": [...]}]}``; several files give a list of them. ``agreement`` (Python claims of a file
with both tiers) says whether the tiers agree, and why not. A case is ``{"impl", "mechanisms": [subject,
baseline], "workload", "size", "metric", "outcome", "ratio", "interval", "level", "reason"}``: ``ratio`` is
the speed-up of the first mechanism over the second (above 1: faster), ``interval`` its interval (null
without one) and ``level`` the interval's coverage.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ipcbench import store
from ipcbench.errors import InputError
from ipcbench.report.ratios import times
from ipcbench.report.runs import TIER_NAMES, Run, load_runs, size_text
from ipcbench.report.verdicts import Finding, Verdict, verdicts

FORMATS = ("table", "markdown", "json")


Judged = tuple[Run, list[Verdict]]  # one tier's view of a file, and its verdicts


def judge(run: Run) -> list[Judged]:
    """The verdicts of each tier the file measured, native first, as the report shows them."""
    from ipcbench.report.tiers import tier_views  # here: it draws on the ladder, which imports matplotlib

    return [(view, verdicts(view)) for view in tier_views(run)]


def case_record(finding: Finding, impl: str) -> dict[str, Any]:
    comparison = finding.deciding or finding.evidence[0]
    return {
        "impl": impl,
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


def _agreements(judged: list[Judged]) -> dict[tuple[str, int], str]:
    """(tier, claim) -> whether the Python tier agrees with the native one, and why not (``tiers``)."""
    from ipcbench.report.tiers import tier_agreement

    native = {verdict.claim: verdict for view, found in judged if view.tier == "native" for verdict in found}
    return {
        (view.tier, verdict.claim): tier_agreement(view, verdict, native[verdict.claim])
        for view, found in judged
        if view.tier == "python" and native
        for verdict in found
    }


def run_record(run: Run, judged: list[Judged]) -> dict[str, Any]:
    agreements = _agreements(judged)
    return {
        "file": str(run.path),
        "machine": run.machine,
        "created": run.created,
        "tiers": [view.tier for view, _ in judged],
        "claims": [
            {
                "claim": verdict.claim,
                "impl": view.tier,
                "statement": verdict.statement,
                "outcome": verdict.status,
                "headline": verdict.headline,
                "agreement": agreements.get((view.tier, verdict.claim)),
                "notes": list(verdict.notes),
                "cases": [case_record(finding, view.tier) for finding in verdict.findings],
            }
            for view, found in judged
            for verdict in found
        ],
    }


def _case_line(finding: Finding, impl: str) -> list[str]:
    comparison = finding.deciding or finding.evidence[0]
    interval = f"[{times(comparison.ci[0])}, {times(comparison.ci[1])}]" if comparison.ci else "-"
    level = f"{comparison.level:.0%}" if comparison.level is not None else "-"
    return [
        impl,
        f"{comparison.subject} vs {comparison.baseline}",
        f"{finding.workload} {size_text(finding.size)}",
        finding.outcome,
        f"{times(comparison.speedup)}x",
        f"{interval} {level}",
        finding.reason,
    ]


HEADER = ["impl", "case", "cell", "outcome", "speed-up", "interval", "why"]


def render_markdown(run: Run, judged: list[Judged]) -> str:
    lines = [f"## Verdicts: {run.title}", ""]
    agreements = _agreements(judged)
    for view, found in judged:
        lines += [f"### {TIER_NAMES[view.tier]}", ""]
        for verdict in found:
            lines += [f"#### Claim {verdict.claim} [{view.tier}]: {verdict.status}", "", verdict.headline, ""]
            if (agreement := agreements.get((view.tier, verdict.claim))) is not None:
                lines += [agreement, ""]
            if verdict.findings:
                lines += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
                lines += ["| " + " | ".join(_case_line(f, view.tier)) + " |" for f in verdict.findings]
                lines.append("")
            lines += [f"- {note}" for note in verdict.notes] + ([""] if verdict.notes else [])
    return "\n".join(lines)


def render_table(run: Run, judged: list[Judged]) -> str:
    lines = [f"verdicts: {run.title}"]
    agreements = _agreements(judged)
    for view, found in judged:
        lines += ["", f"{TIER_NAMES[view.tier]}:"]
        for verdict in found:
            lines += [
                "",
                f"claim {verdict.claim} [{view.tier}]: {verdict.status.upper()}: {verdict.headline}",
            ]
            if (agreement := agreements.get((view.tier, verdict.claim))) is not None:
                lines.append(f"  {agreement}")
            rows = [HEADER] + [_case_line(f, view.tier) for f in verdict.findings]
            widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
            if verdict.findings:
                lines += [
                    "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
                    for row in rows
                ]
            lines += [f"  note: {note}" for note in verdict.notes]
    return "\n".join(lines)


def render(runs: list[Run], form: str) -> str:
    per_run = [(run, judge(run)) for run in runs]
    if form == "json":
        records = [run_record(run, judged) for run, judged in per_run]
        return json.dumps(records[0] if len(records) == 1 else records, indent=2)
    draw = render_markdown if form == "markdown" else render_table
    return "\n\n".join(draw(run, judged) for run, judged in per_run) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help="result files, or folders to search for them")
    parser.add_argument("--format", choices=FORMATS, default="table")


def command(args: argparse.Namespace) -> int:
    files = store.find_results(list(args.paths))
    if not files:
        raise InputError(f"no result files in {', '.join(str(p) for p in args.paths)}")
    print(render(load_runs(files), args.format), end="" if args.format != "json" else "\n")
    return 0
