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
    def __init__(self, step: int, pattern: list[int]) -> None:
        self.now = 0
        self.index = 0
        self.step = step
        self.pattern = pattern

    def __call__(self) -> int:
        self.now += self.step * self.pattern[self.index % len(self.pattern)]
        self.index += 1
        return self.now


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

    def open(self, role: str) -> Endpoint:
        """The pipe's endpoint with fake clocks, which start afresh in each process."""
        endpoint = super().open(role)
        factor = 2 if self.spec.variant == "slow" else 1
        endpoint.clock = _FakeClock(base_latency_ns(self.spec.size, self.scale) * factor, _PATTERN)
        endpoint.cpu_clock = _FakeClock(500 * factor, [1])
        return endpoint

    @classmethod
    def skip_reason(cls, size: int, limits: dict[str, Any]) -> Skip | None:
        if size > MOCK_LIMIT:
            return Skip(f"the mock carries at most {MOCK_LIMIT} bytes", f"sysctl -w mock.max={size}")
        return None

    def params(self) -> dict[str, Any]:
        return {"wait": "block", "slots": None, "pipe_buffer": 65536}
