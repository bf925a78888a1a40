"""The native tier's own contract: errors become Python exceptions with errno text, the ``mutex`` variant is
native only, and where the extension is not built (simulated by blocking its import, as on a machine
without a C compiler) ``list`` and ``run`` say why native cells are missing and the Python tier still runs.

The data-carrying and fault tests of the native tier run beside the Python tier's, parametrised over
``impl`` (tests/transports/test_roundtrip.py, tests/test_payload.py), so the tiers cannot drift apart."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ipcbench import native
from ipcbench.errors import InputError
from ipcbench.payload import Payload
from ipcbench.plan import build_options, cells
from tests.conftest import ROOT

WITHOUT_NATIVE = (
    "import sys; sys.modules['ipcbench._native'] = None; "
    "from ipcbench.cli import main; sys.exit(main(sys.argv[1:]))"
)


def run_without_native(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process where ``import ipcbench._native`` fails, as after an install with no compiler."""
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_NATIVE, *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def needs_native() -> None:
    if native.unavailable() is not None:
        pytest.skip(f"native tier unavailable: {native.unavailable()}")


def test_list_says_the_native_tier_is_missing_and_why() -> None:
    result = run_without_native("list")
    assert result.returncode == 0, result.stderr
    assert "native tier (C loops, ipcbench._native): UNAVAILABLE: the C extension" in result.stdout
    assert "reinstall ipcbench where a C compiler" in result.stdout
    assert "native only (native" in result.stdout  # the mutex variant: listed, never faked in Python


def test_run_without_the_native_tier_measures_python_and_says_why(tmp_path: Path) -> None:
    common = ("--transports", "pipe", "--sizes", "64", "--workloads", "stream", "--repeats", "1")
    common += ("--budget", "0.002", "--output", str(tmp_path), "--quiet")
    result = run_without_native("run", *common)
    assert result.returncode == 0, result.stderr
    assert "running the Python tier only: the C extension ipcbench._native is not built" in result.stderr
    document = json.loads(Path(result.stdout.strip().removeprefix("results: ")).read_text())
    assert [(cell["impl"], cell["status"]) for cell in document["cells"]] == [("python", "ok")]
    assert document["config"]["native_tier"]["available"] is False

    asked = run_without_native("run", *common, "--impl", "python,native")
    assert asked.returncode == 0, asked.stderr
    document = json.loads(Path(asked.stdout.strip().removeprefix("results: ")).read_text())
    python, missing = document["cells"]
    assert (python["impl"], python["status"]) == ("python", "ok")
    assert (missing["impl"], missing["status"]) == ("native", "skipped")
    assert missing["reason"].startswith("native tier unavailable: the C extension ipcbench._native")


def test_the_mutex_variant_is_never_planned_for_the_python_tier() -> None:
    options = build_options(profile="quick", transports="posix-shm", sizes="64", impls="python,native")
    planned = {(cell.variant, cell.impl) for cell in cells(options)}
    assert ("mutex", "native") in planned and ("mutex", "python") not in planned
    with pytest.raises(InputError, match="mutex variant runs in the native tier only"):
        build_options(profile="quick", transports="sysv-shm/mutex", impls="python")
    with pytest.raises(InputError, match="unknown --impl 'rust'"):
        build_options(profile="quick", impls="python,rust")


def test_a_failing_system_call_is_an_os_error_with_its_errno_text() -> None:
    needs_native()
    from ipcbench import _native

    channel = _native.fd_channel(64, 987_654, 987_654, False)  # no such descriptor
    try:
        with pytest.raises(OSError, match=r"write: Bad file descriptor") as caught:
            channel.send_messages(Payload(64, 1).buffer, 0, 1)
        assert caught.value.errno == errno.EBADF
    finally:
        channel.close()
    with pytest.raises(ValueError, match="closed"):
        channel.echo(1)


def test_a_payload_buffer_of_the_wrong_size_is_refused_before_any_loop() -> None:
    needs_native()
    from ipcbench import _native

    channel = _native.fd_channel(64, 0, 1, False)
    try:
        with pytest.raises(ValueError, match="must hold 71 bytes"):
            channel.send_messages(bytearray(64), 0, 1)
    finally:
        channel.close()


def test_the_oneway_loops_refuse_a_message_too_small_for_the_stamp() -> None:
    needs_native()
    from ipcbench import _native

    channel = _native.fd_channel(16, 0, 1, False)
    try:
        for loop in (channel.oneway_initiate, channel.oneway_answer):
            with pytest.raises(ValueError, match="at least 24 bytes"):
                loop(Payload(16, 1).buffer, 0, 1, None)
    finally:
        channel.close()
