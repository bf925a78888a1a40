"""The ``unsync`` shared-memory variant: what happens without synchronisation (a demonstration).

Claim 3 says shared memory *needs* synchronisation; the other variants show what synchronisation costs,
this one shows the race it prevents. Each direction has one slot and a counter. The writer copies each
message into the slot and bumps the counter, never waiting for the reader; the reader polls the counter
and, whenever it moved, copies the slot out, with no handshake back. Nothing stops the writer from
overwriting a message before, or while, the reader copies it, so the reader sees messages **torn** (part
of one message, part of another), **lost** (overwritten before the reader looked) or **duplicated** (the
same message taken twice: the reader copied it before its counter was published, then again after).

Instead of failing at the first bad message, the reader classifies every read with the same payload
checks as every other cell (sequence numbers at both ends, then every byte) and counts (``count_race``).
The cell is a demonstration: its counts are stored in ``unsync``, it never fails the run, and it is kept
out of every speed figure, comparison and verdict; claim 3 cites it. Only ``stream`` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ipcbench.payload import PATTERNS, SEQ, SEQ_BYTES, Payload

# A message's fate over one phase, in this order (the first three add up to the messages sent; a
# duplicate is a read of a message already read whole).
OUTCOMES = ("intact", "torn", "lost", "duplicated")
_NEVER, _TORN, _WHOLE = 0, 1, 2

Poll = Callable[[bytearray], int]  # wait until the counter moved, copy the slot out, return the counter


class Expected:
    """The expected content of any message, asked in any order.

    The payload's windows overlap, so message ``seq`` holds the stamps of the messages before it; the
    last ``PATTERNS`` of them (one per window) decide every stamped byte. A reader that skips messages
    stamps only those; one that goes back (a duplicate, a stale slot) restores the unstamped bytes and
    stamps again up to the message asked for."""

    def __init__(self, payload: Payload) -> None:
        self.payload = payload
        buffer, tail, span = payload.buffer, payload.tail, PATTERNS + SEQ_BYTES
        self._pristine = (bytes(buffer[:span]), bytes(buffer[tail : tail + span]))
        self._top = -1  # the newest message stamped, in order

    def matches(self, seq: int, received: bytearray) -> bool:
        """Whether ``received`` is message ``seq``, byte for byte."""
        payload = self.payload
        if seq < self._top:
            self._restore()
        for earlier in range(max(0, seq - PATTERNS + 1, self._top + 1), seq + 1):
            payload.message(earlier)
        self._top = seq
        return received == payload.windows[seq % PATTERNS]

    def _restore(self) -> None:
        buffer, tail, span = self.payload.buffer, self.payload.tail, PATTERNS + SEQ_BYTES
        buffer[:span], buffer[tail : tail + span] = self._pristine
        self._top = -1


def count_race(poll: Poll, expected: Expected, buffer: bytearray, first: int, count: int) -> dict[str, int]:
    """Read until a read follows the writer's last message (number ``first + count - 1``), classifying
    every read; returns the counts of ``OUTCOMES`` over the messages ``first`` to ``first + count - 1``,
    with ``sent`` and ``reads``.

    A read whose two sequence numbers agree and whose bytes are that message's is the message, whole (or
    a duplicate, if it was read whole before). Any other read is torn: it marks the messages its two
    sequence numbers name as torn, unless they were read whole another time. A message no read named is
    lost."""
    last, tail = first + count, expected.payload.tail
    state = bytearray(count)
    duplicated = reads = 0
    while True:
        seen = poll(buffer)
        reads += 1
        head, end = SEQ.unpack_from(buffer, 0)[0], SEQ.unpack_from(buffer, tail)[0]
        if head == end and first <= head < last and expected.matches(head, buffer):
            if state[head - first] == _WHOLE:
                duplicated += 1
            state[head - first] = _WHOLE
        else:
            for seq in (head, end):
                if first <= seq < last and state[seq - first] != _WHOLE:
                    state[seq - first] = _TORN
        if seen >= last:
            break
    intact, torn = state.count(_WHOLE), state.count(_TORN)
    return {
        "sent": count,
        "reads": reads,
        "intact": intact,
        "torn": torn,
        "lost": count - intact - torn,
        "duplicated": duplicated,
    }


def total(counts: list[dict[str, Any]]) -> dict[str, int]:
    """A cell's counts: its runs' added up."""
    return {key: sum(int(run[key]) for run in counts) for key in ("sent", "reads", *OUTCOMES)}


def sentence(counts: dict[str, Any]) -> str:
    """``of 1000 messages, 12 arrived torn, 950 were lost, 3 duplicated (38 intact)``."""
    return (
        f"of {counts['sent']} messages, {counts['torn']} arrived torn, {counts['lost']} were lost, "
        f"{counts['duplicated']} duplicated ({counts['intact']} intact)"
    )
