"""The two tiers in the verdicts: each claim is judged on the native tier (the kernel mechanism's floor)
and on the Python tier (what a Python program gets), and where they disagree the report says why.

The four claims are about kernel mechanisms, so the native verdict answers the textbook; the Python verdict
answers a Python programmer. They disagree when Python's own cost per message, which is about the same for
every mechanism, is as large as the differences between mechanisms: it compresses the ratios the claims
are about (or, for a spinning pair, it is most of what is measured).
"""

from __future__ import annotations

import statistics

from ipcbench.report.ladder import rungs
from ipcbench.report.runs import Run, size_text
from ipcbench.report.verdicts import Verdict
from ipcbench.units import format_ns


def tier_views(run: Run) -> list[Run]:
    """The run seen through each tier it measured, native first (the claims are about mechanisms)."""
    tiers = run.tiers or [run.tier]
    return [run.in_tier(tier) for tier in sorted(tiers, key=lambda tier: tier != "native")]


def tier_agreement(python: Run, verdict: Verdict, native: Verdict) -> str:
    """One sentence: the two tiers agree on the claim, or they do not, and why."""
    if verdict.status == native.status:
        return f"Both tiers agree: {native.status} for the mechanism and for a Python program."
    text = (
        f"The tiers disagree: for the mechanism (native) the claim {_says(native.status)}; "
        f"for a Python program it {_says(verdict.status)}."
    )
    only_native = _cases(native) - _cases(verdict)
    if only_native and _answers(native, _cases(verdict)) == _answers(verdict, _cases(verdict)):
        subjects = sorted({subject for subject, _ in only_native})
        return (
            f"{text} On the cases both tiers measured they agree; the native verdict also judges "
            f"{', '.join(subjects)}, which only the native tier can run (a process-shared mutex lives in C)."
        )
    return f"{text} {python_cost(python)}".strip()


def _cases(verdict: Verdict) -> set[tuple[str, int]]:
    return {(finding.subject, finding.size) for finding in verdict.findings}


def _answers(verdict: Verdict, cases: set[tuple[str, int]]) -> list[bool | None]:
    return [
        f.holds
        for f in sorted(verdict.findings, key=lambda f: (f.subject, f.size))
        if (f.subject, f.size) in cases
    ]


def _says(status: str) -> str:
    return {"holds": "holds", "holds partly": "holds partly", "does not hold": "does not hold"}.get(
        status, f"is {status}"
    )


def python_cost(run: Run) -> str:
    """What the Python tier adds per round trip at the smallest size, across mechanisms (from the ladder)."""
    found = [r for r in rungs(run) if r.workload == "pingpong"]
    if not found:
        return ""
    size = min(r.size for r in found)
    at = [r for r in found if r.size == size]
    extra = statistics.median(r.extra_ns for r in at)
    share = statistics.median(r.python_share for r in at)
    return (
        f"Python adds a median {format_ns(extra)} per round trip at {size_text(size)} ({share:.0%} of the "
        "Python figure), about the same for every mechanism: a constant added to both sides of a ratio "
        "pulls it towards 1, so differences between mechanisms that are real in C shrink or vanish in Python."
    )
