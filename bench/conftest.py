"""pytest-benchmark front for ipcbench: options that choose the cells, and a leak check like tests/ has.

    pytest bench/ --benchmark-json=results/pytest-benchmark.json
    pytest bench/ --ipc-transports pipe,posix-shm/spin --ipc-sizes 64,4K --benchmark-compare-fail=median:10%

The default suite is the quick profile's grid (every mechanism and variant, pingpong and stream, 64 B,
4 KiB and 1 MiB, in both tiers where the native one is built: ``--ipc-impl python`` for one) with few
rounds, so it finishes in about a minute.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipcbench.ledger import Ledger
from ipcbench.plan import PROFILES, default_impls, in_tier, parse_impls
from ipcbench.transports import all_pairs, resolve
from ipcbench.units import parse_sizes
from ipcbench.workloads import DEFAULT_WORKLOADS


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ipcbench")
    group.addoption(
        "--ipc-transports",
        default=None,
        help="comma list of mechanisms: pipe, posix-shm (all variants), posix-shm/spin (default: all)",
    )
    group.addoption(
        "--ipc-sizes", default=None, help="comma list of message sizes (default: the quick profile's)"
    )
    group.addoption(
        "--ipc-workloads", default=",".join(DEFAULT_WORKLOADS), help="pingpong,stream (default: both)"
    )
    group.addoption("--ipc-rounds", type=int, default=5, help="measured rounds per benchmark (default 5)")
    group.addoption(
        "--ipc-impl",
        default=None,
        help="comma list of tiers: python,native (default: both where the native tier is built)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # `make bench-pytest` writes into results/, which a fresh clone does not have yet.
    target = config.getoption("benchmark_json", None)
    if target:
        Path(str(target)).parent.mkdir(parents=True, exist_ok=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "ipc_cell" not in metafunc.fixturenames:
        return
    config = metafunc.config
    words = config.getoption("--ipc-transports")
    pairs = resolve(words.split(",")) if words else all_pairs()
    sizes_text = config.getoption("--ipc-sizes")
    sizes = parse_sizes(sizes_text) if sizes_text else PROFILES["quick"].sizes
    workloads = [w.strip() for w in config.getoption("--ipc-workloads").split(",") if w.strip()]
    impls_text = config.getoption("--ipc-impl")
    impls = parse_impls(impls_text) if impls_text else default_impls()
    cells = [
        (name, variant, workload, size, impl)
        for size in sizes
        for workload in workloads
        for name, variant in pairs
        for impl in impls
        if in_tier(impl, name, variant)
    ]
    # A Python cell keeps the id it had before tiers existed; a native one says so.
    ids = [
        f"{workload}-{name}{'-' + variant if variant else ''}-{size}{'-native' if impl == 'native' else ''}"
        for name, variant, workload, size, impl in cells
    ]
    metafunc.parametrize("ipc_cell", cells, ids=ids)


def _own_objects() -> set[str]:
    """Kernel objects this process made and has not removed: what its ledger still lists, and POSIX
    objects named after its pid. Objects of other processes (a concurrent ipcbench run) are not ours."""
    found: set[str] = set()
    ledger = Ledger()
    if ledger.path.exists():
        found.add(f"ledger {ledger.path}: {ledger.path.read_text()}")
    prefix = f"ipcbench-{os.getpid()}-"
    for folder in ("/dev/shm", "/dev/mqueue"):
        if os.path.isdir(folder):
            found.update(f"{folder}/{name}" for name in os.listdir(folder) if name.startswith(prefix))
    return found


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Every benchmark must remove the kernel objects it made, as every ipcbench run must."""
    before = _own_objects()
    yield
    leaked = _own_objects() - before
    assert not leaked, f"the benchmark left IPC objects behind: {sorted(leaked)}"
