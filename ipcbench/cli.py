"""The command line: argparse builds options, plain command functions do the work.

``main`` maps every ``InputError`` (bad arguments, bad files, unwritable folders) to one line on stderr and
exit status 2, and Ctrl-C to status 130, so no user mistake ends in a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from ipcbench import __version__
from ipcbench.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, InputError

if TYPE_CHECKING:
    from ipcbench.transports import Registry


class _Parser(argparse.ArgumentParser):
    # Each subcommand's own parser, so an error about its arguments points to its own --help.
    subcommands: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{message} (see `{self.prog} --help`)")


# ---- commands -----------------------------------------------------------------------------------------


def list_command(args: argparse.Namespace) -> int:
    """Mechanisms, variants, availability here, and the kernel limits that decide what can run."""
    from rich.markup import escape
    from rich.table import Table

    from ipcbench import idle, native
    from ipcbench.console import console
    from ipcbench.machine import SYSCTL_OF, read_limits
    from ipcbench.transports import label
    from ipcbench.transports.origin import origin_text

    registry = args.registry
    limits = read_limits()
    native_reason = native.unavailable()
    table = Table(title="mechanisms")
    for column in (
        "mechanism",
        "layer",
        "waits by",
        "tiers",
        "available here",
        "largest message here",
        "from",
    ):
        table.add_column(column)
    table.add_column("what it is")
    for cls in [*registry.values(), *registry.rejected()]:
        reason = cls.unavailable()
        largest = _largest_size(cls, limits) if reason is None else "-"
        for variant in (*cls.variants, *cls.demonstrations):
            wait = cls.waits.get(variant, "block")
            available = "yes" if reason is None else f"no: {reason}"
            origin = origin_text(cls)
            tiers = _tiers(cls, variant, native_reason)
            summary = DEMONSTRATION if variant in cls.demonstrations else cls.summary
            row = (label(cls.name, variant), cls.layer, wait, tiers, available, largest, origin, summary)
            table.add_row(*(escape(text) for text in row))  # "ipcbench[zmq]" is not markup
    console.print(table)
    console.print(
        "native tier (C loops, ipcbench._native): "
        + ("available" if native_reason is None else f"UNAVAILABLE: {native_reason}"),
        markup=False,
    )
    console.print(
        f"CPU idle here: {idle.machine_text(idle.describe())}; {idle.poll_availability()}", markup=False
    )
    limit_table = Table(title="kernel limits in force")
    limit_table.add_column("limit")
    limit_table.add_column("value", justify="right")
    limit_table.add_column("set with")
    for key, value in limits.items():
        limit_table.add_row(key, str(value), f"sysctl {SYSCTL_OF[key]}" if key in SYSCTL_OF else "")
    console.print(limit_table)
    return 0


DEMONSTRATION = (
    "demonstration, no speed figure: the writer never waits, the reader polls with no handshake; "
    "counts messages torn, lost, duplicated (stream; claim 3 cites it). No native cells: the C loops "
    "fail at the first bad message instead of counting"
)


def _tiers(cls: Any, variant: str | None, native_reason: str | None) -> str:
    """Which tiers can run a mechanism here: ``python, native``, ``native only``, or a tier missing."""
    from ipcbench.plan import tier_has

    if variant in cls.demonstrations:  # why: in its summary (``DEMONSTRATION``)
        return "python only"
    tiers = [impl for impl in ("python", "native") if tier_has(cls, impl, variant)]
    text = "native only" if tiers == ["native"] else ", ".join(tiers)
    if "native" in tiers and native_reason is not None:
        text += " (native unavailable here)"
    return text


def _largest_size(cls: Any, limits: dict[str, Any]) -> str:
    from ipcbench.units import MAX_SIZE, format_size

    low, high = 16, MAX_SIZE
    if cls.skip_reason(high, limits) is None:
        return "no limit of its own"
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if cls.skip_reason(mid, limits) is None else (low, mid - 1)
    # Not a whole K (a socket buffer's share, 4263616): the largest whole K that fits, in the units of the
    # other rows and of --sizes, instead of raw bytes.
    return format_size(low if low < 1024 else low & ~1023)


def run_command(args: argparse.Namespace) -> int:
    """Measure, save after every cell, print the summary table."""
    from ipcbench import native
    from ipcbench.console import RunProgress, console, header_lines, result_table, sweep_table
    from ipcbench.plan import build_options
    from ipcbench.runner import Runner

    options = build_options(
        profile=args.profile,
        transports=args.transports,
        sizes=args.sizes,
        workloads=args.workloads,
        impls=args.impl,
        repeats=args.repeats,
        pin=args.pin,
        label=args.label,
        output=args.output,
        timeout_s=args.timeout,
        budget_s=args.budget,
        machine_name=args.machine_name,
        verify_every=args.verify_every,
        tune=tuple(args.tune) if args.tune else None,
        cpu_idle=args.cpu_idle,
        registry=args.registry,
        fault=args.fault,
    )
    missing = native.unavailable()
    if missing is not None and "native" not in options.impls:  # say why the native cells are missing
        print(f"ipcbench: note: running the Python tier only: {missing}", file=sys.stderr)
    with RunProgress(quiet=args.quiet) as progress:
        runner = Runner(options, progress, args.registry)
        document, path = runner.run()
    for line in runner.cleaned:
        console.print(f"removed an orphan: {line}", markup=False)
    if not args.quiet:
        console.print(result_table(document))
        if (sweeps := sweep_table(document)) is not None:
            console.print(sweeps)
        for line in header_lines(document):
            console.print(line, markup=False)
    print(f"results: {path}", flush=True)  # plain print: scripts read this line, never wrapped
    return 0


def show_command(args: argparse.Namespace) -> int:
    from ipcbench import store
    from ipcbench.console import console, header_lines, result_table, sweep_table

    document = store.load(args.file)
    console.print(result_table(document, title=str(args.file)))
    if (sweeps := sweep_table(document)) is not None:
        console.print(sweeps)
    for line in header_lines(document):
        console.print(line, markup=False)
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from ipcbench import compare_output  # rich is imported only by the commands that print with it

    return compare_output.command(args)


def clean_command(args: argparse.Namespace) -> int:
    from ipcbench.console import console
    from ipcbench.ledger import clean, live_runs

    refused: list[str] = []
    removed = clean(refused=refused)
    for line in removed:
        console.print(f"removed {line}", markup=False)
    for line in refused:  # named by a dead run's ledger, but not provably its object: never removed
        console.print(f"left alone: {line}", markup=False)
    live = live_runs()
    if live:
        console.print(
            f"left alone: objects of {len(live)} run(s) still alive ({', '.join(live)})", markup=False
        )
    if not removed:
        console.print("nothing to clean: no objects left by dead ipcbench runs", markup=False)
    return 0


# ---- parser -------------------------------------------------------------------------------------------


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    from ipcbench import idle
    from ipcbench.plan import PINS, PROFILES

    parser.add_argument(
        "--profile", default="default", help=f"one of {', '.join(PROFILES)} (default: default)"
    )
    parser.add_argument(
        "--transports", help="comma list: pipe, posix-shm (all variants), posix-shm/spin, ..."
    )
    parser.add_argument("--sizes", help="comma list of message sizes: 64,4K,1M")
    parser.add_argument("--workloads", help="comma list: pingpong,stream")
    parser.add_argument(
        "--impl",
        help="comma list of tiers: python (the loops in Python), native (the same loops in C); "
        "default: both where the native tier is built",
    )
    parser.add_argument("--repeats", type=int, help="independent runs per cell (default: the profile's)")
    parser.add_argument(
        "--budget", type=float, help="seconds of measurement per run (default: the profile's)"
    )
    parser.add_argument(
        "--pin",
        default="auto",
        choices=PINS,
        help="placement: cross (two CPUs), same (one CPU), none, auto (cross if possible)",
    )
    parser.add_argument("--label", help="a label for the result file name")
    parser.add_argument(
        "--output", type=Path, default=Path("results"), help="results folder (default: results)"
    )
    parser.add_argument("--machine-name", help="folder name for this machine (default: the host name)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before a run is killed (default 60)"
    )
    parser.add_argument(
        "--verify-every", type=int, help="compare every Nth streamed message in full (default 1: all)"
    )
    parser.add_argument(
        "--tune",
        action="append",
        metavar="KEY=VALUE[,VALUE]",
        help="a kernel buffer or wait setting, each value its own cell (repeatable): pipe_buffer, "
        "socket_buffer, queue_depth, slots, spin_us, receive; 'default' is the untuned cell "
        "(e.g. --tune pipe_buffer=default,1M)",
    )
    idle.add_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress and no table, only the file name")


def _add_show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="a result file")


Command = tuple[Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None] | None, str]


def _commands() -> dict[str, Command]:
    from ipcbench import compare_run, exports, history, report
    from ipcbench.report import verdict_output

    return {
        "list": (list_command, None, "mechanisms, availability and kernel limits here"),
        "run": (run_command, _add_run_arguments, "measure and write a result file"),
        "show": (show_command, _add_show_arguments, "print a result file as a table"),
        "report": (report.command, report.add_arguments, "write the HTML report from result files"),
        "verdicts": (
            verdict_output.command,
            verdict_output.add_arguments,
            "the verdicts on the four claims: table, markdown or json",
        ),
        "compare": (compare_command, compare_run.add_arguments, "compare two runs; --fail gates CI"),
        "history": (history.command, history.add_arguments, "each cell over time across result files"),
        "export": (exports.command, exports.add_arguments, "convert a result file for other trackers"),
        "clean": (clean_command, None, "remove IPC objects that killed runs left behind"),
    }


def build_parser() -> _Parser:
    parser = _Parser(prog="ipcbench", description="Measure inter-process communication on this machine.")
    parser.add_argument("--version", action="version", version=f"ipcbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    parser.subcommands = {}
    for name, (function, add_arguments, help_text) in _commands().items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if add_arguments is not None:
            add_arguments(command_parser)
        command_parser.set_defaults(function=function)
        parser.subcommands[name] = command_parser
    return parser


def _installed() -> Registry:
    from ipcbench.transports import REGISTRY

    return REGISTRY


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; arguments the subcommand does not know are its error, not the top level's."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.subcommands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


# Characters str.splitlines() breaks at: a file name holding one must not break the one-line contract.
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def _one_line(message: str) -> str:
    return _LINE_BREAKS.sub(lambda match: repr(match.group())[1:-1], message)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(
    argv: Sequence[str] | None = None, registry: Registry | None = None, fault: str | None = None
) -> int:
    """The ``ipcbench`` command. Tests plug their seams in here: ``registry`` replaces the installed
    mechanisms (with the mock added), ``fault`` injects a fault into every run (``faults.py``)."""
    return _main(argv, registry, fault)[0]


# Commands that only read result files and write one output: the console entry skips the interpreter's
# teardown after them (see ``console``). Not those that run peers or remove IPC objects.
_QUICK_EXIT = frozenset({"report", "history", "verdicts", "show", "export"})


def console() -> NoReturn:
    """The console script and ``python -m ipcbench``: ``main``, then out of the process.

    After a command of ``_QUICK_EXIT`` nothing is left to do but the interpreter's teardown, which frees
    every object one by one: 0.4 s after a report over 1,000 files. Every file such a command writes is
    closed (and atomically replaced) before it returns, its cache connections are closed and its drawers
    and workers joined, so the process ends there, its output streams flushed first."""
    status, command = _main(None, None, None)
    if command in _QUICK_EXIT:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be said
                stream.flush()
        os._exit(status)
    raise SystemExit(status)


def _main(argv: Sequence[str] | None, registry: Registry | None, fault: str | None) -> tuple[int, str | None]:
    """``main``'s exit status, and the command that ran (None when the command line was not understood)."""
    signal.signal(signal.SIGTERM, _terminate)
    # A path from the command line may hold bytes that are not UTF-8 (decoded as surrogates): print them
    # back as the same bytes instead of failing on the line that names the file just written.
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
        sys.stderr.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    command = None
    try:
        args = parse(argv)
        command = args.command
        args.registry = registry if registry is not None else _installed()
        args.fault = fault
        status = int(args.function(args))
        sys.stdout.flush()  # what the buffer still holds fails here, with the one-line error, not at exit
        return status, command
    except InputError as exc:
        print(f"ipcbench: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT, command
    except KeyboardInterrupt:
        print("ipcbench: interrupted; finished cells are saved", file=sys.stderr)
        return EXIT_INTERRUPTED, command
    except BrokenPipeError:  # the reader stopped reading (`| head`): nothing more to say
        _discard_output()
        return 0, command
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRORS:
            raise
        _discard_output()  # else Python's own flush at exit fails once more, with a traceback
        where = exc.filename or "the standard output"
        print(f"ipcbench: error: cannot write to {where}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT, command


# A full disk or a failing device: the errors a write of the output can meet (`ipcbench show F > /dev/full`).
_OUTPUT_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def _discard_output() -> None:
    """Send whatever the standard output still buffers to /dev/null."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


if __name__ == "__main__":
    console()
