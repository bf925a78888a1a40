"""The gate's false alarms and sensitivity on A/A pairs (result files of one commit, measured in a row),
with and without the between-file noise term (``compare --noise-from``).

The files, oldest first, are split: the first ``--noise`` of them are the noise series (what CI keeps:
earlier runs of the machine), the rest make the A/A pairs (1-2, 2-3, ...). A pair that fails the gate is
a false alarm; with the confirming rerun (the next file as NEW2) it must fail twice. Sensitivity: every NEW
cell, or one cell at a time (``PER_PAIR`` per pair, fixed seed; and as many cells that wait by blocking; a
cell that regresses without the plant is no trial), is slowed by a factor (p50s times it, rates divided
by it; the wake-up probe is left alone, as no code change can move it), and the gate must catch it. Every
figure is given twice on the same pairs: the gate as it was (session floor and probes), and with each
cell's own floor from the series.

``--simulate N``: N A/A files made from the folder's newest file with known noise (``simulated``): the
situation of the quiet VM under ``--cpu-idle poll``, where blocking round trips move between files far
more than the rest, without the other programs of a shared machine.

``--rotate``: every consecutive pair of all the files, each with the noise series made of every other
file (minus the pair and its confirming file). A/A files of one commit are exchangeable, so this is
fair, and it gives more pairs from few files; the split is what CI does (the series before the pair).

    python bench/gate_aa.py RESULTS_FOLDER [--noise 8] [--rotate]

Make the files with ``ipcbench run --profile quick --output RESULTS_FOLDER`` in a row, all with the same
``--cpu-idle``. A folder that mixes policies has no A/A pairs: pass one policy's folder.
"""

from __future__ import annotations

import argparse
import copy
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ipcbench import compare, compare_noise, compare_run, frames, idle

Loaded = tuple[Path, dict[str, Any]]
Gate = Callable[[Loaded, Loaded], compare.Comparison]
FACTORS = (1.3, 1.5, 2.0)
PER_PAIR = 6  # single cells planted per pair (``--per-pair``)
SETTINGS = compare.Settings()
ORIGINAL: dict[Path, dict[str, Any]] = {}  # the files as read: only their comparisons are cached


def slowed(document: dict[str, Any], factor: float, only: int | None = None) -> dict[str, Any]:
    result = copy.deepcopy(document)
    for index, cell in enumerate(result["cells"]):
        if cell["status"] != "ok" or (only is not None and index != only):
            continue
        for run in cell["runs"]:
            _scale(run, factor)
    return result


def gates(series: list[Loaded]) -> tuple[Gate, Gate]:
    """The gate as it was, and with the between-file term over ``series`` (A/A comparisons cached: the
    same pair is asked for by several rows)."""
    between = compare_noise.of(series, SETTINGS)
    return _cached(lambda a, b: compare.compare(a, b, SETTINGS)), _cached(
        lambda a, b: compare.compare(a, b, SETTINGS, between)
    )


def _cached(gate: Gate) -> Gate:
    seen: dict[tuple[Path, Path], compare.Comparison] = {}

    def cached(a: Loaded, b: Loaded) -> compare.Comparison:
        if a[1] is not ORIGINAL.get(a[0]) or b[1] is not ORIGINAL.get(b[0]):
            return gate(a, b)  # a planted copy: never cached
        if (a[0], b[0]) not in seen:
            seen[(a[0], b[0])] = gate(a, b)
        return seen[(a[0], b[0])]

    return cached


def confirmed(gate: Gate, base: Loaded, new: Loaded, again: Loaded) -> bool:
    first = gate(base, new)
    if not first.failed:
        return False
    return compare_run.confirm(first, [(gate(base, again), gate(new, again))]).failed


def measured(document: dict[str, Any], wait: str | None = None) -> list[int]:
    return [
        i
        for i, cell in enumerate(document["cells"])
        if cell["status"] == "ok" and (wait is None or (cell.get("params") or {}).get("wait") == wait)
    ]


