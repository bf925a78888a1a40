"""Property tests (hypothesis) over what a user can type: ``run`` option values, and ``-o`` paths for
``report``, ``compare`` and ``export``.

Whatever the input, a command either does its job or refuses with one line and exit status 2; it never
raises, never leaves a temporary file, never replaces a special file and never writes outside the folder
the path names. ``run`` is checked up to the point where measuring would start: every option it accepts
is finite, bounded and names a result file inside ``--output``.
"""

from __future__ import annotations

import math
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipcbench import store
from ipcbench.cli import main, parse
from ipcbench.errors import InputError
from ipcbench.plan import MAX_NAME_BYTES, MAX_REPEATS, MAX_TIMEOUT_S, build_options
from ipcbench.units import MAX_SIZE, MIN_SIZE
from tests.compare_docs import document, pingpong, stream, write

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# ---- run -------------------------------------------------------------------------------------------------

# Text as a shell passes it: any bytes but NUL, decoded the way Python decodes argv.
ARGV_TEXT = st.binary(max_size=40).map(lambda b: os.fsdecode(b.replace(b"\0", b"")))
NUMBERS = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e400", "1e10", "0", "-1", "0.01", "5", "86400", "1e-300", ""]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    ARGV_TEXT,
)
LISTS = st.one_of(
    st.lists(
        st.sampled_from(["pipe", "mock", "posix-shm/spin", "", " ", "stream", "pingpong", "64", "4K", "1G"])
    ).map(",".join),
    ARGV_TEXT,
)
NAMES = st.one_of(st.sampled_from(["", ".", "..", "a/b", "../x", "café", "x" * 101, ".hidden"]), ARGV_TEXT)


@st.composite
def run_argv(draw: Any) -> list[str]:
    argv = ["run"]
    for option, values in (
        ("--budget", NUMBERS),
        ("--timeout", NUMBERS),
        ("--repeats", NUMBERS),
        ("--sizes", LISTS),
        ("--transports", LISTS),
        ("--workloads", LISTS),
        ("--label", NAMES),
        ("--machine-name", NAMES),
    ):
        if draw(st.booleans()):
            argv += [option, draw(values)]
    return argv


def options_of(argv: list[str]) -> Any:
    """What ``ipcbench run`` does before it measures: parse, then build and check the options."""
    args = parse(argv)
    return build_options(
        profile=args.profile,
        transports=args.transports,
        sizes=args.sizes,
        workloads=args.workloads,
        repeats=args.repeats,
        label=args.label,
        timeout_s=args.timeout,
        budget_s=args.budget,
        machine_name=args.machine_name,
    )


@PROPERTY
@given(argv=run_argv())
def test_run_accepts_only_options_that_can_work(argv: list[str]) -> None:
    try:
        options = options_of(argv)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert options.repeats is not None and 1 <= options.repeats <= MAX_REPEATS
    assert options.budget_s is not None and math.isfinite(options.budget_s)
    assert 0 < options.budget_s < options.timeout_s <= MAX_TIMEOUT_S
    assert all(MIN_SIZE <= size <= MAX_SIZE for size in options.sizes) and options.sizes
    assert options.transports and options.workloads
    assert len(set(options.workloads)) == len(options.workloads)
    root = Path("/results")
    path = store.result_path(root, options.machine_name or "host", options.label)
    assert path.parent.parent == root and path.parent.name not in ("", ".", "..")
    assert len(os.fsencode(path.name)) <= 255 - 20  # room for "-NN" and a temporary file's affixes
    assert len(os.fsencode(options.label or "")) <= MAX_NAME_BYTES


# ---- output paths ----------------------------------------------------------------------------------------

COMPONENT = st.one_of(
    st.sampled_from(["", ".", "out.html", "results", "a.json", "null", "sock", "new", "z" * 300, "café"]),
    st.binary(min_size=1, max_size=12).map(lambda b: os.fsdecode(b.replace(b"/", b"_").replace(b"\0", b"_"))),
)
OUTPUT = st.lists(COMPONENT, min_size=1, max_size=3).map("/".join)
COMMANDS = {
    "report": lambda result, out: ["report", str(result), "-o", out],
    "compare": lambda result, out: ["compare", str(result), str(result), "--format", "json", "-o", out],
    "export": lambda result, out: ["export", str(result), "--format", "bencher", "-o", out],
}


@pytest.fixture(scope="module")
def result() -> Any:
    with tempfile.TemporaryDirectory() as folder:
        cells = [pingpong("pipe", 64, [1e4, 1.01e4, 0.99e4]), stream("pipe", 64, [1e8, 1.01e8, 0.99e8])]
        yield write(document(cells), Path(folder) / "a.json")


def sandbox(folder: Path) -> dict[str, int]:
    """A folder with one of everything a path may meet; returns the kinds of the special files."""
    (folder / "results").mkdir()
    (folder / "a.json").write_text("{}")  # a file where a folder may be expected
    try:
        os.mknod(folder / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError:
        (folder / "null").write_text("")
    return {name: os.lstat(folder / name).st_mode for name in ("null", "results")}


def everything(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@PROPERTY
@given(command=st.sampled_from(sorted(COMMANDS)), output=OUTPUT)
def test_an_output_path_is_written_whole_or_refused_in_one_line(
    command: str, output: str, result: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: Any
) -> None:
    monkeypatch.setattr("ipcbench.report.page.render", lambda *args: "<!DOCTYPE html><p>report</p>\n")
    with tempfile.TemporaryDirectory() as outer:
        work = Path(outer) / "work"
        work.mkdir()
        kinds = sandbox(work)
        before = everything(Path(outer))
        cwd = os.getcwd()
        os.chdir(work)
        try:
            status = main(COMMANDS[command](result, output))
        finally:
            os.chdir(cwd)
        err = capsysbinary.readouterr().err.decode("utf-8", "surrogateescape")
        after = everything(Path(outer))
        assert status in (0, 2), err
        if status == 2:
            assert len(err.splitlines()) == 1 and err.startswith("ipcbench: error: "), err
            assert after == before  # refused before any work: nothing made
        assert not [p for p in after if p.name.endswith(".tmp")]
        assert all(p == work or work in p.parents for p in after - before)  # nothing outside the folder
        assert {name: os.lstat(work / name).st_mode for name in kinds} == kinds  # never replaced
