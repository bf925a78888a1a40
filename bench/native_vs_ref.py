"""The native tier against an independent C loop, and the Python tier against both, in one sitting.

    make bench-ref            # builds bench/native_ref/ipcref, then runs this
    .venv/bin/python bench/native_vs_ref.py [--rounds 9] [--mechanisms pipe,posix-shm/spin] [--json out.json]
        [--cpu-idle poll]

For every mechanism: the p50 round trip at 64 B and the stream rate at 1 MiB (message queues: the largest
message the kernel allows here, said in the table), from three sources: the reference program
(``bench/native_ref/ipcref``, its own objects and loops, sharing no code with ipcbench), ipcbench
``impl=native`` and ipcbench ``impl=python`` (one run each, no calibration of its own).

What makes the two C figures comparable, by construction rather than by hope:

* the same work: message counts (``count``: long enough for a stable figure, the same for every source),
  warm-up (the runner's rule) and a full check of every message on both sides. The CPU time per message
  of both processes together (CPU/msg, each side's measured messages only, as ipcbench's CPU meter) says
  whether one side does more work per message than the other, whatever the wake-ups cost;
* the same objects: ring slots / queue depth are passed to the reference from the runner's own rule, and
  each native run's recorded depth (ring slots, pipe buffer, SysV queue bytes) must equal what the
  reference reports, or the script stops;
* the same placement: initiator on the first usable CPU, peer on the second (ipcbench's ``--pin cross``);
* interleaving: each round runs every source back to back, in reversed order on odd rounds, so drift and
  order touch all alike. A round's native/ref ratio pairs neighbours in time; the table gives the median of
  the rounds' ratios with its order-statistic interval (exact coverage stated) and says whether the target
  (within 10%) holds: "yes" when the whole interval is inside 0.9-1.1, "no" when it is wholly outside,
  "undecided" otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipcbench import idle
from ipcbench.machine import read_limits
from ipcbench.plan import Cell, RunOptions, finalise, in_tier
from ipcbench.runner import Runner, ring_slots, warmup_for
from ipcbench.stats import median_interval
from ipcbench.transports import REGISTRY, all_pairs, label
from ipcbench.transports.base import DEFAULT_SPIN_NS

REFERENCE = Path(__file__).resolve().parent / "native_ref" / "ipcref"
CPUS = sorted(os.sched_getaffinity(0))[:2]
SMALL, LARGE = 64, 1 << 20
STREAM_BYTES = 128 << 20  # bytes per stream run: 128 messages of 1 MiB, 16384 of 8 KiB
TOLERANCE = 0.10
WORKLOADS = (("pingpong", "p50_ns"), ("stream", "bytes_per_s"))
# The depth each mechanism records in its run params, and the reference reports as "depth".
DEPTH_PARAM = {"pipe": "pipe_buffer", "fifo": "pipe_buffer", "sysv-mq": "queue_bytes"}


@dataclass(frozen=True)
class Setup:
    """One mechanism and workload as every source runs it."""

    name: str
    variant: str | None
    workload: str
    size: int
    slots: int
    count: int = 0

    @property
    def mechanism(self) -> str:
        return label(self.name, self.variant)


def stream_size(name: str) -> int:
    """1 MiB, or the largest message this machine's queue limits allow (never clamped silently: shown)."""
    limits = read_limits()
    size = LARGE
    while REGISTRY[name].skip_reason(size, limits) is not None and size > 64:
        size //= 2
    return size


def slots_for(name: str, workload: str, size: int) -> int:
    """Messages in flight per direction, by the runner's rule (a POSIX queue: capped by msg_max)."""
    if workload == "pingpong":
        return 1
    slots = ring_slots(size)
    return min(slots, read_limits().get("mq_msg_max") or 10) if name == "posix-mq" else slots


def count_for(mechanism: str, workload: str, size: int) -> int:
    """Messages per run: some 0.1-0.3 s of a quiet machine's C loop, thousands of round trips at least."""
    if workload == "stream":
        return max(64, STREAM_BYTES // size)
    return 100_000 if mechanism.endswith(("/spin", "/hybrid")) else 3_000


def reference(setup: Setup) -> dict[str, Any]:
    argv = [str(REFERENCE), setup.mechanism, setup.workload, str(setup.size), str(setup.count)]
    argv += [str(warmup_for(setup.count)), str(setup.slots), str(CPUS[0]), str(CPUS[1]), str(DEFAULT_SPIN_NS)]
    figures = dict(json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout))
    return figures | {
        "cpu_ns_per_msg": sum(figures["cpu_ns_per_msg"].values()),
        "cpu": figures["cpu_ns_per_msg"],
    }


