"""Trust for the native tier's ``oneway`` legs: beside the independent reference's one-way mode
(``bench/native_ref/ipcref``, its own objects, loops, stamps and checks, sharing no code with the extension)
and beside the native tier's own pingpong RTT/2, in one sitting.

    make bench/native_ref/ipcref && .venv/bin/python bench/native_oneway_ref.py [--rounds 5] [--size 64]
        [--mechanisms pipe,posix-shm/spin]

Rounds are the outer loop; each round runs ref oneway, native oneway and native pingpong back to back
(reversed on odd rounds), initiator and peer pinned on two CPUs, the same count and warm-up as
``bench/native_vs_ref.py``. Printed per mechanism: the median over rounds of each run's p50 (forward and
back legs; RTT/2), and two paired per-round ratios with their order-statistic interval: native forward /
ref forward (agreement with the reference) and native forward / native pingpong p50 (issue 12's
0.35-0.65x target for one-way against the round trip).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess

import numpy as np
from native_vs_ref import CPUS, REFERENCE, count_for  # the same directory: run as a script

from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner, warmup_for
from ipcbench.stats import median_interval

SOURCES = ("ref", "native")


def reference(mechanism: str, size: int, count: int) -> dict[str, float]:
    argv = [str(REFERENCE), mechanism, "oneway", str(size), str(count), str(warmup_for(count)), "1"]
    figures = json.loads(
        subprocess.run([*argv, str(CPUS[0]), str(CPUS[1])], check=True, capture_output=True, text=True).stdout
    )
    return {"ref forward": figures["p50_ns"], "ref back": figures["back_p50_ns"]}


def native(runner: Runner, mechanism: str, size: int, count: int) -> dict[str, float]:
    name, _, variant = mechanism.partition("/")
    oneway = runner.measure_run(
        Cell(name, variant or None, "oneway", size, "native"), count, warmup_for(count)
    )
    pingpong = runner.measure_run(
        Cell(name, variant or None, "pingpong", size, "native"), count, warmup_for(count)
    )
    return {
        "native forward": float(np.median(oneway.samples)),
        "native back": float(np.median(oneway.back_samples)),
        "native RTT": float(np.median(pingpong.samples)),
    }


def ratio(rounds: list[dict[str, float]], top: str, bottom: str) -> str:
    ratios = [r[top] / r[bottom] for r in rounds]
    interval = median_interval(ratios)
    if interval is None:
        return f"{ratios[0]:.2f}x (one round)"
    return f"{interval.point:.2f}x [{interval.low:.2f}-{interval.high:.2f}, {interval.level:.0%}]"


def one_round(runner: Runner, mechanism: str, size: int, reverse: bool) -> dict[str, float]:
    """Ref oneway, then native oneway and pingpong (the other way round when asked), back to back."""
    count = count_for(mechanism, "pingpong", size)
    figures: dict[str, float] = {}
    for source in reversed(SOURCES) if reverse else SOURCES:
        if source == "ref":
            figures |= reference(mechanism, size, count)
        else:
            figures |= native(runner, mechanism, size, count)
    return figures


def row(mechanism: str, rounds: list[dict[str, float]]) -> str:
    med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    ref = f"{med['ref forward']:6.0f}/{med['ref back']:<7.0f}"
    legs = f"{ref} {med['native forward']:7.0f}/{med['native back']:<8.0f}"
    agree, target = (
        ratio(rounds, "native forward", "ref forward"),
        ratio(rounds, "native forward", "native RTT"),
    )
    return f"{mechanism:16} {legs} {med['native RTT'] / 2:8.0f}  {agree:>24}  {target:>24}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--mechanisms", default="pipe,posix-shm/spin")
    args = parser.parse_args()
    runner = Runner(finalise(RunOptions(profile="quick", pin="cross", timeout_s=120)))
    table: dict[str, list[dict[str, float]]] = {m: [] for m in args.mechanisms.split(",")}
    for index in range(args.rounds):
        for mechanism, rounds in table.items():
            rounds.append(one_round(runner, mechanism, args.size, reverse=index % 2 == 1))
    print(
        f"oneway at {args.size} B, {args.rounds} interleaved rounds, "
        f"CPUs {CPUS[0]} (initiator), {CPUS[1]} (peer);"
    )
    print("p50 in ns, medians over rounds; ratios: median of the per-round ratios [interval, coverage]")
    head = f"{'mechanism':16} {'ref fwd/back':>14} {'native fwd/back':>16} {'RTT/2':>8}"
    print(f"{head}  {'native/ref fwd':>24}  {'native fwd/RTT':>24}")
    for mechanism, rounds in table.items():
        print(row(mechanism, rounds))


if __name__ == "__main__":
    main()