def single_cells(
    trials: list[tuple[Gate, Loaded, Loaded]], factor: float, wait: str | None, per_pair: int = PER_PAIR
) -> tuple[int, int]:
    """(caught, trials): one cell at a time slowed by ``factor``; cells that already regress without the
    plant (A/A false alarms of this gate) are not trials. The same draws for every gate."""
    rng = random.Random(9)
    caught = count = 0
    for gate, a, b in trials:
        alarms = {c.key for c in gate(a, b).cells if c.regressed}
        candidates = measured(b[1], wait)
        for index in rng.sample(candidates, min(per_pair, len(candidates))):
            key = compare.cell_key(b[1]["cells"][index])
            if key in alarms:
                continue
            count += 1
            comparison = gate(a, (b[0], slowed(b[1], factor, index)))
            caught += any(c.key == key and c.regressed for c in comparison.cells)
    return caught, count


def figures(
    cases: list[tuple[Gate, Loaded, Loaded, Loaded | None]], per_pair: int = PER_PAIR
) -> list[tuple[str, str]]:
    """The rows for one gate over ``cases``: (gate, BASE, NEW, NEW2 or None)."""
    pairs = [(gate, a, b) for gate, a, b, _ in cases]
    triples = [(gate, a, b, c) for gate, a, b, c in cases if c is not None]
    failing = [sum(cell.regressed for cell in gate(a, b).cells) for gate, a, b in pairs]
    rows = [
        ("A/A pairs failing", f"{sum(gate(a, b).failed for gate, a, b in pairs)} of {len(pairs)}"),
        ("  failing cells per pair", ",".join(map(str, failing))),
        ("  with the confirming rerun", f"{sum(confirmed(*t) for t in triples)} of {len(triples)}"),
    ]
    for factor in FACTORS:
        caught = sum(gate(a, (b[0], slowed(b[1], factor))).failed for gate, a, b in pairs)
        rows.append((f"every cell {factor}x slower: gate fails", f"{caught} of {len(pairs)}"))
    for factor in FACTORS:
        for wait in (None, "block"):
            caught, count = single_cells(pairs, factor, wait, per_pair)
            which = "one blocking cell" if wait else "one cell"
            rows.append((f"{which} {factor}x slower: caught", f"{caught} of {count}"))
    return rows


def cases(
    loaded: list[Loaded], noise: int, rotate: bool, which: int, pairs: int | None = None
) -> list[tuple[Gate, Loaded, Loaded, Loaded | None]]:
    """Each A/A pair with its gate (``which``: 0 as it was, 1 with the term) and its confirming file;
    ``pairs``: the A/A files are the last ``pairs`` (default: all after the series), the series the
    ``noise`` files before them."""
    found = []
    if not rotate:
        rest = loaded[noise:] if pairs is None else loaded[-pairs:]
        series = loaded[: len(loaded) - len(rest)][-noise:]
        gate = gates(series)[which]
        for i in range(len(rest) - 1):
            found.append((gate, rest[i], rest[i + 1], rest[i + 2] if i + 2 < len(rest) else None))
        return found
    for i in range(len(loaded) - 1):
        again = loaded[i + 2] if i + 2 < len(loaded) else None
        series = [x for j, x in enumerate(loaded) if j not in (i, i + 1, i + 2)]
        found.append((gates(series)[which], loaded[i], loaded[i + 1], again))
    return found


def floors(series: list[Loaded]) -> str:
    """The widest between-file floors of the series, for the reader."""
    between = compare_noise.of(series, SETTINGS)
    known = sorted(
        (
            (n.floor, k)
            for k, n in between.cells.items()
            if n.floor is not None and compare.gates(k[1], k[0][2], SETTINGS)
        ),
        reverse=True,
    )
    shown = ", ".join(f"{compare.key_name(k[0])} {compare_noise.times(f)}" for f, k in known[:6])
    return (
        f"{len(known)} gated cell metrics with a floor; widest: {shown}"
        if known
        else "no cell has enough files"
    )