def ipcbench(runner: Runner, setup: Setup, impl: str) -> dict[str, Any]:
    cell = Cell(setup.name, setup.variant, setup.workload, setup.size, impl)
    run = runner.measure_run(cell, setup.count, warmup_for(setup.count))
    samples = run["_samples"]
    p50 = float(sorted(samples)[len(samples) // 2]) if samples is not None else 0.0
    cpu = {side: run.cpu_ns_per_msg[side] for side in ("initiator", "peer")}
    figures = {"p50_ns": p50, "bytes_per_s": run["bytes_per_s"], "params": run.params}
    return figures | {"cpu_ns_per_msg": sum(cpu.values()), "cpu": cpu}


def check_depth(setup: Setup, ref: dict[str, Any], native: dict[str, Any]) -> None:
    """Stop if the native run's objects hold a different number of messages than the reference's."""
    key = DEPTH_PARAM.get(setup.name, None if setup.name in ("unix", "tcp") else "slots")
    if key is not None and native["params"].get(key) != ref["depth"]:
        sys.exit(
            f"{setup.mechanism} {setup.workload}: native runs with {key}={native['params'].get(key)}, "
            f"the reference with {ref['depth']}: they would not measure the same thing"
        )


def one_round(runner: Runner, setup: Setup, reverse: bool) -> dict[str, float]:
    """Each source once, back to back (reversed order when asked); the figure of this workload from each."""
    key = dict(WORKLOADS)[setup.workload]
    order = ["ref", "native", "python"]
    results: dict[str, dict[str, Any]] = {}
    for source in reversed(order) if reverse else order:
        if source == "ref":
            results[source] = reference(setup)
        elif in_tier(source, setup.name, setup.variant):
            results[source] = ipcbench(runner, setup, source)
    check_depth(setup, results["ref"], results["native"])
    figures = {source: float(got[key]) for source, got in results.items()}
    return figures | {f"{source} cpu": float(got["cpu_ns_per_msg"]) for source, got in results.items()}


def measure(runner: Runner, setups: list[Setup], rounds: int) -> dict[Setup, list[dict[str, float]]]:
    """Every setup once per round, rounds outermost, so a slow spell of the machine spreads over all."""
    table: dict[Setup, list[dict[str, float]]] = {setup: [] for setup in setups}
    for index in range(rounds):
        print(f"round {index + 1} of {rounds}", file=sys.stderr, flush=True)
        for setup in setups:
            table[setup].append(one_round(runner, setup, reverse=index % 2 == 1))
    return table


def ratio_cell(rounds: list[dict[str, float]], top: str, bottom: str) -> tuple[str, str]:
    """The median of the rounds' top/bottom ratios with its interval, and the verdict on the target."""
    ratios = [r[top] / r[bottom] for r in rounds if r.get(top) and r.get(bottom)]
    if not ratios:
        return "n/a", ""
    interval = median_interval(ratios)
    if interval is None:
        return f"{ratios[0]:.2f}x", "undecided (one round)"
    low, high = 1 - TOLERANCE, 1 + TOLERANCE
    inside = low <= interval.low and interval.high <= high
    outside = interval.high < low or interval.low > high
    verdict = "yes" if inside else "no" if outside else "undecided"
    text = f"{interval.point:.2f}x [{interval.low:.2f}-{interval.high:.2f}, {interval.level:.0%}]"
    return text, verdict


def median_of(rounds: list[dict[str, float]], source: str) -> float | None:
    values = [r[source] for r in rounds if source in r]
    return statistics.median(values) if values else None


def latency_row(setup: Setup, rounds: list[dict[str, float]]) -> str:
    ref, native, python = (median_of(rounds, s) for s in ("ref", "native", "python"))
    ratio, verdict = ratio_cell(rounds, "native", "ref")
    extra = None if python is None or native is None else python - native
    py_ratio = ratio_cell(rounds, "python", "native")[0] if python is not None else "n/a (native only)"
    cells = [
        setup.mechanism,
        us(ref),
        us(native),
        ratio,
        verdict,
        ratio_cell(rounds, "native cpu", "ref cpu")[0],
    ]
    cells += [us(python), us(extra), py_ratio]
    return "| " + " | ".join(cells) + " |"


def stream_row(setup: Setup, rounds: list[dict[str, float]]) -> str:
    ref, native, python = (median_of(rounds, s) for s in ("ref", "native", "python"))
    ratio, verdict = ratio_cell(rounds, "native", "ref")
    # Python's cost per message, and how much longer a message takes (native rate over python rate).
    extra = None if not python or not native else setup.size * 1e9 / python - setup.size * 1e9 / native
    slower = ratio_cell(rounds, "native", "python")[0] if python is not None else "n/a (native only)"
    size = f"{setup.size // 1024} KiB"
    cells = [setup.mechanism, size, str(setup.count), mbs(ref), mbs(native), ratio, verdict]
    cells += [ratio_cell(rounds, "native cpu", "ref cpu")[0], mbs(python), us(extra), slower]
    return "| " + " | ".join(cells) + " |"


def us(ns: float | None) -> str:
    return "n/a" if ns is None else f"{ns / 1000:.2f} us"


def mbs(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate / 1e6:,.0f} MB/s"


LATENCY_HEADER = (
    "| mechanism | p50 RTT 64 B: ref C | native | native/ref | within 10% | CPU/msg native/ref | python"
    " | python - native | python/native |"
)
STREAM_HEADER = (
    "| mechanism | stream size | messages | ref C | native | native/ref | within 10% | CPU/msg native/ref"
    " | python | python - native per message | python/native time |"
)


def print_tables(table: dict[Setup, list[dict[str, float]]], rounds: int, cpu_idle: str) -> None:
    where = f"initiator on CPU {CPUS[0]}, peer on CPU {CPUS[1]}"
    print(f"\n{rounds} interleaved rounds, {where}, CPU idle {cpu_idle}")
    print("(poll: a PM QoS request of 0 us held throughout; os: the machine's own idle states); figures are")
    print("medians over rounds; ratios the median of the rounds' ratios [interval, its exact coverage].\n")
    print(LATENCY_HEADER + "\n|" + "---|" * LATENCY_HEADER.count(" | ") + "---|")
    for setup, rounds_of in table.items():
        if setup.workload == "pingpong":
            print(latency_row(setup, rounds_of))
    print("\n" + STREAM_HEADER + "\n|" + "---|" * STREAM_HEADER.count(" | ") + "---|")
    for setup, rounds_of in table.items():
        if setup.workload == "stream":
            print(stream_row(setup, rounds_of))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--mechanisms", help="comma list (default: every mechanism of the target)")
    parser.add_argument("--json", type=Path, help="also write every round's figures here")
    idle.add_option(parser)
    args = parser.parse_args()
    pairs = [p for p in all_pairs() if in_tier("native", *p)]  # the mechanisms the reference covers
    # hybrid (polls, then sleeps) is measured when named: the target covers the others
    wanted = set(args.mechanisms.split(",")) if args.mechanisms else None
    pairs = [p for p in pairs if label(*p) in wanted] if wanted else [p for p in pairs if p[1] != "hybrid"]
    runner = Runner(finalise(RunOptions(profile="quick", pin="cross", timeout_s=120)))
    setups = []
    for name, variant in pairs:
        for workload, _ in WORKLOADS:
            size = SMALL if workload == "pingpong" else stream_size(name)
            count = count_for(label(name, variant), workload, size)
            setups.append(Setup(name, variant, workload, size, slots_for(name, workload, size), count))
    started = time.monotonic()
    with idle.held_or_exit(args.cpu_idle):  # every source of every round under the same policy
        table = measure(runner, setups, args.rounds)
    print_tables(table, args.rounds, args.cpu_idle)
    print(f"\n({time.monotonic() - started:.0f} s of measuring)")
    if args.json:
        rows = [
            {**setup.__dict__, "mechanism": setup.mechanism, "cpu_idle": args.cpu_idle, "rounds": r}
            for setup, r in table.items()
        ]
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
