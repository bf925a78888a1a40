"""Notes the verdicts attach about what a claim was judged with. Claim 2: the kernel buffers in force, and
shared memory read in place beside shared memory copied out. Claim 3: the ``unsync`` demonstration.

"Shared memory is ideal for large transfers" is only as good as the rivals it was measured against: a pipe
with its default 64 KiB buffer moves large messages several times slower than one given a 1 MiB buffer
(``--tune pipe_buffer=1M``). So the verdict names the buffers each rival had (the values read back from
the kernel into the cell's ``params``, not the ones asked for), and a run measuring in-place receive
(``--tune receive=inplace``) shows it against the copying receive of the same variant.
"""

from __future__ import annotations

from typing import Any

from ipcbench import unsync
from ipcbench.report.ratios import compare
from ipcbench.report.runs import Run, cell_label, size_text
from ipcbench.report.style import is_shared_memory, ordered

_COUNTED = ("sent", *unsync.OUTCOMES)  # a demonstration's counts, as the note and its table give them


def _buffers(label: str, params: dict[str, Any]) -> str:
    """The buffers of one cell as read back: ``pipe buffer 64K``, ``socket buffers 208K/208K``."""
    if params.get("pipe_buffer"):
        return f"pipe buffer {size_text(int(params['pipe_buffer']))}"
    if params.get("sndbuf") and params.get("rcvbuf"):
        return (
            f"socket buffers {size_text(int(params['sndbuf']))} send, "
            f"{size_text(int(params['rcvbuf']))} receive"
        )
    if not params.get("slots"):
        return ""
    if is_shared_memory(label):
        receive = "read in place" if params.get("receive") == "inplace" else "copied out"
        return f"ring of {params['slots']} slots, {receive}"
    return f"{params['slots']} messages deep"


def buffers_note(run: Run, sizes: list[int]) -> str:
    """The buffers each mechanism had in its stream cells at ``sizes`` (per size where they differ)."""
    parts = []
    for label in ordered(run.labels("stream")):
        found = {
            size: text
            for size in sizes
            if (cell := run.cell(label, "stream", size))
            and (text := _buffers(label, cell.get("params") or {}))
        }
        if not found:
            continue
        if len(set(found.values())) == 1:
            parts.append(f"{label}: {next(iter(found.values()))}")
        else:
            parts.append(f"{label}: " + ", ".join(f"{t} at {size_text(s)}" for s, t in found.items()))
    if not parts:
        return ""
    return (
        f"Judged with these buffers in force at {_sizes(sizes)} (read back from the kernel): "
        + "; ".join(parts)
        + "."
    )


def inplace_note(run: Run, sizes: list[int], outcomes: dict[tuple[str, int], str]) -> str:
    """Shared memory read where it lies (``receive=inplace``) beside the same variant copying it out, with
    the claim's outcome for each (``outcomes`` by subject and size)."""
    parts = []
    labels = run.labels("stream")
    for label in ordered(labels):
        if not (is_shared_memory(label) and "receive=inplace" in label):
            continue
        copies = [c for c in _copying(label) if c in labels]
        if not copies:
            continue
        copy = copies[0]
        for size in sizes:
            comparison = compare(run, label, copy, "throughput", size)
            if comparison is not None:
                claim = [outcomes.get((name, size)) for name in (copy, label)]
                said = f" (claim: {claim[0]} copying, {claim[1]} in place)" if all(claim) else ""
                parts.append(comparison.sentence() + said)
    if not parts:
        return ""
    return (
        "In-place receive (the reader checks the message in the slot instead of copying it out: one copy "
        "per message instead of two), beside the copying receive: " + "; ".join(parts) + "."
    )


def race_note(run: Run) -> str:
    """What the ``unsync`` demonstration saw: the race the waits above exist to prevent. One cell is told
    in full; several are added up here (a default run has ten), each in ``race_rows``."""
    cells = run.demonstrations
    if not cells:
        return ""
    if len(cells) == 1:
        seen = f"{cell_label(cells[0])} at {size_text(cells[0]['size'])}: {_counts(cells[0]['unsync'])}"
    else:
        added = {key: sum(int(cell["unsync"][key]) for cell in cells) for key in _COUNTED}
        seen = f"over its {len(cells)} cells, {_counts(added)}"
    return (
        "Without any synchronisation (the unsync demonstration: the writer overwrites its one slot without "
        "waiting, the reader polls the counter with no handshake back, every read checked like any "
        f"message): {seen}. This is what the waits above prevent; these cells are no speed figure and "
        "enter no verdict."
    )


def _counts(counts: dict[str, Any]) -> str:
    """``unsync.sentence`` with thousands separated: ``of 311,495 messages, 32 arrived torn, ...``."""
    return unsync.sentence({key: f"{int(counts[key]):,}" for key in _COUNTED})


def race_rows(run: Run) -> list[dict[str, Any]]:
    """Each ``unsync`` cell's counts (its runs added up), for a table under the note when there are
    several."""
    cells = run.demonstrations
    if len(cells) < 2:
        return []
    return [
        {"mechanism": cell_label(cell), "size": cell["size"], **{k: cell["unsync"][k] for k in _COUNTED}}
        for cell in cells
    ]


def _copying(label: str) -> list[str]:
    """The labels the same cell has when it copies the message out: ``posix-shm/spin[receive=copy]``
    (``--tune receive=copy,inplace``), or ``posix-shm/spin`` (the default, ``receive=default,inplace``)."""
    mechanism, _, setting = label.partition("[")
    rest = [item for item in setting.rstrip("]").split(",") if item != "receive=inplace"]
    untuned = f"{mechanism}[{','.join(rest)}]" if rest else mechanism
    return [label.replace("receive=inplace", "receive=copy"), untuned]


def _sizes(sizes: list[int]) -> str:
    return ", ".join(size_text(size) for size in sizes)
