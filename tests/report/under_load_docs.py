"""Hand-made ``oneway``, ``openloop`` and hybrid-wait cells with known answers, for the report's "under load"
section (built on ``report_docs``: every document still goes through the real loader)."""

from __future__ import annotations

from typing import Any

from report_docs import pingpong, stream

from ipcbench.workloads.openloop import RATE_FRACTIONS


def oneway(label: str, size: int, p50s: list[float], back: float = 1.0) -> dict[str, Any]:
    """A oneway cell whose runs' forward legs have these p50s; the way back ``back`` times as long."""
    cell = pingpong(label, size, p50s)
    back_legs = {
        key: value * back if isinstance(value, float) else value for key, value in cell["latency_ns"].items()
    }
    return {**cell, "workload": "oneway", "latency_back_ns": back_legs}


def openloop(
    label: str, size: int, capacity: float, p99s: list[float], kept: list[bool] | None = None
) -> dict[str, Any]:
    """An openloop cell swept at ``RATE_FRACTIONS`` of ``capacity`` messages/s, with these corrected p99s
    (p50 a fifth of each, uncorrected figures half the corrected ones); every rate kept unless ``kept``."""
    cell = stream(label, size, [capacity * size] * 3)
    sweep = []
    for fraction, p99, held in zip(RATE_FRACTIONS, p99s, kept or [True] * len(p99s), strict=True):
        latency = {"p50": p99 / 5, "p90": p99 / 2, "p99": p99, "p999": p99 * 2, "max": p99 * 3}
        offered = fraction * capacity
        sweep.append(
            {
                "fraction_of_capacity": fraction,
                "offered_msgs_per_s": offered,
                "achieved_msgs_per_s": offered if held else offered * 0.8,
                "kept": held,
                "latency_ns": latency,
                "latency_uncorrected_ns": {key: value / 2 for key, value in latency.items()},
                "runs_p50_ns": [p99 / 5] * 3,
                "runs_p99_ns": [p99] * 3,
                "messages": 3000,
            }
        )
    capacity_measured = cell["throughput"]["msgs_per_s"]
    return {**cell, "workload": "openloop", "capacity_msgs_per_s": capacity_measured, "rate_sweep": sweep}


def under_load_cells() -> list[dict[str, Any]]:
    """To add to ``full_run``'s cells. One-way legs at 64 B: pipe longer than RTT/2 (decided), posix-shm/spin
    alike, posix-shm/sem undecided; open loops of pipe (knee at 90%) and posix-shm/spin (no knee, 120% not
    kept); a hybrid wait at 64 B."""
    return [
        oneway("pipe", 64, [6_000.0, 6_050.0, 5_950.0], back=1.1),  # beside full_run's 10 us round trip
        oneway("posix-shm/spin", 64, [1_000.0, 1_005.0, 995.0]),  # beside its 2 us round trip
        oneway("posix-shm/sem", 64, [3_000.0, 30_000.0, 9_000.0]),
        openloop("pipe", 64, 100_000.0, [40_000.0, 50_000.0, 90_000.0, 200_000.0, 900_000.0]),
        openloop("posix-shm/spin", 64, 1e6, [3_000.0] * 5, kept=[True, True, True, True, False]),
        pingpong("posix-shm/hybrid", 64, [2_500.0, 2_520.0, 2_480.0], busy_per_side=0.3),
    ]
