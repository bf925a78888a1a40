"""The gate's false alarms and sensitivity on A/A pairs: result files of one commit, measured in a row.

Consecutive files make the pairs (1-2, 2-3, ...). A pair that fails the gate is a false alarm; with the
confirming rerun (the next file as NEW2) it must fail twice. Sensitivity: every NEW cell, or one cell at a
time (four per pair, fixed seed; and four cells that wait by blocking; a cell that regresses without the
plant is no trial), is slowed by a factor (p50s times
it, rates divided by it; the wake-up probe is left alone, as no code change can move it), and the gate must
catch it. Every figure is given twice, on the same files: without the wake-up probes (the files stripped of
``wake_probe``: the gate as it was) and with them. Runs the installed ``ipcbench.compare``.

    python bench/gate_aa.py RESULTS_FOLDER

Make the files with ``ipcbench run --profile quick --output RESULTS_FOLDER`` in a row, all with the same
``--cpu-idle``: ``poll`` measures the gate without the VM's wake-up modes (idle CPUs held polling), ``os``
on the machine as it is. A folder that mixes the two has no A/A pairs, and the script says so.
"""

from __future__ import annotations

import copy
import itertools
import random
import sys
from pathlib import Path
from typing import Any

from ipcbench import compare, compare_run, idle, store

Loaded = tuple[Path, dict[str, Any]]
FACTORS = (1.3, 1.5, 2.0)
PER_PAIR = 4


def slowed(document: dict[str, Any], factor: float, only: int | None = None) -> dict[str, Any]:
    result = copy.deepcopy(document)
    for index, cell in enumerate(result["cells"]):
        if cell["status"] != "ok" or (only is not None and index != only):
            continue
        for run in cell["runs"]:
            for key in ("p50_ns", "p99_ns"):
                if run.get(key) is not None:
                    run[key] *= factor
            for key in ("bytes_per_s", "msgs_per_s"):
                if run.get(key) is not None:
                    run[key] /= factor
    return result


def stripped(loaded: Loaded) -> Loaded:
    """The file as the gate saw it before the probe: no ``wake_probe``."""
    return loaded[0], {k: v for k, v in loaded[1].items() if k != "wake_probe"}


def confirmed(base: Loaded, new: Loaded, again: Loaded) -> bool:
    settings = compare.Settings()
    first = compare.compare(base, new, settings)
    if not first.failed:
        return False
    checks = [(compare.compare(base, again, settings), compare.compare(new, again, settings))]
    return compare_run.confirm(first, checks).failed


def measured(document: dict[str, Any], wait: str | None = None) -> list[int]:
    return [
        i
        for i, cell in enumerate(document["cells"])
        if cell["status"] == "ok" and (wait is None or (cell.get("params") or {}).get("wait") == wait)
    ]


def single_cells(pairs: list[tuple[Loaded, Loaded]], factor: float, wait: str | None) -> tuple[int, int]:
    """(caught, trials): one cell at a time slowed by ``factor``; cells that already regress without the
    plant (A/A false alarms) are not trials. The same draws in both gates."""
    rng = random.Random(9)
    caught = trials = 0
    for a, b in pairs:
        alarms = {c.key for c in compare.compare(a, b).cells if c.regressed}
        candidates = measured(b[1], wait)
        for index in rng.sample(candidates, min(PER_PAIR, len(candidates))):
            key = compare.cell_key(b[1]["cells"][index])
            if key in alarms:
                continue
            trials += 1
            comparison = compare.compare(a, (b[0], slowed(b[1], factor, index)))
            caught += any(c.key == key and c.regressed for c in comparison.cells)
    return caught, trials


def probe_moved(pairs: list[tuple[Loaded, Loaded]]) -> str:
    from ipcbench import compare_probe

    moved = []
    for a, b in pairs:
        moves = compare_probe.probe_moves(a[1], b[1])
        moved.append(",".join(f"{m.kind} x{m.ratio:.2f}{'*' if m.moved else ''}" for m in moves.values()))
    return "; ".join(moved) or "no probes"


def figures(loaded: list[Loaded]) -> list[tuple[str, str]]:
    pairs = list(itertools.pairwise(loaded))
    triples = list(zip(loaded, loaded[1:], loaded[2:], strict=False))
    rows = [
        ("A/A pairs failing", f"{sum(compare.compare(a, b).failed for a, b in pairs)} of {len(pairs)}"),
        ("  with the confirming rerun", f"{sum(confirmed(*t) for t in triples)} of {len(triples)}"),
    ]
    for factor in FACTORS:
        caught = sum(compare.compare(a, (b[0], slowed(b[1], factor))).failed for a, b in pairs)
        rows.append((f"every cell {factor}x slower: gate fails", f"{caught} of {len(pairs)}"))
    for factor in FACTORS:
        for wait in (None, "block"):
            caught, trials = single_cells(pairs, factor, wait)
            which = "one blocking cell" if wait else "one cell"
            rows.append((f"{which} {factor}x slower: caught", f"{caught} of {trials}"))
    return rows


def main() -> None:
    files = sorted(Path(sys.argv[1]).rglob("*.json"))
    loaded = [(path, store.load(path)) for path in files]
    policies = sorted({idle.policy_of(document) for _, document in loaded})
    mixed = " (MIXED: pairs across policies are not A/A pairs)" if len(policies) > 1 else ""
    print(f"{len(loaded)} files, CPU idle {', '.join(policies)}{mixed}")
    before, after = figures([stripped(x) for x in loaded]), figures(loaded)
    moves = probe_moved(list(itertools.pairwise(loaded)))
    print(f"probe moves per pair (* = moved): {moves}")
    print(f"{'':42s} {'without probe':>14s} {'with probe':>12s}")
    for (name, old), (_, new) in zip(before, after, strict=True):
        print(f"{name:42s} {old:>14s} {new:>12s}")


if __name__ == "__main__":
    main()
