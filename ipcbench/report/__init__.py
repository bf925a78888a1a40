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
from pathlib import Path

from ipcbench import outfile, store
from ipcbench.errors import InputError


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
    from ipcbench.report.drawing import few_collections, kept
    from ipcbench.report.page import render, shown
    from ipcbench.report.runs import load_runs

    outfile.check(args.output, "the report")
    if not store.find_results(list(args.paths)):
        where = ", ".join(str(path) for path in args.paths)
        raise InputError(f"nothing to report: no result files in {where}")
    with few_collections(rare=False):
        with kept():
            found = summaries(args.paths)
        # Collected as usual: loading leaves cycles behind (each decoded histogram, ~250 KB, is one).
        runs = load_runs(summary.path for summary in shown(found))
        html = render(runs, found, Memo(args.paths))
    outfile.write(html, args.output, "the report")
    print(f"report: {args.output} ({len(found)} result file{'s' if len(found) != 1 else ''})")
    return 0
