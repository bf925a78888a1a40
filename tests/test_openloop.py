"""``openloop``: the arithmetic to the nanosecond (an in-process sender over a fake clock and a fake
endpoint: no transport is being tested there), the whole cell through the runner over the mock (the sweep's
shape, a file that loads), and checked payloads over real mechanisms in both tiers."""

from __future__ import annotations

import array
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipcbench import store
from ipcbench.errors import PeerError
from ipcbench.payload import SEQ, Payload
from ipcbench.plan import Cell, RunOptions, build_options, finalise
from ipcbench.runner import Runner
from ipcbench.workloads.openloop import (
    KEEP_SHARE,
    RATE_FRACTIONS,
    delivered_rate,
    interval_ns,
    knee,
    latencies,
    send_on_schedule,
    sweep_entry,
)
from tests.conftest import IMPLS, skip_unless_tier_runs
from tests.seams import MOCK_REGISTRY

INTERVAL = 1000
START = 1000
ARRIVES_AFTER = 100  # the fake channel delivers every message 100 ns after its send returns
STALLED, STALL = 3, 5000  # the send of message 3 blocks for 5 us
REAL = [("pipe", None), ("unix", None), ("posix-shm", "spin"), ("posix-mq", None)]


class FakeClock:
    """Advances one nanosecond per read, so a sender spinning towards a send time stops exactly on it."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        self.now += 1
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += int(seconds * 1e9)


class StallingEndpoint:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.arrivals: list[int] = []

    def send(self, view: memoryview) -> None:
        if SEQ.unpack_from(view, 0)[0] == STALLED:
            self.clock.now += STALL
        self.arrivals.append(self.clock.now + ARRIVES_AFTER)


def schedule(count: int = 10) -> tuple[np.ndarray, np.ndarray]:
    clock = FakeClock()
    endpoint = StallingEndpoint(clock)
    sends = np.zeros(count, dtype=np.int64)
    send_on_schedule(endpoint, Payload(64, 1), 0, count, INTERVAL, START, sends, clock, clock.sleep)  # type: ignore[arg-type]
    return sends, np.array(endpoint.arrivals, dtype=np.int64)


def test_a_sender_on_time_sends_at_the_intended_times() -> None:
    sends, _ = schedule()
    assert sends[:4].tolist() == [START + i * INTERVAL for i in range(4)]


def test_a_stalled_send_shows_in_the_corrected_latency_of_every_message_behind_it() -> None:
    sends, arrivals = schedule()
    corrected, uncorrected = latencies(START, INTERVAL, sends, arrivals)
    # Message 3 left on time and took 5 us; 4 to 8 left late, back to back (one clock read apart), each
    # waiting for the one before; 9 was due after the backlog had cleared.
    assert corrected.tolist() == [100, 100, 100, 5100, 4101, 3102, 2103, 1104, 105, 100]
    # Timed from its actual send, every message but the stalled one looks fast: coordinated omission.
    assert uncorrected.tolist() == [100, 100, 100, 5100, 100, 100, 100, 100, 100, 100]
    assert (corrected >= uncorrected).all()


class RandomlyStallingEndpoint(StallingEndpoint):
    """Each send blocks for its own time: a channel whose sends sometimes wait for room."""

    def __init__(self, clock: FakeClock, stalls: list[int]) -> None:
        super().__init__(clock)
        self.stalls = stalls

    def send(self, view: memoryview) -> None:
        self.clock.now += self.stalls[len(self.arrivals)]
        self.arrivals.append(self.clock.now + ARRIVES_AFTER)


@given(
    stalls=st.lists(st.integers(0, 20_000), min_size=1, max_size=40),
    interval=st.integers(1, 5_000),
)
@settings(max_examples=60, deadline=None)
def test_corrected_latency_is_uncorrected_plus_the_lateness_of_each_send(
    stalls: list[int], interval: int
) -> None:
    clock = FakeClock()
    endpoint = RandomlyStallingEndpoint(clock, stalls)
    sends = np.zeros(len(stalls), dtype=np.int64)
    send_on_schedule(endpoint, Payload(64, 1), 0, len(stalls), interval, START, sends, clock, clock.sleep)  # type: ignore[arg-type]
    arrivals = np.array(endpoint.arrivals, dtype=np.int64)
    corrected, uncorrected = latencies(START, interval, sends, arrivals)
    lateness = sends - (START + interval * np.arange(len(stalls)))
    assert (lateness >= 0).all()  # never sent early
    assert (corrected == uncorrected + lateness).all()  # so every percentile of corrected >= uncorrected
    assert delivered_rate(START, interval, arrivals) < 1e9 / interval  # never more than offered


def test_a_sleeping_sender_wakes_before_the_send_time_and_spins_onto_it() -> None:
    clock = FakeClock()
    endpoint = StallingEndpoint(clock)
    sends = np.zeros(2, dtype=np.int64)
    far = 10_000_000  # 10 ms apart: the sender sleeps most of it
    send_on_schedule(endpoint, Payload(64, 1), 10, 2, far, START, sends, clock, clock.sleep)  # type: ignore[arg-type]
    assert sends.tolist() == [START, START + far]
    assert clock.now < START + far + 10  # it did not spin through 10 million reads


def test_on_one_cpu_the_sender_yields_while_it_spins_and_still_sends_on_time() -> None:
    clock = FakeClock()
    yields: list[int] = []
    sends = np.zeros(3, dtype=np.int64)
    endpoint = StallingEndpoint(clock)
    relax = lambda: yields.append(clock.now)  # noqa: E731
    send_on_schedule(endpoint, Payload(64, 1), 10, 3, INTERVAL, START, sends, clock, clock.sleep, relax)  # type: ignore[arg-type]
    assert sends.tolist() == [START + i * INTERVAL for i in range(3)]
    assert len(yields) >= 3 * (INTERVAL - 2)  # once per clock read it spun through


def test_rates_intervals_and_delivery() -> None:
    assert interval_ns(1e6) == 1000
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            interval_ns(bad)
    on_time = np.array([1000, 2000, 3000, 4000])  # sent every us from 1000, each took no time at all
    assert delivered_rate(1000, 1000, on_time) == pytest.approx(1e6)
    late_burst = np.array([9000, 9000, 9000, 9000])  # all delivered together at 9 us: not kept
    assert delivered_rate(1000, 1000, late_burst) == pytest.approx(4e9 / 9000)


def entry_of(runs: list[list[int]], achieved: list[float], offered: float = 1000.0) -> dict:
    corrected = [np.array(run, dtype=np.int64) for run in runs]
    return sweep_entry(1.2, offered, corrected, [run // 2 for run in corrected], achieved)


def test_a_rate_not_kept_is_reported_as_offered_and_not_kept() -> None:
    entry = entry_of([[10, 20], [30, 40]], [800.0, 900.0])
    assert entry["offered_msgs_per_s"] == 1000.0  # never lowered to what was achieved
    assert entry["achieved_msgs_per_s"] == 850.0
    assert entry["kept"] is False
    assert entry["latency_ns"]["max"] == 40 and entry["latency_uncorrected_ns"]["max"] == 20
    assert (
        set(entry["latency_ns"])
        == set(entry["latency_uncorrected_ns"])
        == {"p50", "p90", "p99", "p999", "max"}
    )
    assert entry["runs_p50_ns"] == [15.0, 35.0] and entry["messages"] == 4
    assert entry_of([[1]], [KEEP_SHARE * 100.0], offered=100.0)["kept"] is True


def test_the_knee_is_where_p99_doubles() -> None:
    def entry(rate: float, p99: float) -> dict:
        return {"offered_msgs_per_s": rate, "latency_ns": {"p99": p99}}

    assert knee([entry(500, 150), entry(100, 100), entry(900, 250)]) == 900
    assert knee([entry(100, 100), entry(500, 150)]) is None
    assert knee([]) is None


@pytest.fixture(scope="module")
def mock_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    options = build_options(
        profile="quick",
        transports="mock/fast",
        sizes="64",
        workloads="openloop",
        repeats=2,
        budget_s=0.002,
        max_messages=300,
        output=tmp_path_factory.mktemp("results"),
        registry=MOCK_REGISTRY,
    )
    return Runner(options, registry=MOCK_REGISTRY).run()


def test_a_cell_holds_its_capacity_and_one_entry_per_offered_rate(mock_run: tuple[dict, Path]) -> None:
    document, path = mock_run
    (cell,) = document["cells"]
    assert cell["status"] == "ok" and cell["latency_ns"] is None
    assert cell["capacity_msgs_per_s"] == cell["throughput"]["msgs_per_s"] > 0
    sweep = cell["rate_sweep"]
    assert [entry["fraction_of_capacity"] for entry in sweep] == list(RATE_FRACTIONS)
    for entry in sweep:
        assert entry["offered_msgs_per_s"] == pytest.approx(
            entry["fraction_of_capacity"] * cell["capacity_msgs_per_s"]
        )
        assert entry["latency_ns"]["p99"] >= entry["latency_uncorrected_ns"]["p99"]
        assert len(entry["runs_p99_ns"]) == 2
    assert store.load(path) == json.loads(json.dumps(document))


def test_a_file_without_sweeps_still_loads_and_a_broken_sweep_is_refused(
    mock_run: tuple[dict, Path], tmp_path: Path
) -> None:
    document = json.loads(json.dumps(mock_run[0]))
    cell = document["cells"][0]
    del cell["rate_sweep"], cell["capacity_msgs_per_s"]
    (tmp_path / "old.json").write_text(json.dumps(document))
    store.load(tmp_path / "old.json")
    cell.update(rate_sweep=[{"offered_msgs_per_s": 1.0, "achieved_msgs_per_s": 1.0, "kept": True}])
    (tmp_path / "bad.json").write_text(json.dumps(document))
    with pytest.raises(store.ResultFileError, match=r"rate_sweep\[0\]: missing key 'latency_ns'"):
        store.load(tmp_path / "bad.json")


def test_openloop_is_measured_only_when_asked_for() -> None:
    assert "openloop" not in build_options(profile="quick").workloads
    assert "openloop" not in build_options(profile="full").workloads


def runner(**overrides: object) -> Runner:
    settings: dict[str, Any] = {"profile": "quick", "timeout_s": 20, **overrides}
    return Runner(finalise(RunOptions(**settings)))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("name", "variant"), REAL, ids=[n if v is None else f"{n}/{v}" for n, v in REAL])
@pytest.mark.parametrize("size", [64, 4109])
def test_openloop_carries_checked_messages_on_schedule(
    name: str, variant: str | None, size: int, impl: str
) -> None:
    skip_unless_tier_runs(impl, name, variant)
    rate = 20_000.0
    run = runner().measure_run(Cell(name, variant, "openloop", size, impl), count=60, warmup=3, rate=rate)
    assert len(run.samples) == len(run.uncorrected) == 60
    assert (run.samples >= run.uncorrected).all() and (run.uncorrected > 0).all()
    assert run.achieved_msgs_per_s is not None and run.achieved_msgs_per_s <= rate * 1.01


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("fault", ["corrupt", "drop", "duplicate"])
def test_a_damaged_message_fails_the_run(fault: str, impl: str) -> None:
    skip_unless_tier_runs(impl, "pipe", None)
    measure = runner(fault=f"{fault}@5:initiator", repeats=1).measure_run  # only the initiator sends
    with pytest.raises(PeerError, match=r"PayloadError: message [56]"):
        measure(Cell("pipe", None, "openloop", 64, impl), count=40, warmup=3, rate=10_000.0)


def test_a_native_sender_that_hangs_is_timed_out() -> None:
    skip_unless_tier_runs("native", "posix-shm", "spin")
    started = time.monotonic()
    measure = runner(fault="hang@5:initiator", repeats=1, timeout_s=2).measure_run
    with pytest.raises(PeerError, match=r"^timed out after 2 s"):
        measure(Cell("posix-shm", "spin", "openloop", 64, "native"), count=40, warmup=3, rate=10_000.0)
    assert time.monotonic() - started < 30


def test_the_native_sender_keeps_the_schedule_and_its_messages_pass_the_python_check() -> None:
    """The C sender over a pipe, read here: message i leaves at or after start + i * interval, its recorded
    send time is a CLOCK_MONOTONIC reading at or after that, and the bytes are the Python tier's."""
    skip_unless_tier_runs("native", "pipe", None)
    from ipcbench import _native

    size, count, interval = 64, 5, 300_000
    out_r, out_w = os.pipe()
    channel = _native.fd_channel(size, out_r, out_w, False)
    sends = array.array("q", bytes(8 * count))
    try:
        start = time.monotonic_ns() + 1_000_000
        channel.openloop_send(Payload(size, 3).buffer, 0, count, start, interval, 200_000, sends, False)
        checker = Payload(size, 3)
        for seq in range(count):
            checker.verify(seq, bytearray(os.read(out_r, size)))
            assert start + seq * interval <= sends[seq] <= time.monotonic_ns()
    finally:
        channel.close()
        os.close(out_r)
        os.close(out_w)
