"""The gate's false alarms and sensitivity on A/A pairs: result files of one commit, measured in a row.

Consecutive files make the pairs (1-2, 2-3, ...). A pair that fails the gate is a false alarm; with the
confirming rerun (the next file as NEW2) it must fail twice. Sensitivity: every NEW cell, or one gated cell
at a time (four per pair, fixed seed), is slowed by a factor (p50s times it, rates divided by it), and the
gate must catch it. Runs the installed ``ipcbench.compare`` (put another tree first on PYTHONPATH to
measure an older gate on the same files).

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

from ipcbench import compare, idle, store

Loaded = tuple[Path, dict[str, Any]]


def slowed(document: dict[str, Any], factor: float, only: int | None = None) -> dict[str, Any]:
    result = copy.deepcopy(document)
    for index, cell in enumerate(result["cells"]):
        if cell["status"] != "ok" or (only is not None and index != only):
            continue
        for run in cell["runs"]:
            for key in ("p50_ns", "p99_ns"):
                if run.get(key) is not None:
                    run[key] *= factor
            run["bytes_per_s"] /= factor
            run["msgs_per_s"] /= factor
    return result


def failed(comparison: Any) -> bool:
    return bool(getattr(comparison, "failed", comparison.regressions))


def confirmed(base: Loaded, new: Loaded, again: Loaded) -> bool:
    settings = compare.Settings()
    first = compare.compare(base, new, settings)
    if not failed(first):
        return False
    if hasattr(compare, "Session"):  # issue 9: NEW2 must also agree with NEW
        checks = [(compare.compare(base, again, settings), compare.compare(new, again, settings))]
        return failed(compare.confirm(first, checks))
    return failed(compare.confirm(first, [compare.compare(base, again, settings)]))


def gated_cells(document: dict[str, Any]) -> list[int]:
    return [i for i, cell in enumerate(document["cells"]) if cell["status"] == "ok"]


def main() -> None:
    files = sorted(Path(sys.argv[1]).rglob("*.json"))
    loaded = [(path, store.load(path)) for path in files]
    policies = sorted({idle.policy_of(document) for _, document in loaded})
    mixed = " (MIXED: pairs across policies are not A/A pairs)" if len(policies) > 1 else ""
    print(f"{len(loaded)} files, CPU idle {', '.join(policies)}{mixed}")
    pairs = list(itertools.pairwise(loaded))
    settings = compare.Settings()
    alarms = [failed(compare.compare(a, b, settings)) for a, b in pairs]
    print(f"{len(pairs)} A/A pairs: gate fails {sum(alarms)}")
    triples = list(zip(loaded, loaded[1:], loaded[2:], strict=False))
    print(f"with the confirming rerun: {sum(confirmed(a, b, c) for a, b, c in triples)} of {len(triples)}")
    for factor in (1.5, 2.0):
        caught = sum(failed(compare.compare(a, (b[0], slowed(b[1], factor)), settings)) for a, b in pairs)
        print(f"every cell {factor}x slower: caught {caught} of {len(pairs)}")
    rng = random.Random(9)
    for factor in (2.0, 3.0):
        trials = caught = 0
        for a, b in pairs:
            for index in rng.sample(gated_cells(b[1]), 4):
                trials += 1
                comparison = compare.compare(a, (b[0], slowed(b[1], factor, index)), settings)
                cell = b[1]["cells"][index]
                key = (cell["transport"], cell.get("variant"), cell["workload"], cell["size"])
                caught += any(c.key == key and c.regressed for c in comparison.cells)
        print(f"one cell {factor}x slower: caught {caught} of {trials}")


if __name__ == "__main__":
    main()
