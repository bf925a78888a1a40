"""Assemble the report page: choose which runs each section shows, compute, draw, fill the template.

Sections 2 to 9 describe the *primary* run, the newest file given. Verdicts are computed for the newest
run of every machine. With more than one run, the comparison section puts a handful side by side: the
newest run of each machine (the ``MOST_MACHINES`` newest) when there are several machines, else the first
and the newest run of the one machine. The Trends section draws every file of each machine with a series
(``report.trends``), from the files' cached summaries: only the runs shown in detail are loaded whole.
The template is rendered with autoescaping on: every string from a result file is escaped; only the SVG
that matplotlib wrote (which escapes its own text) is inserted as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ipcbench import __version__, history, idle
from ipcbench.cache import Memo, Summary, summarize
from ipcbench.report import (
    choices,
    drawing,
    figures,
    ladder,
    latency_figures,
    run_figures,
    style,
    tables,
    trends,
)
from ipcbench.report.claim_notes import race_rows
from ipcbench.report.runs import TIER_NAMES, Run, newest_per_machine, size_text
from ipcbench.report.tiers import tier_agreement, tier_views
from ipcbench.report.verdicts import CLAIMS, TOLERANCE, Verdict, highlights, verdicts
from ipcbench.units import format_ns, format_rate

TEMPLATE = "index.html.j2"
MOST_MACHINES = 6  # machines side by side in the comparison: a handful of lines per panel


@dataclass(frozen=True)
class ClaimResult:
    """One claim's verdict on one machine's newest run in one tier, with the sentences to show first."""

    run: Run
    verdict: Verdict
    highlights: list[tuple[str, str]]
    agreement: str = ""  # with both tiers: whether they agree, and why not when they do not
    race: tuple[dict[str, Any], ...] = ()  # claim 3: each unsync demonstration cell's counts


def shown(found: list[Summary]) -> list[Summary]:
    """The files the page shows in detail (oldest first): the newest of each of the ``MOST_MACHINES``
    newest machines, and with one machine its first and newest file."""
    newest: dict[str, Summary] = {}
    for summary in found:
        newest[summary.machine] = summary
    picked = sorted(newest.values(), key=lambda s: (s.created, str(s.path)))[-MOST_MACHINES:]
    if len(newest) == 1 and len(found) > 1:
        picked = [found[0], found[-1]]
    return picked


def render(
    runs: list[Run],
    found: list[Summary] | None = None,
    memo: Memo | None = None,
    history_lines: Callable[[], list[history.Line]] | None = None,
) -> str:
    """The whole page for ``runs`` (oldest first, at least one), with the Trends of ``found``: every file
    given (summaries, oldest first; by default the runs themselves); the history's change points come
    from the ``memo`` where it kept them (``ipcbench.cache.Memo``), or its lines from ``history_lines``
    (the report's: found while the page is prepared)."""
    primary = runs[-1]
    found = found if found is not None else [summarize(run.document, run.path) for run in runs]
    jobs = _figure_jobs(primary, runs)
    # The figures of the runs are drawn on the spare cores while the rest of the page and the history
    # (change points over every file) are worked out here; the Trends figures need the history. Collections
    # stay few until the page is written: the first full one after would walk every summary (0.4 s of
    # 1,000 files, in the serial end of the report).
    with drawing.few_collections():
        with drawing.Drawing(jobs) as drawer:
            context: dict[str, Any] = {
                "primary": primary,
                "runs": runs,
                "files": found,
                "partial_files": sum(1 for summary in found if summary.run.get("run_status") != "complete"),
                "partial_runs": [run for run in runs if run.partial],
                "planned": tables.planned_cells(primary),
                "claims": _claims(newest_per_machine(runs)),
                "version": __version__,
                "tolerance": f"{TOLERANCE:.0%}",
                "tier_names": TIER_NAMES,
            }
            context.update(_single_run(primary))
            context.update(_comparison(runs))
            with drawing.kept():
                lines = history_lines() if history_lines is not None else history.build(found, memo=memo)
            environment = _environment()  # its template compiled while the last figures are drawn
            drawn = drawer.finish(trends.figure_jobs(lines), partial(environment.get_template, TEMPLATE))
        context.update({name: _svg(drawn[name]) for name in jobs})
        context["trends"] = trends.trends(lines, drawn)
        return environment.get_template(TEMPLATE).render(context)


def _figure_jobs(primary: Run, runs: list[Run]) -> dict[str, Callable[[], str | None]]:
    """Every figure of the one-run and comparison sections, by its name in the template, the slowest
    first (so the last one a worker starts is a short one); nothing is drawn yet."""
    speed = tables.relative_speed(primary)
    labels = [label for label in style.ordered(primary.labels()) if label != tables.BASELINE]
    jobs: dict[str, Callable[[], str | None]] = {
        "bands_svg": partial(figures.latency_bands, primary),
        "heatmap_svg": partial(figures.speedup_heatmap, speed, labels, primary.sizes()),
        "ladder_svg": partial(ladder.ladder_figure, primary),
        "distribution_svg": partial(figures.latency_distributions, primary),
        "throughput_svg": partial(figures.throughput_vs_size, primary),
        "sync_svg": partial(figures.sync_cost, primary),
        "latency_svg": partial(figures.latency_vs_size, primary),
        "load_svg": partial(latency_figures.load_curves, primary),
        "waits_svg": partial(latency_figures.latency_vs_cpu, primary),
    }
    if len(runs) > 1:
        series = _series(runs)
        jobs["runs_throughput_svg"] = partial(run_figures.across_runs, series, "throughput")
        jobs["runs_latency_svg"] = partial(run_figures.across_runs, series, "latency")
        jobs["runs_relative_svg"] = partial(run_figures.relative_to_first, series)
    return {name: jobs[name] for name in sorted(jobs, key=_SLOWEST_FIRST.index)}


# The figures by the CPU each took over a default run with both tiers (quiet, 12:32 UTC on 27 Nov 2026).
_SLOWEST_FIRST = (
    "bands_svg",
    "runs_latency_svg",
    "ladder_svg",
    "heatmap_svg",
    "runs_throughput_svg",
    "distribution_svg",
    "throughput_svg",
    "runs_relative_svg",
    "sync_svg",
    "latency_svg",
    "load_svg",
    "waits_svg",
)


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["size"] = size_text
    environment.filters["thousands"] = lambda value: f"{value:,}"
    environment.filters["ns"] = lambda value: (
        format_ns(value) if isinstance(value, int | float) else str(value)
    )
    environment.filters["rate"] = lambda value: (
        format_rate(value, "/s") if isinstance(value, int | float) else "-"
    )
    return environment


def _claims(machines: list[Run]) -> list[dict[str, Any]]:
    """Each claim judged per machine and per tier: what holds for the mechanism (native) and what a Python
    program gets (python), and where the two disagree, why."""
    per_run = [(view, verdicts(view)) for run in machines for view in tier_views(run)]
    claims = []
    for number, statement in CLAIMS.items():
        results = []
        for run, found in per_run:
            verdict = found[number - 1]
            other = _other_tier(per_run, run, number)
            agreement = tier_agreement(run, verdict, other) if other is not None else ""
            race = tuple(race_rows(run)) if number == 3 else ()
            results.append(ClaimResult(run, verdict, highlights(verdict), agreement, race))
        claims.append({"number": number, "statement": statement, "results": results})
    return claims


def _other_tier(per_run: list[tuple[Run, list[Verdict]]], run: Run, number: int) -> Verdict | None:
    """The same machine's verdict in the native tier, for the Python tier's result (said once, there)."""
    if run.tier != "python":
        return None
    found = [v[number - 1] for r, v in per_run if r.path == run.path and r.tier == "native"]
    return found[0] if found else None


def _svg(text: str | None) -> Markup | None:
    return None if text is None else Markup(text)


def _single_run(run: Run) -> dict[str, Any]:
    """What the one-run sections show besides their figures (``_figure_jobs``)."""
    speed = tables.relative_speed(run)
    document = run.document
    return {
        "distribution_sizes": [size_text(size) for size in figures.distribution_sizes(run)],
        "speed_tables": tables.speed_tables(run, speed),
        "sync_rows": tables.sync_rows(run),
        "choice_rows": choices.choice_rows(run),
        "problems": tables.problem_rows(run),
        "unstable": tables.unstable_rows(run),
        "facts": tables.run_facts(run),
        "cpu_idle": idle.text(document),
        "machine": [
            ("CPU idle", idle.text(document)),
            *tables.key_values(document["machine"], skip=("limits", "packages", "cpu_idle")),
        ],
        "limits": tables.key_values(document["machine"].get("limits", {})),
        "packages": tables.key_values(document["machine"].get("packages", {})),
        "config": tables.key_values(document["config"]),
        "overhead": document["config"].get("harness_overhead_ns") or {},
        "ladder_rows": tables.ladder_rows(run),
        "tier": run.tier,
        "method": document["config"],
        "alike_band": f"{latency_figures.ALIKE_BAND:.0%}",
        **latency_figures.context(run),
    }


def _series(runs: list[Run]) -> list[Run]:
    """The runs the comparison puts side by side (see the module's docstring)."""
    machines = newest_per_machine(runs)
    return machines[-MOST_MACHINES:] if len(machines) > 1 else [runs[0], runs[-1]]


def _comparison(runs: list[Run]) -> dict[str, Any]:
    """What the comparison section shows besides its figures (``_figure_jobs``)."""
    machines = newest_per_machine(runs)
    series = _series(runs)
    if len(runs) < 2:
        return {"series": [], "series_rule": "", "cross_rows": [], "compared": [], "omitted": 0}
    compared = series[1:][-tables.MOST_COMPARED :]
    return {
        "series": series,
        "series_rule": (
            "the newest run of each machine"
            if len(machines) > 1
            else "the first and the newest run of this machine"
        ),
        "cross_rows": tables.cross_rows(series[0], compared),
        "compared": compared,
        "omitted": len(series) - 1 - len(compared),
    }