# The quiet VM under --cpu-idle poll (last stop): a file's runs agree within 1.05-1.2x, blocking round trips
# at 64 B and 4K land 1.45-1.8x apart from file to file, the other cells move a few percent.
SIM_RUN_SD, SIM_SESSION_SD, SIM_QUIET_SD, SIM_BLOCKING_SD = 0.04, 0.03, 0.04, 0.25


def simulated(template: Loaded, count: int, seed: int = 13) -> list[Loaded]:
    """``count`` A/A files made from ``template``'s cells: each file's session shift, each cell's own
    between-file move (large for blocking round trips up to 4K, small for the rest), each run's noise."""
    rng = np.random.default_rng(seed)
    files = []
    for index in range(count):
        document = copy.deepcopy(template[1])
        document["created"] = f"2000-01-01T00:{index // 60:02d}:{index % 60:02d}Z"
        document["run_id"] = f"simulated{index:03d}"
        session = rng.normal(0, SIM_SESSION_SD)
        for cell in document["cells"]:
            if cell["status"] != "ok":
                continue
            cell["unstable"], cell["unstable_reason"] = False, None
            blocking = (cell.get("params") or {}).get("wait") == "block" and cell["size"] <= 4096
            move = session + rng.normal(
                0, SIM_BLOCKING_SD if blocking and cell["workload"] == "pingpong" else SIM_QUIET_SD
            )
            for run, noise in zip(cell["runs"], rng.normal(0, SIM_RUN_SD, len(cell["runs"])), strict=True):
                _scale(run, math.exp(move + noise))
        files.append((template[0].with_name(f"simulated-{index:03d}.json"), document))
    return files


def _scale(run: dict[str, Any], factor: float) -> None:
    for key in ("p50_ns", "p99_ns"):
        if run.get(key) is not None:
            run[key] *= factor
    for key in ("bytes_per_s", "msgs_per_s"):
        if run.get(key) is not None:
            run[key] /= factor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument(
        "--noise", type=int, default=compare_noise.MIN_FILES, help="files in the noise series"
    )
    parser.add_argument("--per-pair", type=int, default=PER_PAIR, help="single cells planted per pair")
    parser.add_argument("--pairs", type=int, help="the last N files make the A/A pairs (default: the rest)")
    parser.add_argument("--rotate", action="store_true", help="every pair, the other files as the series")
    parser.add_argument(
        "--simulate", type=int, metavar="N", help="N simulated A/A files made from the folder's newest file"
    )
    args = parser.parse_args()
    loaded = frames.collect([args.folder])
    if args.simulate:
        loaded = simulated(loaded[-1], args.simulate)
        print(
            f"simulated: run SD {SIM_RUN_SD}, session SD {SIM_SESSION_SD}, between-file SD {SIM_BLOCKING_SD} "
            f"(blocking round trips up to 4K) and {SIM_QUIET_SD} (the rest), log units"
        )
    ORIGINAL.update(loaded)
    policies = sorted({idle.policy_of(document) for _, document in loaded})
    mixed = " (MIXED: pairs across policies are not A/A pairs)" if len(policies) > 1 else ""
    pairs = f"the last {args.pairs} as the A/A files" if args.pairs else "the rest as the A/A files"
    how = "each pair against the other files" if args.rotate else f"{args.noise} as the series, {pairs}"
    print(f"{len(loaded)} files, CPU idle {', '.join(policies)}{mixed}; {how}")
    if not args.rotate:
        rest = len(loaded) - args.noise if args.pairs is None else args.pairs
        print(f"  series floors: {floors(loaded[: len(loaded) - rest][-args.noise :])}")
    before = figures(cases(loaded, args.noise, args.rotate, 0, args.pairs), args.per_pair)
    after = figures(cases(loaded, args.noise, args.rotate, 1, args.pairs), args.per_pair)
    print(f"{'':42s} {'as it was':>18s} {'+ between-file':>18s}")
    for (name, old), (_, new) in zip(before, after, strict=True):
        print(f"{name:42s} {old:>18s} {new:>18s}")


if __name__ == "__main__":
    main()
