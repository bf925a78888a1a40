"""The registry: mechanisms found through the entry point group, loaded lazily, and a mechanism that cannot
be loaded listed as unavailable with the error instead of breaking anything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipcbench.transports import REGISTRY, Registry, Transport, resolve
from ipcbench.transports.pipe import PipeTransport
from ipcbench.transports.registry import Source
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
BUILT_INS = [
    *("pipe", "fifo", "unix", "unix-seqpacket", "tcp", "sysv-shm", "posix-shm", "sysv-mq", "posix-mq"),
    *("mp-pipe", "mp-queue", "mp-shm", "zmq"),  # the library layer after the kernel layer
]

# Makes the binding libraries unimportable in a child Python (as on a machine without them).
BLOCKER = """
import importlib.abc, sys

class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("posix_ipc", "sysv_ipc"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Blocker())
"""


def test_the_built_ins_come_from_the_entry_point_group_in_the_designs_order() -> None:
    assert [name for name in REGISTRY if name != "mock"] == BUILT_INS
    assert all(REGISTRY[name].unavailable() is None for name in ("pipe", "fifo", "unix", "tcp"))


def test_nothing_is_imported_before_it_is_asked_for() -> None:
    imported = "sorted(m for m in sys.modules if m in ('posix_ipc', 'sysv_ipc') or '.transports.' in m)"
    code = f"import sys, ipcbench.transports, ipcbench.compare; print({imported})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "['ipcbench.transports.base', 'ipcbench.transports.registry']"


class _NotCalledPipe(Transport):
    name = "pipe"


def _raise() -> type[Transport]:
    raise ImportError("No module named 'zeromq_binding'")


@pytest.mark.parametrize(
    ("source", "error"),
    [
        (Source("zmq", _raise, "plugin.zmq:ZmqTransport from plugin"), "cannot load plugin.zmq:ZmqTransport"),
        (Source("odd", lambda: object, "plugin:odd from plugin"), "is not a Transport subclass"),
        (Source("odd", lambda: PipeTransport, "plugin:odd from plugin"), "calls itself 'pipe'"),
    ],
    ids=["import-error", "not-a-transport", "wrong-name"],
)
def test_a_plugin_that_cannot_be_loaded_is_unavailable_with_the_error(source: Source, error: str) -> None:
    registry = Registry([Source("pipe", lambda: PipeTransport, "built-in"), source])
    assert list(registry) == ["pipe", source.name]
    reason = registry[source.name].unavailable()
    assert reason is not None and error in reason
    assert registry["pipe"] is PipeTransport
    assert resolve([source.name], registry) == [(source.name, None)]


def test_a_plugin_cannot_take_a_built_ins_name() -> None:
    registry = Registry(
        [Source("pipe", lambda: PipeTransport, "built-in"), Source("pipe", lambda: _NotCalledPipe, "plugin")]
    )
    assert registry["pipe"] is PipeTransport
    (rejected,) = registry.rejected()
    assert rejected.name == "pipe" and "is taken by built-in" in str(rejected.unavailable())


def test_an_unavailable_mechanism_skips_its_cells_with_the_reason(tmp_path: Path) -> None:
    from ipcbench.plan import Cell, build_options
    from ipcbench.runner import Runner

    registry = Registry([Source("zmq", _raise, "plugin.zmq:ZmqTransport")])
    options = build_options(transports="zmq", sizes="64", registry=registry, output=tmp_path)
    result = Runner(options, registry=registry).measure_cell(Cell("zmq", None, "pingpong", 64))
    assert result["status"] == "skipped" and "No module named 'zeromq_binding'" in result["reason"]


def _without_bindings(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {"PYTHONPATH": str(tmp_path), "COLUMNS": "300"}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )


def test_without_the_binding_libraries_the_mechanisms_are_unavailable_and_nothing_else(
    tmp_path: Path,
) -> None:
    listed = _without_bindings(tmp_path, "-m", "ipcbench", "list")
    assert listed.returncode == 0, listed.stderr
    for name in ("sysv-shm/sem", "posix-shm/spin", "sysv-mq", "posix-mq"):
        row = next(line for line in listed.stdout.splitlines() if f" {name} " in line)
        assert "no: cannot import" in row and "_ipc" in row
    run = _without_bindings(
        tmp_path, "-m", "ipcbench", "run", "--transports", "posix-mq,pipe", "--sizes", "64", "--workloads",
        "pingpong", "--repeats", "1", "--budget", "0.001", "--quiet", "--output", str(tmp_path / "out"),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    for words in (
        ["compare", str(GOLDEN / "result-v1-real.json"), str(GOLDEN / "result-v1-real.json")],
        ["history", str(GOLDEN)],
        ["report", str(GOLDEN / "result-v1-real.json"), "-o", str(tmp_path / "index.html")],
        ["export", str(GOLDEN / "result-v1-real.json"), "--format", "bencher"],
    ):
        done = _without_bindings(tmp_path, "-m", "ipcbench", *words)
        assert done.returncode == 0, (words, done.stderr)
        assert "Traceback" not in done.stderr
    loaded = _without_bindings(tmp_path, "-c", f"import ipcbench; print(len(ipcbench.load({str(GOLDEN)!r})))")
    assert loaded.returncode == 0 and int(loaded.stdout) > 0, loaded.stderr


def test_an_install_without_the_entry_points_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    from ipcbench.errors import InputError
    from ipcbench.transports.registry import entry_point_sources

    monkeypatch.setattr(metadata, "entry_points", lambda **kwargs: [])
    with pytest.raises(InputError, match=r"reinstall it \(make install\)"):
        entry_point_sources()


def test_the_mechanisms_declare_every_kind_of_object_the_ledger_cleans() -> None:
    kinds = REGISTRY.ledger_kinds()
    assert set(kinds) == {"sysv-shm", "sysv-sem", "sysv-mq", "posix-shm", "posix-sem", "posix-mq"}
