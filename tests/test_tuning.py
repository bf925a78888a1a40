"""``--tune``: values parsed and checked before anything runs, the value in force read back from the kernel
and stored in ``params``, and a tuned cell a distinct, labelled cell everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipcbench import compare, exports, tuning
from ipcbench.errors import InputError
from ipcbench.machine import read_limits
from ipcbench.plan import Cell, RunOptions, build_options, cells, finalise
from ipcbench.runner import Runner
from ipcbench.transports import cell_label
from tests.conftest import run_cli

MIB = 1 << 20


def test_values_are_parsed_with_default_as_the_untuned_cell() -> None:
    tunes = tuning.parse(["pipe_buffer=default,1M", "spin_us=5"], read_limits())
    assert tunes == {"pipe_buffer": (None, MIB), "spin_us": (5,)}
    assert tuning.combinations(tunes, ("pipe_buffer",)) == [(), (("pipe_buffer", MIB),)]
    assert tuning.combinations(tunes, ()) == [()]
    assert tuning.text({"pipe_buffer": MIB, "spin_us": 5}) == "pipe_buffer=1M,spin_us=5"


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("colour=red", "use KEY=VALUE"),
        ("slots=3", "power of two"),
        ("spin_us=-1", "whole number"),
        ("pipe_buffer", "use KEY=VALUE"),
    ],
)
def test_bad_words_are_input_errors(word: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        tuning.parse([word], read_limits())


def test_a_setting_applies_only_to_the_mechanisms_that_have_it() -> None:
    options = build_options(
        transports="pipe,unix,posix-shm/spin,posix-shm/hybrid",
        sizes="64",
        workloads="stream",
        impls="python",
        tune=("pipe_buffer=default,1M", "spin_us=5,100"),
    )
    labels = [cell.mechanism for cell in cells(options)]
    assert labels == [
        "pipe",
        "pipe[pipe_buffer=1M]",
        "unix",
        "posix-shm/spin",
        "posix-shm/hybrid[spin_us=5]",
        "posix-shm/hybrid[spin_us=100]",
    ]


@pytest.mark.parametrize(
    ("word", "sysctl"),
    [("pipe_buffer=1G", "fs.pipe-max-size"), ("socket_buffer=1G", "net.core.wmem_max")],
)
def test_a_refused_value_is_one_line_exit_2_and_nothing_written(
    word: str, sysctl: str, tmp_path: Path
) -> None:
    result = run_cli("run", "--transports", "pipe,unix", "--tune", word, "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and sysctl in lines[0] and word in lines[0], result.stderr
    assert not (tmp_path / "out").exists()


def measured(name: str, tune: tuple, workload: str = "stream") -> dict:
    runner = Runner(finalise(RunOptions(profile="quick", timeout_s=20)))
    return runner.measure_run(Cell(name, None, workload, 4096, tune=tune), count=20, warmup=2)["params"]


@pytest.mark.parametrize("name", ["pipe", "fifo"])
def test_the_pipe_buffer_in_force_is_read_back(name: str) -> None:
    assert measured(name, ())["pipe_buffer"] == 65536
    assert measured(name, (("pipe_buffer", MIB),))["pipe_buffer"] == MIB
    # The kernel rounds up to a power of two pages: what is stored is what the kernel granted.
    assert measured(name, (("pipe_buffer", 100_000),))["pipe_buffer"] == 131072


@pytest.mark.parametrize("name", ["unix", "tcp"])
def test_socket_buffers_in_force_are_read_back(name: str) -> None:
    params = measured(name, (("socket_buffer", 65536),))
    assert params["sndbuf"] == params["rcvbuf"] == 2 * 65536  # the kernel doubles it for bookkeeping


def test_queue_depth_and_ring_slots_are_read_back() -> None:
    runner = Runner(finalise(RunOptions(profile="quick", timeout_s=20)))
    mq = runner.measure_run(
        Cell("posix-mq", None, "stream", 64, tune=(("queue_depth", 4),)), count=20, warmup=2
    )
    assert mq["params"]["slots"] == 4
    ring = runner.measure_run(
        Cell("sysv-shm", "spin", "stream", 64, tune=(("slots", 8),)), count=20, warmup=2
    )
    assert ring["params"]["slots"] == 8


def test_a_tuned_cell_is_a_distinct_labelled_cell_in_compare_and_exports() -> None:
    base = {"transport": "pipe", "variant": None, "workload": "stream", "size": 64}
    tuned = {**base, "tune": {"pipe_buffer": MIB}}
    assert cell_label(base) == "pipe" and cell_label(tuned) == "pipe[pipe_buffer=1M]"
    keys = compare.cells_by_key({"cells": [base, tuned]}, Path("x.json"))
    assert len(keys) == 2
    assert exports.cell_name(tuned) == "pipe[pipe_buffer=1M] stream 64"
    hybrid = {**base, "transport": "posix-shm", "variant": "hybrid", "tune": {"spin_us": 5}}
    assert cell_label(hybrid) == "posix-shm/hybrid[spin_us=5]"


def test_in_place_receive_is_a_python_tier_setting() -> None:
    from ipcbench.plan import tunables
    from ipcbench.transports import REGISTRY

    assert "receive" in tunables(REGISTRY, "posix-shm", "spin", "python")
    assert "receive" not in tunables(REGISTRY, "posix-shm", "spin", "native")
    assert "slots" in tunables(REGISTRY, "posix-shm", "spin", "native")
