"""The command line: bad input gets one clear line and exit status 2 with nothing written; Ctrl-C keeps
the finished cells and leaves no object; a hung peer becomes a failed cell and the run goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipcbench import store
from ipcbench.plan import default_impls
from tests.conftest import ROOT, restore_sigint, run_cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--transports", "carrier-pigeon"], "unknown mechanism 'carrier-pigeon'"),
        (["run", "--transports", "posix-shm/nap"], "unknown variant 'posix-shm/nap'"),
        (["run", "--sizes", "4Q"], "malformed size '4Q'"),
        (["run", "--sizes", "0"], "size '0' is below the minimum"),
        (["run", "--sizes", "-5"], "malformed size '-5'"),
        (["run", "--profile", "leisurely"], "unknown profile 'leisurely'"),
        (["run", "--workloads", "juggle"], "unknown workload 'juggle'"),
        (["run", "--repeats", "0"], "--repeats must be from 1 to 100"),
        (["show", "/nonexistent/result.json"], "no such file"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_cli(*args, "--output", str(tmp_path)) if args[0] == "run" else run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_an_unwritable_output_folder_is_refused_before_measuring(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run_cli("run", "--transports", "pipe", "--sizes", "64", "--output", str(blocker / "sub"))
    assert result.returncode == 2
    assert result.stderr.startswith("ipcbench: error: cannot write results to")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("content", ["{not json", '{"schema_version": 1}', "[]", ""])
def test_show_refuses_a_malformed_file(content: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = run_cli("show", str(bad))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(bad) in result.stderr


def test_run_then_show(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "--transports",
        "pipe",
        "--sizes",
        "64",
        "--profile",
        "quick",
        "--repeats",
        "2",
        "--output",
        str(tmp_path),
        "--machine-name",
        "box",
        env={"COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip().splitlines()[-1].removeprefix("results: "))
    assert path.parent == tmp_path / "box"
    assert store.load(path)["status"] == "complete"
    shown = run_cli("show", str(path), env={"COLUMNS": "200"})
    assert shown.returncode == 0
    assert "pipe" in shown.stdout and "pingpong" in shown.stdout and "stream" in shown.stdout


def test_list_shows_every_mechanism_and_the_limits() -> None:
    result = run_cli("list", env={"COLUMNS": "200"})
    assert result.returncode == 0
    for name in (
        "pipe",
        "fifo",
        "unix",
        "tcp",
        "sysv-shm/sem",
        "sysv-shm/spin",
        "posix-shm/sem",
        "posix-shm/spin",
        "sysv-mq",
        "posix-mq",
        "mq_msgsize_max",
        "msgmax",
    ):
        assert name in result.stdout


class _Bounded:
    """A mechanism that carries at most ``most`` bytes (``skip_reason`` is all ``list`` asks of it)."""

    def __init__(self, most: int) -> None:
        self.most = most

    def skip_reason(self, size: int, limits: dict) -> object:
        return None if size <= self.most else "too large"


@pytest.mark.parametrize(
    ("most", "shown"),
    [(8192, "8K"), (4263616, "4163K"), (2 << 20, "2M"), (5000, "4K"), (1000, "1000")],
)
def test_list_shows_a_size_limit_in_whole_units_rounded_down(most: int, shown: str) -> None:
    from ipcbench.cli import _largest_size

    assert _largest_size(_Bounded(most), {}) == shown


def _wait_for_cells(path_glob: Path, count: int, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in path_glob.glob("*/*.json"):
            try:
                if len(json.loads(path.read_text())["cells"]) >= count:
                    return path
            except (ValueError, OSError):
                pass
        time.sleep(0.05)
    raise AssertionError("the run did not save a cell in time")


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_ctrl_c_keeps_finished_cells_and_leaves_nothing(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ipcbench",
            "run",
            "--transports",
            "pipe,sysv-shm,posix-shm,sysv-mq,posix-mq,fifo",
            "--sizes",
            "64",
            "--workloads",
            "pingpong",
            "--budget",
            "0.2",
            "--repeats",
            "3",
            "--output",
            str(tmp_path),
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=restore_sigint,
    )
    try:
        _wait_for_cells(tmp_path, 1)
        time.sleep(0.3)  # land inside a later cell, with objects and children alive
        children = _children_of(process.pid)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    document = store.load(next(tmp_path.glob("*/*.json")))
    assert document["status"] == "interrupted"
    assert 1 <= len(document["cells"]) < 6
    assert all(cell["status"] == "ok" for cell in document["cells"])
    for child in children:
        assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text()


def test_a_hung_peer_is_timed_out_as_a_failed_cell_and_the_run_goes_on(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_cli(
        "run",
        "--transports",
        "pipe,posix-shm/spin",
        "--sizes",
        "64",
        "--workloads",
        "pingpong",
        "--profile",
        "quick",
        "--timeout",
        "2",
        "--output",
        str(tmp_path),
        "--quiet",
        env={"IPCBENCH_INJECT_FAULT": "hang@5:peer"},
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    document = store.load(next(tmp_path.glob("*/*.json")))
    # A native cell that hangs (in its C loop, GIL released) is timed out like a Python one.
    assert [cell["status"] for cell in document["cells"]] == ["failed", "failed"] * len(default_impls())
    assert [cell["impl"] for cell in document["cells"]] == list(default_impls()) * 2
    for cell in document["cells"]:
        assert cell["reason"].startswith("timed out after 2 s")


def test_a_crashing_peer_is_a_failed_cell_with_the_reason(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "--transports",
        "unix",
        "--sizes",
        "64",
        "--workloads",
        "stream",
        "--profile",
        "quick",
        "--output",
        str(tmp_path),
        "--quiet",
        env={"IPCBENCH_INJECT_FAULT": "crash@3:initiator"},
    )
    assert result.returncode == 0, result.stderr
    cell = store.load(next(tmp_path.glob("*/*.json")))["cells"][0]
    assert cell["status"] == "failed"
    assert "initiator process died without a report (exit status 3)" in cell["reason"]
    assert os.environ.get("IPCBENCH_INJECT_FAULT") is None


def test_the_console_entry_flushes_everything_before_its_quick_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m ipcbench`` ends read-only commands with ``os._exit``: their output, into a pipe (block
    buffered), and their files must all be there, exactly as ``main`` gives them in-process."""
    from ipcbench import cli

    golden = ROOT / "tests" / "golden" / "result-v2-real.json"
    assert cli.main(["history", str(golden), "--format", "json"]) == 0
    in_process = capsys.readouterr().out
    piped = subprocess.run(
        [sys.executable, "-m", "ipcbench", "history", str(golden), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert (piped.returncode, piped.stderr) == (0, "")
    assert json.loads(piped.stdout) == json.loads(in_process)
    page = tmp_path / "page.html"
    made = subprocess.run(
        [sys.executable, "-m", "ipcbench", "report", str(golden), "-o", str(page)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert (made.returncode, made.stderr) == (0, "")
    assert made.stdout == f"report: {page} (1 result file)\n"
    assert page.read_text().rstrip().endswith("</html>")
    assert list(tmp_path.iterdir()) == [page]  # no temporary file left beside it


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["show"], ["history", "--format", "json"]])
def test_output_to_a_full_disk_is_one_line_and_exit_2(args: list[str], tmp_path: Path) -> None:
    golden = ROOT / "tests" / "golden" / "result-v2-real.json"
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "ipcbench", args[0], str(golden), *args[1:]],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    assert done.returncode == 2
    assert done.stderr == "ipcbench: error: cannot write to the standard output: No space left on device\n"
