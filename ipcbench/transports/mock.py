"""A deterministic stand-in for testing everything above the transports (runner, stats, store, report,
compare), never for testing a transport.

Messages really travel (over a pipe, so the workloads, payload checks and process handling run for real),
but the clocks are fake: every read of the wall clock advances by a fixed, size-dependent step, and the CPU
clock by a fixed step, so the figures in the result file are exact and repeatable. It is no installed
mechanism: a test passes it in, ``Runner(options, registry=REGISTRY.including(MockTransport))``;
``MockTransport.scaled(1.2)`` multiplies every latency, so a test can make a "20% slower" run through the
whole pipeline.
"""

from __future__ import annotations

import mmap
from typing import Any, ClassVar

from ipcbench.transports.base import Endpoint, Skip
from ipcbench.transports.pipe import PipeTransport

MOCK_LIMIT = 1 << 20
# The wall clock's steps: a round-trip sample is one step (every second one), so whatever the phase, samples
# cycle through 98 x base, 1 x 2*base, 1 x 10*base per 100 (p50 = base, max = 10 * base).
_PATTERN = [1] * 196 + [2, 2, 10, 10]


def base_latency_ns(size: int, scale: float = 1.0) -> int:
    return int((1000 + size // 10) * scale)


class _FakeClock:
    """Advances by one step of the pattern per read. With ``state`` (a shared anonymous mapping made
    before the fork), the forked initiator and peer read one clock, as two processes read CLOCK_MONOTONIC:
    one-way legs (a stamp in one process, a reading in the other) come out exact when the two sides read in
    lockstep."""

    def __init__(self, step: int, pattern: list[int], state: Any = None) -> None:
        self.state = state if state is not None else [0, 0]
        self.step = step
        self.pattern = pattern

    def __call__(self) -> int:
        state = self.state
        state[0] += self.step * self.pattern[state[1] % len(self.pattern)]
        state[1] += 1
        return int(state[0])


class MockTransport(PipeTransport):
    """A pipe with fake clocks; ``fast`` and ``slow`` (2x) variants; sizes above 1 MiB are skipped."""

    name = "mock"
    layer = "kernel"
    variants = ("fast", "slow")
    summary = "deterministic mock (pipe with fake clocks), for tests only"
    waits: ClassVar[dict[str | None, str]] = {"fast": "block", "slow": "block"}
    fake_clocks = True
    place = 1000  # after every real mechanism

    scale: ClassVar[float] = 1.0  # multiplies every latency

    @classmethod
    def scaled(cls, scale: float) -> type[MockTransport]:
        """The mock with every latency multiplied by ``scale``."""
        return type(cls.__name__, (cls,), {"scale": scale})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The wall clock's time and read count, shared by the two forked sides (the CPU clocks are not).
        self._clock_state = memoryview(mmap.mmap(-1, 16)).cast("q")

    def open(self, role: str) -> Endpoint:
        """The pipe's endpoint with fake clocks: one shared wall clock, a CPU clock per process."""
        endpoint = super().open(role)
        factor = 2 if self.spec.variant == "slow" else 1
        step = base_latency_ns(self.spec.size, self.scale) * factor
        endpoint.clock = _FakeClock(step, _PATTERN, self._clock_state)
        endpoint.cpu_clock = _FakeClock(500 * factor, [1])
        return endpoint

    @classmethod
    def skip_reason(cls, size: int, limits: dict[str, Any]) -> Skip | None:
        if size > MOCK_LIMIT:
            return Skip(f"the mock carries at most {MOCK_LIMIT} bytes", f"sysctl -w mock.max={size}")
        return None

    def params(self) -> dict[str, Any]:
        return {"wait": "block", "slots": None, "pipe_buffer": 65536}
