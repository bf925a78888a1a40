"""``ipcbench report``: one self-contained HTML page from stored result files (issue 3).

Every file given is read through its cached summary (``ipcbench.cache``); only the few runs the page
shows in detail are loaded whole, so a report over a thousand files takes seconds. The page opens offline
from disk: styles inline, figures as inline SVG, no scripts, fonts or network. The
work is split by stage: ``runs`` (loaded files), ``verdicts`` (the claims, pure), ``tables`` and
``figures`` (what each section shows), ``page`` (the template). Bad input is an ``InputError``: one line on
stderr and exit status 2.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ipcbench import outfile, store
from ipcbench.errors import InputError

if TYPE_CHECKING:
    from ipcbench.cache import Memo
    from ipcbench.changes import Change
    from ipcbench.history import Line

CHUNKS = 16  # the history's series are found in this many jobs, shared out among the processes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("results")],
        help="result files, or folders to search for them (default: results)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("reports/index.html"),
        help="the HTML file to write (default: reports/index.html)",
    )


def command(args: argparse.Namespace) -> int:
    from ipcbench.cache import Memo, summaries
    from ipcbench.history import series_lines
    from ipcbench.report.drawing import few_collections, kept
    from ipcbench.report.runs import load_runs

    outfile.check(args.output, "the report")
    if not store.find_results(list(args.paths)):
        where = ", ".join(str(path) for path in args.paths)
        raise InputError(f"nothing to report: no result files in {where}")
    memo = Memo(args.paths)
    with few_collections(rare=False):
        with kept():
            found = summaries(args.paths)
            lines = series_lines(found)
        with _Changes(lines, memo) as history:
            # matplotlib is imported (with the page's modules) while the change points are found
            from ipcbench.report.page import render, shown

            # Collected as usual: loading leaves cycles behind (each decoded histogram, ~250 KB, is one).
            runs = load_runs(summary.path for summary in shown(found))
            html = render(runs, found, memo, history.lines)
    outfile.write(html, args.output, "the report")
    print(f"report: {args.output} ({len(found)} result file{'s' if len(found) != 1 else ''})")
    return 0


class _Changes:
    """The change points of the history's ``lines`` (``history.series_lines``), found from now on by
    processes forked on the spare cores (``drawing.Drawing``: no threads, so the drawers can fork later),
    while the page's modules are imported, the shown runs loaded and their figures started; ``lines``
    then finds here what is left and waits for the rest. The series the ``memo`` kept are not worked out."""

    def __init__(self, lines: list[Line], memo: Memo) -> None:
        from ipcbench.changes import Recalled, Settings, detect_each, worth_processes
        from ipcbench.history import series_of
        from ipcbench.report.drawing import Drawing, Jobs

        self.found = lines
        self.recalled = Recalled(series_of(lines), Settings(), memo)
        missing = self.recalled.missing
        self.chunks = min(CHUNKS, len(missing))
        jobs: Jobs = {
            str(chunk): partial(detect_each, missing[chunk :: self.chunks], Settings())
            for chunk in range(self.chunks)
        }
        self.work = Drawing(jobs, forks=None if worth_processes(missing) else 0)

    def __enter__(self) -> _Changes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.work.__exit__(*exc)

    def lines(self) -> list[Line]:
        """``history.build``'s lines: with their change points, sorted."""
        from ipcbench.history import with_changes

        done = self.work.finish({})
        found: list[list[Change]] = [[] for _ in self.recalled.missing]
        for chunk in range(self.chunks):
            found[chunk :: self.chunks] = done[str(chunk)]
        return with_changes(self.found, self.recalled.completed(found))
