"""A new user's first hour (issue 8): odd options, hostile output paths and odd result files get one line on
stderr and exit status 2, or the documented right behaviour; never a traceback, a half-written or leftover
file, a replaced special file, or a file outside ``--output``.

Commands are called in-process (``cli.main``) where nothing is measured, so each case costs milliseconds.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipcbench import store
from ipcbench.cli import main
from ipcbench.console import header_lines
from ipcbench.plan import build_options, placement
from tests.compare_docs import document, grid, not_measured, pingpong, stream, write

LONG = "x" * 300


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ipcbench: error: ") and "Traceback" not in err
    return lines[0]


def leftovers(folder: Path) -> list[Path]:
    """Temporary files a failed write could leave (``.NAME.XXXX.tmp``) anywhere below ``folder``."""
    return [path for path in folder.rglob("*") if path.name.endswith(".tmp")]


@pytest.fixture
def result(tmp_path: Path) -> Path:
    cells = [pingpong("pipe", 64, [10_000.0, 10_100.0, 9_900.0]), stream("pipe", 64, [1e8, 1.01e8, 0.99e8])]
    return write(document(cells), tmp_path / "results" / "m1" / "a.json")


# ---- run: every option checked before anything is measured or written --------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "nan"], "--budget must be a positive number of seconds, got nan"),
        (["--budget", "inf"], "--budget must be a positive number of seconds, got inf"),
        (["--timeout", "nan"], "--timeout must be a positive number of seconds, got nan"),
        (["--timeout", "inf"], "--timeout must be a positive number of seconds"),
        (["--timeout", "1e400"], "--timeout must be a positive number of seconds, got inf"),
        (["--timeout", "1e10"], "--timeout must be at most 86400 seconds"),
        (["--timeout", "0"], "--timeout must be a positive number of seconds"),
        (["--budget", "90", "--timeout", "60"], "--budget 90 s per run cannot finish within --timeout 60 s"),
        (["--repeats", "100000"], "--repeats must be from 1 to 100, got 100000"),
        (["--sizes", "1G"], "size '1G' is above the largest message ipcbench measures, 64M"),
        (["--sizes", "٤K"], "malformed size '٤K'"),
        (["--sizes", "\uff16\uff14"], "malformed size '\uff16\uff14'"),  # fullwidth 64
        (["--sizes", ""], "no sizes given"),
        (["--transports", ""], "--transports is empty"),
        (["--transports", " , "], "--transports is empty"),
        (["--workloads", ""], "--workloads is empty"),
        (["--label", LONG], "--label is too long: at most 100 bytes"),
        (["--machine-name", LONG], "--machine-name is too long"),
        (["--machine-name", "../escape"], "--machine-name must be a plain folder name"),
        (["--machine-name", "."], "--machine-name must be a plain folder name"),
        (["--machine-name", ".."], "--machine-name must be a plain folder name"),
        (["--machine-name", "a/b"], "--machine-name must be a plain folder name"),
        (["--machine-name", ""], "--machine-name must be a plain folder name"),
        (["--machine-name", ".hidden"], "--machine-name must be a plain folder name"),
        (["--bogus"], "unrecognized arguments: --bogus (see `ipcbench run --help`)"),
    ],
)
def test_run_refuses_bad_options_before_any_work(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["run", "--transports", "pipe", "--sizes", "64", "--output", str(out), *args]) == 2
    assert message in one_error_line(capsys)
    assert not out.exists() and list(tmp_path.iterdir()) == []  # no folder made, nothing outside --output


def test_a_workload_named_twice_is_measured_once() -> None:
    options = build_options(workloads="stream,stream,pingpong,stream", transports="pipe")
    assert options.workloads == ("stream", "pingpong")


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("café au lait", "café-au-lait"),
        ("测试", "测试"),
        ("../../etc/passwd", "etc-passwd"),
        ("\udcff\udcfe", "label"),
        ("   ", "label"),
    ],
)
def test_a_label_becomes_a_readable_safe_file_name(label: str, name: str, tmp_path: Path) -> None:
    path = store.result_path(tmp_path, "m1", label)
    assert path.parent == tmp_path / "m1"
    assert path.name.endswith(f"-{name}.json")


def test_unknown_arguments_point_to_the_subcommands_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command, extra in (("report", "--fast"), ("compare", "--zz"), ("export", "--x")):
        assert main([command, "a", "b", extra] if command == "compare" else [command, "a", extra]) == 2
        assert f"(see `ipcbench {command} --help`)" in one_error_line(capsys)


# ---- placement: one usable CPU ---------------------------------------------------------------------------


@pytest.mark.parametrize("pin", ["none", "auto", "same"])
def test_one_usable_cpu_is_same_core_whatever_the_pin(pin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert placement(pin) == (3, 3, "same-core")


def test_the_run_says_both_sides_shared_the_only_cpu() -> None:
    doc = document([])
    doc["config"].update(pin="none", placement="same-core", pinning={"initiator_cpu": 0, "peer_cpu": 0})
    assert any(line.startswith("both sides shared CPU 0") for line in header_lines(doc))
    doc["config"]["pin"] = "same"  # asked for: nothing to explain
    assert not any("shared CPU" in line for line in header_lines(doc))


# ---- output paths: report, compare, export -----------------------------------------------------------

COMMANDS = {
    "report": lambda result, out: ["report", str(result), "-o", out],
    "compare": lambda result, out: ["compare", str(result), str(result), "--format", "markdown", "-o", out],
    "export": lambda result, out: ["export", str(result), "--format", "bencher", "-o", out],
}


@pytest.fixture
def quick_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's content is tested elsewhere; here only where it goes (drawing costs seconds)."""
    monkeypatch.setattr("ipcbench.report.page.render", lambda *args: "<!DOCTYPE html><p>report</p>\n")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("target", "message"),
    [
        (".", "it is a folder; name a file"),
        ("", "it is a folder; name a file"),
        ("results", "it is a folder; name a file"),
        ("results/m1/a.json/out", "Not a directory"),
    ],
)
def test_an_output_that_cannot_be_a_file_is_refused_before_any_work(
    command: str,
    target: str,
    message: str,
    result: Path,
    in_tmp: Path,
    quick_report: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = sorted(in_tmp.rglob("*"))
    assert main(COMMANDS[command](result, target)) == 2
    assert message in one_error_line(capsys)
    assert sorted(in_tmp.rglob("*")) == before  # nothing written, nothing left behind


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_output_under_missing_folders_creates_them(
    command: str, result: Path, in_tmp: Path, quick_report: None
) -> None:
    assert main(COMMANDS[command](result, "new/deeper/out.txt")) == 0
    assert (in_tmp / "new" / "deeper" / "out.txt").stat().st_size > 0
    assert not leftovers(in_tmp)


def make_char_device(path: Path) -> Path:
    """A private /dev/null (character device 1,3): as safe to write into as the real one."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return path


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_character_device_is_written_into_never_replaced(
    command: str, result: Path, in_tmp: Path, quick_report: None
) -> None:
    device = make_char_device(in_tmp / "null")
    assert main(COMMANDS[command](result, str(device))) == 0
    assert stat.S_ISCHR(device.stat().st_mode)
    assert not leftovers(in_tmp)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_fifo_is_written_into_never_replaced(
    command: str, result: Path, in_tmp: Path, quick_report: None
) -> None:
    fifo = in_tmp / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so opening for writing does not wait
    try:
        assert main(COMMANDS[command](result, str(fifo))) == 0
        assert os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert not leftovers(in_tmp)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_socket_file_is_refused(
    command: str, result: Path, in_tmp: Path, quick_report: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind("sock")
        assert main(COMMANDS[command](result, "sock")) == 2
        assert "not a regular file, character device or FIFO" in one_error_line(capsys)
        assert stat.S_ISSOCK(os.stat("sock").st_mode)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_symbolic_link_stays_and_its_target_is_written(
    command: str, result: Path, in_tmp: Path, quick_report: None
) -> None:
    (in_tmp / "real.txt").write_text("old")
    (in_tmp / "link.txt").symlink_to("real.txt")
    assert main(COMMANDS[command](result, "link.txt")) == 0
    assert (in_tmp / "link.txt").is_symlink() and (in_tmp / "real.txt").read_text() != "old"
    assert not leftovers(in_tmp)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_undecodable_bytes_in_names_are_written_as_escapes(
    command: str, tmp_path: Path, quick_report: None
) -> None:
    doc = document(grid(sizes=(64,)), machine="m\udcfe", label="bad\udcff")
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))  # ensure_ascii: the file holds the escapes "\udcfe", as a run can
    out = tmp_path / "out.txt"
    assert main(COMMANDS[command](path, str(out))) == 0
    assert out.stat().st_size > 0 and not leftovers(tmp_path)


def test_the_report_page_itself_survives_undecodable_names(tmp_path: Path) -> None:
    cells = [pingpong("pipe", 64, [10_000.0, 10_100.0, 9_900.0]), stream("pipe", 64, [1e8, 1.01e8, 0.99e8])]
    odd = write(document(cells, machine="m\udcfe", label="bad\udcff"), tmp_path / "odd.json")
    plain = write(document(cells, created="2026-11-27T00:00:00Z"), tmp_path / "plain.json")
    assert main(["report", str(odd), str(plain), "-o", str(tmp_path / "index.html")]) == 0
    assert "m\\udcfe" in (tmp_path / "index.html").read_text()


# ---- inputs: read and checked before any work ----------------------------------------------------------


def test_compare_checks_the_confirming_file_first(
    result: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(result), str(result), "--confirm", str(tmp_path / "nonexistent")]) == 2
    assert "nonexistent: no such file or folder" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("where", "key"), [("runs", "p50_ns"), ("runs", "bytes_per_s"), ("latency_ns", "p50")]
)
@pytest.mark.parametrize("command", ["compare", "history", "report", "export"])
def test_a_zero_figure_is_refused_in_one_line(
    where: str, key: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = document(grid(sizes=(64,)))
    bad = copy.deepcopy(good)
    cell = bad["cells"][0]
    for target in cell["runs"] if where == "runs" else [cell[where]]:
        target[key] = 0
    base, new = write(good, tmp_path / "base.json"), write(bad, tmp_path / "new.json")
    out = str(tmp_path / "out")
    args = {
        "compare": ["compare", str(base), str(new)],
        "history": ["history", str(base), str(new)],
        "report": ["report", str(base), str(new), "-o", out],
        "export": ["export", str(new), "--format", "bencher", "-o", out],
    }[command]
    assert main(args) == 2
    assert "expected a positive number, got 0" in one_error_line(capsys)
    assert not Path(out).exists()


def test_report_skips_json_that_is_not_a_result_and_counts_a_file_once(
    result: Path, tmp_path: Path, quick_report: None, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = result.parent.parent
    (folder / "export.json").write_text(json.dumps([{"name": "pipe pingpong 64", "value": 1}]))
    out = tmp_path / "index.html"
    assert (
        main(
            ["report", str(folder), str(result), str(folder / "m1" / ".." / "m1" / "a.json"), "-o", str(out)]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == f"report: {out} (1 result file)"


def test_an_unreadable_result_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(document(grid(sizes=(64,))), tmp_path / "a.json")
    os.chmod(path, 0)
    if os.access(path, os.R_OK):  # root reads any file: have the kernel's refusal raised as for a user
        real_open = Path.open

        def refuse(self: Path, *args: object, **kwargs: object) -> object:
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "open", refuse)
    for command in (["compare", str(path), str(path)], ["history", str(path)], ["show", str(path)]):
        assert main(command) == 2
        assert "Permission denied" in one_error_line(capsys)


# ---- compare: what a pass means ------------------------------------------------------------------------


def test_comparing_a_file_with_itself_says_so(result: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(result), str(result)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "note: BASE and NEW are the same run: every ratio is 1 by construction, nothing was tested" in out
    assert "gate: pass" in out and "nothing was tested" in out.split("gate: pass")[1]


def test_files_with_nothing_in_common_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write(document([pingpong("pipe", 64, [1e4, 1.01e4, 0.99e4])]), tmp_path / "b.json")
    failed = not_measured("pipe", "pingpong", 64, "failed", "peer died")  # the same cell, never measured
    new = write(document([failed]), tmp_path / "n.json")
    assert main(["compare", str(base), str(new), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "- no cell was measured in both files: nothing was compared" in out


def test_ratio_columns_say_which_way_is_better(result: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(result), str(result), "--format", "markdown"]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| mechanism"))
    assert "p50 RTT (<1 better)" in header and "throughput (>1 better)" in header
