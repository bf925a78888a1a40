"""Verdicts on the four claims of DESIGN.md, computed from one run's stored figures and nothing else.

Pure functions: a ``Run`` in, ``Verdict`` objects out, no I/O and no plotting, so every rule is testable on
hand-made documents. The building block is a ``ratios.Speedup``: a speed-up of one mechanism over
another at one size, with its interval, which ``Speedup.decide`` answers with holds, refuted or
inconclusive (and why).

Each claim is broken into ``Finding``s (one mechanism, or pair, at one size), each with one of those three
outcomes. The claim "holds" when every decided case holds, is "refuted" when every decided case is
refuted, "holds partly" when both occur, and is "inconclusive" when no case is decided, saying roughly how
many runs per cell would decide one. Explanations are attached only when the data shows what they explain.
``verdict_output`` prints them (``ipcbench verdicts``), as the report shows them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from ipcbench.report.claim_notes import buffers_note, inplace_note, race_note
from ipcbench.report.ratios import (
    HOLDS,
    INCONCLUSIVE,
    LOWER_IS_BETTER,
    MOST_RUNS,
    REFUTED,
    Speedup,
    compare,
    times,
)
from ipcbench.report.runs import Run, cores_busy, cpu_per_message, size_text
from ipcbench.report.style import is_shared_memory, is_tuned, ordered, rank
from ipcbench.units import format_ns

# Claim 4: two APIs perform "alike" when the whole interval of their ratio lies within this band around 1
# (an equivalence test); claims 1-3 are refuted where the interval lies within it (no real advantage).
# Run-to-run variation of a cell is typically a few percent, so 10% separates noise from a difference a
# user would care about.
TOLERANCE = 0.10
# Claim 2: a "large" transfer is at least this big (a pipe's default buffer); a "frequent" one is small.
LARGE = 64 << 10
SMALL = 4 << 10

PARTLY, UNTESTED = "holds partly", "not tested"  # besides HOLDS, REFUTED and INCONCLUSIVE

CLAIMS = {
    1: "Shared memory is faster than pipes, sockets and message queues, because data is exchanged without "
    "kernel intervention after setup.",
    2: "Shared memory is ideal for large or frequent transfers.",
    3: "Shared memory needs synchronisation (semaphores or mutexes), and that synchronisation has a cost.",
    4: "SysV and POSIX shared memory are two APIs for the same thing, so they should perform alike.",
}


@dataclass(frozen=True)
class Finding:
    """One piece of a claim (a mechanism or pair at one size) and whether the claim holds there."""

    subject: str
    size: int
    outcome: str  # HOLDS, REFUTED or INCONCLUSIVE
    evidence: tuple[Speedup, ...]  # what is shown; ``deciding`` is among them
    note: str = ""
    reason: str = ""  # why it is refuted or inconclusive ("interval too wide: it spans 1", ...)
    deciding: Speedup | None = None  # the comparison the outcome rests on
    runs_needed: int | None = None  # roughly how many runs per cell would decide an inconclusive case

    @property
    def holds(self) -> bool | None:
        """True, False, or None when inconclusive."""
        return {HOLDS: True, REFUTED: False}.get(self.outcome)

    @property
    def workload(self) -> str:
        comparison = self.deciding or self.evidence[0]
        return "pingpong" if comparison.metric in LOWER_IS_BETTER else "stream"


def decided(comparison: Speedup, question: str, subject: str, note: str = "") -> Finding:
    """A finding resting on one comparison, answered for ``question`` ("faster", "slower", "alike")."""
    outcome, reason = comparison.decide(question, TOLERANCE)
    wide = outcome == INCONCLUSIVE and comparison.ci is not None and not comparison.unstable
    needed = comparison.runs_to_decide(question, TOLERANCE) if wide else None
    return Finding(subject, comparison.size, outcome, (comparison,), note, reason, comparison, needed)


@dataclass(frozen=True)
class Verdict:
    claim: int
    statement: str
    status: str  # HOLDS, PARTLY, REFUTED, INCONCLUSIVE or UNTESTED
    headline: str
    notes: tuple[str, ...]
    findings: tuple[Finding, ...]


def verdicts(run: Run) -> list[Verdict]:
    """The four verdicts for one run, in the order of DESIGN.md. The claims are about kernel mechanisms:
    library-layer cells (multiprocessing, pyzmq, plugins) are left out of every one of them."""
    run = run.only_layer("kernel")
    return [claim_faster(run), claim_large_or_frequent(run), claim_sync_cost(run), claim_apis_alike(run)]


# ---- claim 1: faster than everything else ---------------------------------------------------------------


def _beats_all(run: Run, label: str, size: int, metric: str, untuned: bool = False) -> Finding | None:
    """Whether ``label`` is faster than every other (non-shm) mechanism at ``size``: refuted by any rival
    it does not beat, held when it beats them all, else inconclusive on the first rival left undecided
    (``untuned``: against the rivals measured with their default buffers only)."""
    workload = "pingpong" if metric in LOWER_IS_BETTER else "stream"
    rivals = [r for r in ordered(run.labels(workload)) if not is_shared_memory(r)]
    rivals = [r for r in rivals if not (untuned and is_tuned(r))]
    found = [decided(c, "faster", label) for r in rivals if (c := compare(run, label, r, metric, size))]
    if not found:
        return None
    evidence = [f.evidence[0] for f in found]
    closest = min(evidence, key=lambda c: c.speedup)
    shown = [c for c in evidence if c.baseline == "pipe"]
    shown += [closest] if closest not in shown else []
    deciding = next((f for f in found if f.outcome == REFUTED), None) or next(
        (f for f in found if f.outcome == INCONCLUSIVE), None
    )
    if deciding is None:
        deciding = next(f for f in found if f.evidence[0] is closest)
    elif deciding.evidence[0] not in shown:
        shown.append(deciding.evidence[0])
    note = f"closest rival: {closest.baseline}"
    return replace(deciding, evidence=tuple(shown), note=note)


def _shm_findings(run: Run, metric: str, sizes: list[int], untuned: bool = False) -> list[Finding]:
    workload = "pingpong" if metric in LOWER_IS_BETTER else "stream"
    labels = [label for label in ordered(run.labels(workload)) if is_shared_memory(label)]
    found = [_beats_all(run, label, size, metric, untuned) for label in labels for size in sizes]
    return [finding for finding in found if finding is not None]


def claim_faster(run: Run) -> Verdict:
    findings = _shm_findings(run, "latency", run.sizes("pingpong"))
    notes = [note for note in (_sem_note(findings), _spin_note(findings), _shrink_note(run)) if note]
    return _verdict(1, findings, notes, "shared-memory round trips against pipes, sockets and queues")


def _sem_note(findings: list[Finding]) -> str:
    """Where semaphore shared memory is no faster than a pipe: the two wake-ups it shares with a pipe."""
    slow: dict[str, list[int]] = {}
    for finding in findings:
        versus_pipe = [c for c in finding.evidence if c.baseline == "pipe"]
        small = finding.size <= SMALL
        lost = versus_pipe and versus_pipe[0].decide("faster", TOLERANCE)[0] == REFUTED
        if small and finding.subject.endswith("/sem") and lost:
            slow.setdefault(finding.subject, []).append(finding.size)
    if not slow:
        return ""
    where = "; ".join(f"{label} at {_sizes_list(sizes)}" for label, sizes in slow.items())
    return (
        f"With semaphores, shared memory is no faster than a pipe ({where}): a semaphore wait sleeps in "
        "the kernel just as a pipe read does, so both pay two wake-ups per round trip."
    )


def _spin_note(findings: list[Finding]) -> str:
    spinning = sorted({f.subject for f in findings if f.subject.endswith("/spin") and f.outcome == HOLDS})
    if not spinning:
        return ""
    return (
        f"{' and '.join(spinning)} win by polling a flag in the segment: no system call and no wake-up after "
        "setup, which is what the claim describes. The price is a CPU kept busy on each side (claim 3)."
    )


def _shrink_note(run: Run) -> str:
    """The lead of the fastest shared-memory variant over a pipe, smallest size against largest."""
    sizes = run.sizes("pingpong")
    labels = [label for label in ordered(run.labels("pingpong")) if is_shared_memory(label)]
    if len(sizes) < 2 or not labels or "pipe" not in run.labels("pingpong"):
        return ""
    first = [c for label in labels if (c := compare(run, label, "pipe", "latency", sizes[0]))]
    if not first:
        return ""
    best = max(first, key=lambda c: c.speedup)
    last = compare(run, best.subject, "pipe", "latency", sizes[-1])
    if last is None or last.speedup >= best.speedup:
        return ""
    return (
        f"{best.subject}'s lead over pipe shrinks from {times(best.speedup)}x at {size_text(sizes[0])} to "
        f"{times(last.speedup)}x at {size_text(sizes[-1])}: for large messages, copying the payload (which "
        "every mechanism must do) dominates the cost of getting the kernel involved."
    )


# ---- claim 2: large or frequent transfers ---------------------------------------------------------------


def claim_large_or_frequent(run: Run) -> Verdict:
    sizes = run.sizes("stream")
    large, small = [s for s in sizes if s >= LARGE], [s for s in sizes if s <= SMALL]
    large_findings = _shm_findings(run, "throughput", large)
    small_findings = _shm_findings(run, "msgs", small)
    outcomes = {(f.subject, f.size): f.outcome for f in large_findings + small_findings}
    notes = [
        _part_note(f"Large transfers ({size_text(LARGE)} and more, stream bytes/s)", large_findings),
        _part_note(
            f"Frequent small messages ({size_text(SMALL)} and less, stream messages/s)", small_findings
        ),
        _skipped_rivals_note(run, large),
        buffers_note(run, large or small),
        _tuning_note(run, [("throughput", large), ("msgs", small)], large_findings + small_findings),
        inplace_note(run, large or small, outcomes),
    ]
    if not large:
        notes.append(
            f"No size of {size_text(LARGE)} or more was measured: run with --sizes including 1M to "
            "test large transfers."
        )
    findings = sorted(large_findings + small_findings, key=lambda f: (rank(f.subject), f.size))
    return _verdict(2, findings, [n for n in notes if n], "shared-memory stream throughput")


def _part_note(title: str, findings: list[Finding]) -> str:
    if not findings:
        return ""
    held = sum(1 for f in findings if f.outcome == HOLDS)
    undecided = sum(1 for f in findings if f.outcome == INCONCLUSIVE)
    rest = f" ({undecided} inconclusive)" if undecided else ""
    return f"{title}: shared memory beats every other mechanism in {held} of {len(findings)} cases{rest}."


def _tuning_note(run: Run, parts: list[tuple[str, list[int]]], findings: list[Finding]) -> str:
    """With rivals measured with tuned buffers too (``--tune pipe_buffer=default,1M``): whether counting
    them changes any case, and the verdict, against judging by the default buffers alone."""
    rivals = sorted(r for r in run.labels("stream") if is_tuned(r) and not is_shared_memory(r))
    if not rivals or not findings:
        return ""
    untuned = [f for metric, sizes in parts for f in _shm_findings(run, metric, sizes, untuned=True)]
    before = {(f.subject, f.size): f.outcome for f in untuned}
    changed = [
        f"{f.subject} at {size_text(f.size)} {before.get((f.subject, f.size), UNTESTED)} with default "
        f"buffers, {f.outcome} with the tuned rivals ({f.note})"
        for f in findings
        if before.get((f.subject, f.size)) != f.outcome
    ]
    counted = f"counting the tuned rivals ({', '.join(rivals)})"
    if not changed:
        return f"Tuning does not change the verdict: {counted} leaves every case as with default buffers."
    was, now = _summary(untuned, "")[0], _summary(findings, "")[0]
    verdict = f"changes the verdict from {was} to {now}" if was != now else f"leaves the verdict {now}"
    return f"Tuning {verdict}, {counted}, and changes {len(changed)} case(s): {'; '.join(changed)}."


def _skipped_rivals_note(run: Run, sizes: list[int]) -> str:
    skipped = {
        c["transport"] for c in run.document["cells"] if c["status"] == "skipped" and c["size"] in sizes
    }
    if not skipped:
        return ""
    names = ", ".join(ordered(skipped))
    return (
        f"{names} could not carry the largest sizes here (skipped, see the skipped cells), so they are "
        "not in those comparisons."
    )


# ---- claim 3: synchronisation has a cost ----------------------------------------------------------------


def _apis(run: Run, workload: str) -> list[str]:
    """Shared-memory APIs measured with both a semaphore and a spinning variant."""
    labels = run.labels(workload)
    apis = dict.fromkeys(label.split("/")[0] for label in ordered(labels) if is_shared_memory(label))
    return [api for api in apis if f"{api}/sem" in labels and f"{api}/spin" in labels]


def _sync_finding(run: Run, api: str, size: int, wait: str = "sem") -> Finding | None:
    """A blocking variant (``sem``, or ``mutex``: native tier only) against spinning, at one size."""
    sem, spin = f"{api}/{wait}", f"{api}/spin"
    evidence = [
        c for metric in ("latency", "throughput") if (c := compare(run, sem, spin, metric, size)) is not None
    ]
    if not evidence:
        return None
    subject = api if wait == "sem" else f"{api} ({wait})"
    finding = decided(evidence[0], "slower", subject, _cpu_text(run, sem, spin, size))
    return replace(finding, evidence=tuple(evidence))


def _cpu_text(run: Run, sem: str, spin: str, size: int) -> str:
    cells = [run.cell(label, "pingpong", size) for label in (sem, spin)]
    if any(cell is None for cell in cells):
        return ""
    cpu = [cpu_per_message(cell) for cell in cells if cell]
    busy = [cores_busy(cell) for cell in cells if cell]
    if None in cpu or None in busy:
        return ""
    wait = sem.rsplit("/", 1)[-1]
    return (
        f"CPU per round trip: {wait} {format_ns(cpu[0])}, spin {format_ns(cpu[1])}; "
        f"CPUs kept busy: {wait} {busy[0]:.2f}, spin {busy[1]:.2f}"
    )


def claim_sync_cost(run: Run) -> Verdict:
    apis = _apis(run, "pingpong") or _apis(run, "stream")
    sizes = sorted(set(run.sizes("pingpong")) | set(run.sizes("stream")))
    labels = run.labels()
    found = [
        _sync_finding(run, api, size, wait)
        for api in apis
        for wait in ("sem", "mutex")
        if f"{api}/{wait}" in labels
        for size in sizes
    ]
    findings = [f for f in found if f is not None]
    notes = [_spin_cpu_note(run, apis), _placement_note(run)] if findings else []
    notes.append(race_note(run))
    scope = "semaphore and mutex variants against spinning variants"
    return _verdict(3, findings, [n for n in notes if n], scope if "mutex" in str(labels) else _SEM_SCOPE)


_SEM_SCOPE = "semaphore variants against spinning variants"


def _spin_cpu_note(run: Run, apis: list[str]) -> str:
    """How many CPUs each variant kept busy at the smallest size: spinning costs a core per side."""
    parts = []
    for api in apis:
        sizes = [s for s in run.sizes("pingpong") if run.cell(f"{api}/spin", "pingpong", s)]
        cells = [run.cell(f"{api}/{v}", "pingpong", sizes[0]) if sizes else None for v in ("spin", "sem")]
        busy = [cores_busy(cell) if cell else None for cell in cells]
        if busy[0] is not None:
            against = f" against {busy[1]:.2f} for {api}/sem" if busy[1] is not None else ""
            parts.append(f"{api}/spin kept {busy[0]:.2f} CPUs busy at {size_text(sizes[0])}{against}")
    if not parts:
        return ""
    return (
        "Not letting the kernel do the waiting has its own cost: a spinning pair burns a core on each side, "
        "even while no message is coming (" + "; ".join(parts) + ")."
    )


def _placement_note(run: Run) -> str:
    placement = run.document["config"].get("placement")
    if not placement:
        return ""
    if "same" in str(placement):
        return (
            "Both processes shared one CPU here, where spinning wastes the time slice the other side needs "
            "to answer."
        )
    return f"Placement was {placement}: spinning pays off only while each side has a CPU of its own."


# ---- claim 4: the two APIs perform alike ----------------------------------------------------------------


def _alike_finding(run: Run, variant: str, metric: str, size: int) -> Finding | None:
    comparison = compare(run, f"posix-shm/{variant}", f"sysv-shm/{variant}", metric, size)
    if comparison is None:
        return None
    subject = f"{variant}, {'round trip' if metric == 'latency' else 'stream'}"
    finding = decided(comparison, "alike", subject)
    return replace(finding, note=finding.reason)


def claim_apis_alike(run: Run) -> Verdict:
    findings = [
        f
        for variant in ("sem", "spin", "mutex")
        for metric in ("latency", "throughput")
        for size in run.sizes()
        if (f := _alike_finding(run, variant, metric, size)) is not None
    ]
    notes = [_semaphore_difference_note(findings)]
    return _verdict(4, findings, [n for n in notes if n], "posix-shm against sysv-shm, same variant")


def _semaphore_difference_note(findings: list[Finding]) -> str:
    spin_alike = [f.outcome for f in findings if f.subject.startswith("spin")]
    sem_alike = [f.outcome for f in findings if f.subject.startswith("sem")]
    if spin_alike and set(spin_alike) == {HOLDS} and REFUTED in sem_alike:
        return (
            "The spinning variants, which touch only the shared memory, are alike; the semaphore variants "
            "differ, so the difference lies in the semaphores (SysV semop against POSIX sem_wait/sem_post), "
            "not in the memory."
        )
    return ""


# ---- summary --------------------------------------------------------------------------------------------


def _verdict(claim: int, findings: list[Finding], notes: list[str], scope: str) -> Verdict:
    status, headline = _summary(findings, scope)
    return Verdict(claim, CLAIMS[claim], status, headline, tuple(notes), tuple(findings))


def _summary(findings: list[Finding], scope: str) -> tuple[str, str]:
    if not findings:
        return UNTESTED, f"not tested: this run has no cells for it ({scope})"
    outcomes = [f.outcome for f in findings]
    undecided = outcomes.count(INCONCLUSIVE)
    rest = f"; {undecided} of {len(findings)} cases inconclusive" if undecided else ""
    if undecided == len(findings):
        return INCONCLUSIVE, _undecided_headline(findings, scope)
    if REFUTED not in outcomes:
        return HOLDS, f"holds for every case decided ({scope}, {len(findings) - undecided} cases{rest})"
    if HOLDS not in outcomes:
        return REFUTED, f"refuted in every case decided ({scope}{rest})"
    return PARTLY, "holds only for " + _where(findings, lambda f: f.outcome == HOLDS) + rest


def _undecided_headline(findings: list[Finding], scope: str) -> str:
    """Why no case is decided, and roughly how many runs per cell would decide the nearest one."""
    reasons: dict[str, int] = {}
    for finding in findings:
        kind = finding.reason.split(" (")[0].split(":")[0]
        reasons[kind] = reasons.get(kind, 0) + 1
    why = ", ".join(f"{kind}: {count}" for kind, count in reasons.items())
    needed = [f.runs_needed for f in findings if f.runs_needed is not None]
    if needed:
        runs = min(needed)
        more = f"more than {MOST_RUNS}" if runs > MOST_RUNS else f"about {runs}"
        hint = f"; {more} runs per cell would decide the nearest case"
    elif reasons.get("unstable cell"):
        hint = "; rerun on a quieter machine: the cases rest on cells flagged unstable"
    else:
        hint = "; rerun with more runs per cell (--repeats 5 or more)"
    return f"inconclusive: no case decided ({scope}; {why}){hint}"


def _where(findings: list[Finding], chosen: Callable[[Finding], bool]) -> str:
    """``posix-shm/spin at every size (64 B to 1M); posix-shm/sem at 1M``."""
    tested: dict[str, list[int]] = {}
    for finding in findings:
        tested.setdefault(finding.subject, []).append(finding.size)
    parts = []
    for subject, sizes in tested.items():
        good = [f.size for f in findings if f.subject == subject and chosen(f)]
        if good:
            parts.append(f"{subject} at {_ranges(good, sizes)}")
    return "; ".join(parts)


def _ranges(good: list[int], tested: list[int]) -> str:
    """Consecutive runs of the tested sizes: ``64 B to 4K, 1M``, or ``every size (64 B to 1M)``."""
    tested = sorted(set(tested))
    if set(good) >= set(tested) and len(tested) > 1:
        return f"every size ({size_text(tested[0])} to {size_text(tested[-1])})"
    groups: list[list[int]] = []
    for size in tested:
        if size not in good:
            groups.append([])
        elif groups and groups[-1]:
            groups[-1].append(size)
        else:
            groups.append([size])
    return ", ".join(_span(group) for group in groups if group)


def _span(group: list[int]) -> str:
    return size_text(group[0]) if len(group) == 1 else f"{size_text(group[0])} to {size_text(group[-1])}"


def _sizes_list(sizes: list[int]) -> str:
    return ", ".join(size_text(size) for size in sizes)


def highlights(verdict: Verdict) -> list[tuple[str, str]]:
    """At most two (kind, sentence) pairs to show beside a verdict: its clearest case, where it fails."""
    held = [f for f in verdict.findings if f.outcome == HOLDS]
    failed = [f for f in verdict.findings if f.outcome == REFUTED]
    lines = []
    if held:
        lines.append(("clearest case", _with_note(verdict.claim, _clearest(verdict.claim, held))))
    if failed:
        lines.append(("where it fails", _with_note(verdict.claim, failed[0])))
    return lines


def _clearest(claim: int, held: list[Finding]) -> Finding:
    if claim == 4:  # the pair known most precisely to be alike
        return min(held, key=lambda f: f.evidence[0].deviation or math.inf)
    if claim == 3:  # where semaphores cost most (the lowest speed-up of sem over spin)
        return min(held, key=lambda f: f.evidence[0].speedup)
    return max(held, key=lambda f: f.evidence[0].speedup)


def _with_note(claim: int, finding: Finding) -> str:
    comparison = finding.deciding or finding.evidence[0]
    sentence = comparison.sentence()
    return f"{sentence} ({finding.note})" if claim in (3, 4) and finding.note else sentence
