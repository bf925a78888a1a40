"""``oneway`` through the runner: exact legs over the mock's shared fake clock, checked payloads both ways
over real mechanisms in both tiers, corruption caught, a hang timed out, a size too small for the stamp
skipped with the reason; the native loops put the stamp where the Python tier's payload code expects it."""

from __future__ import annotations

import array
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from ipcbench import store
from ipcbench.payload import SEQ, STAMP_AT, Payload
from ipcbench.plan import Cell, RunOptions, build_options, finalise
from ipcbench.runner import Runner
from ipcbench.transports.mock import base_latency_ns
from tests.conftest import IMPLS, skip_unless_tier_runs
from tests.seams import MOCK_REGISTRY

REAL = [("pipe", None), ("unix", None), ("posix-shm", "spin"), ("posix-mq", None)]


@pytest.fixture(scope="module")
def mock_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    options = build_options(
        profile="quick",
        transports="mock/fast",
        sizes="16,64",
        workloads="oneway",
        repeats=2,
        budget_s=0.002,
        max_messages=2000,
        output=tmp_path_factory.mktemp("results"),
        registry=MOCK_REGISTRY,
    )
    return Runner(options, registry=MOCK_REGISTRY).run()


def found(document: dict, size: int) -> dict:
    return next(c for c in document["cells"] if c["size"] == size)


def test_both_legs_are_stored_and_exact_over_the_shared_fake_clock(mock_run: tuple[dict, Path]) -> None:
    cell = found(mock_run[0], 64)
    base = base_latency_ns(64)
    # Each leg spans exactly one read of the one clock both processes share.
    assert cell["latency_ns"]["p50"] == cell["latency_back_ns"]["p50"] == base
    assert cell["latency_ns"]["min"] == cell["latency_back_ns"]["min"] == base
    assert store.load(mock_run[1]) == json.loads(json.dumps(mock_run[0]))
    assert mock_run[0]["config"]["clock_resolution_ns"] > 0


def test_a_message_too_small_for_the_stamp_is_skipped_with_the_reason(mock_run: tuple[dict, Path]) -> None:
    cell = found(mock_run[0], 16)
    assert cell["status"] == "skipped"
    assert "at least 24 bytes" in cell["reason"] and cell["remedy"] == "--sizes 24 or more"


def test_oneway_is_measured_only_when_asked_for() -> None:
    assert "oneway" not in build_options(profile="quick").workloads


def runner(**overrides: object) -> Runner:
    settings: dict[str, Any] = {"profile": "quick", "timeout_s": 20, **overrides}
    return Runner(finalise(RunOptions(**settings)))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("name", "variant"), REAL, ids=[n if v is None else f"{n}/{v}" for n, v in REAL])
@pytest.mark.parametrize("size", [64, 4109])
def test_oneway_carries_checked_messages_both_ways(
    name: str, variant: str | None, size: int, impl: str
) -> None:
    skip_unless_tier_runs(impl, name, variant)
    run = runner().measure_run(Cell(name, variant, "oneway", size, impl), count=40, warmup=3)
    assert len(run.samples) == len(run.back_samples) == 40
    assert (run.samples > 0).all() and (run.back_samples > 0).all()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("role", ["initiator", "peer"])
def test_a_corrupted_message_fails_the_cell(role: str, impl: str) -> None:
    skip_unless_tier_runs(impl, "pipe", None)
    cell = runner(fault=f"corrupt@5:{role}", repeats=1).measure_cell(Cell("pipe", None, "oneway", 64, impl))
    assert cell["status"] == "failed"
    assert "PayloadError: message 5" in cell["reason"]


@pytest.mark.parametrize("role", ["initiator", "peer"])
def test_a_native_side_that_hangs_is_timed_out(role: str) -> None:
    skip_unless_tier_runs("native", "posix-shm", "spin")
    started = time.monotonic()
    cell = Cell("posix-shm", "spin", "oneway", 64, "native")
    failed = runner(fault=f"hang@5:{role}", repeats=1, timeout_s=2).measure_cell(cell)
    assert failed["status"] == "failed" and failed["reason"].startswith("timed out after 2 s")
    assert time.monotonic() - started < 30


def native_pipes(size: int) -> tuple[Any, list[int]]:
    """A native channel writing into one pipe and reading from another, and the four fds (out_r and in_w
    are this test's ends; the channel borrows the other two and never closes them)."""
    from ipcbench import _native

    out_r, out_w = os.pipe()
    in_r, in_w = os.pipe()
    return _native.fd_channel(size, in_r, out_w, False), [out_r, in_w, in_r, out_w]


def stamped(payload: Payload, seq: int, at: int) -> bytes:
    message = payload.message(seq)
    SEQ.pack_into(message, STAMP_AT, at)
    return bytes(message)


@pytest.mark.parametrize("side", ["initiate", "answer"])
def test_the_native_loops_stamp_where_the_python_tier_reads(side: str) -> None:
    """Python plays the other side over two pipes: its stamped messages pass the C checks, the C side's pass
    ``Payload.verify_stamped``, and each C stamp is a CLOCK_MONOTONIC reading taken during the call."""
    skip_unless_tier_runs("native", "pipe", None)
    size, count = 64, 3
    channel, fds = native_pipes(size)
    out_r, in_w = fds[:2]
    other = Payload(size, seed=5)
    legs = array.array("q", bytes(8 * count))
    try:
        before = time.monotonic_ns()
        for seq in range(count):  # the replies (initiate) or the initiator's messages (answer), queued ahead
            os.write(in_w, stamped(other, seq, before))
        call = channel.oneway_initiate if side == "initiate" else channel.oneway_answer
        call(Payload(size, seed=5).buffer, 0, count, legs)
        after = time.monotonic_ns()
        checker = Payload(size, seed=5)
        for seq in range(count):
            message = bytearray(os.read(out_r, size))
            checker.verify_stamped(seq, message)
            assert before <= SEQ.unpack_from(message, STAMP_AT)[0] <= after
        assert all(0 <= leg <= after - before for leg in legs)
    finally:
        channel.close()
        for fd in fds:
            os.close(fd)
