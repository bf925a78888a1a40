"""Trust for the ``unsync`` demonstration: its counts against the smallest hand-written race, in one sitting.

    .venv/bin/python bench/minimal_unsync.py [--rounds 3] [--sizes 4096,1048576] [--count 2000]

The minimal race shares no code with ipcbench: an anonymous shared mapping (``mmap(-1, ...)``, inherited
over ``fork``) holding a counter and one slot, two processes pinned across cores; the writer starts once
the reader says it is polling (as ipcbench's stream starts after its barrier). The writer stamps the
sequence number at both ends of its message, fills the body with one of three byte patterns (``seq % 3``),
copies it into the slot and bumps the counter, never waiting; the reader polls the counter, copies the
slot out and classifies it: both stamps equal and the body that message's pattern is whole, anything else
torn, a message no read named is lost, a second whole read is a duplicate. Each round then runs
ipcbench's ``posix-shm/unsync`` stream cell with the same message count, and the script prints the share
of all messages sent over the rounds that each found intact, torn and lost, and its reads per message.
Both vary a lot from round to round: a reader the scheduler keeps off its CPU while the writer runs
reads once and finds nearly everything lost.
"""

from __future__ import annotations

import argparse
import mmap
import os
import struct

from ipcbench.plan import Cell, RunOptions, finalise
from ipcbench.runner import Runner
from ipcbench.units import parse_sizes

CPUS = sorted(os.sched_getaffinity(0))[:2]
SEQ = struct.Struct("<q")


def minimal_race(size: int, count: int) -> dict[str, int]:
    shared = mmap.mmap(-1, 64 + size)
    counter, slot = memoryview(shared)[:8].cast("q"), memoryview(shared)[64 : 64 + size]
    bodies = [bytes([pattern]) * size for pattern in (0x11, 0x22, 0x33)]
    result_r, result_w = os.pipe()
    ready_r, ready_w = os.pipe()
    if os.fork() == 0:  # the reader
        os.sched_setaffinity(0, {CPUS[-1]})
        state, seen, reads, duplicated = bytearray(count), 0, 0, 0
        copy = bytearray(size)
        os.write(ready_w, b"R")  # polling from now on (the writer would finish before a fork settles)
        while seen < count:
            while counter[0] == seen:
                pass
            seen = counter[0]
            copy[:] = slot
            reads += 1
            head, tail = SEQ.unpack_from(copy, 0)[0], SEQ.unpack_from(copy, size - 8)[0]
            whole = head == tail and 0 <= head < count and copy[8:-8] == bodies[head % 3][8:-8]
            if whole:
                duplicated += state[head] == 2
                state[head] = 2
            for seq in () if whole else (head, tail):
                if 0 <= seq < count and state[seq] != 2:
                    state[seq] = 1
        counts = (count, reads, state.count(2), state.count(1), state.count(0), duplicated)
        os.write(result_w, struct.pack("<6q", *counts))
        os._exit(0)
    placement = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {CPUS[0]})
    os.read(ready_r, 1)
    message = bytearray(size)
    for seq in range(count):  # the writer: copy, publish, never wait
        message[:] = bodies[seq % 3]
        SEQ.pack_into(message, 0, seq)
        SEQ.pack_into(message, size - 8, seq)
        slot[:] = message
        counter[0] = seq + 1
    sent, reads, intact, torn, lost, duplicated = struct.unpack("<6q", os.read(result_r, 48))
    os.wait()
    os.sched_setaffinity(0, placement)  # else ipcbench's run after this one would find one usable CPU
    for fd in (result_r, result_w, ready_r, ready_w):
        os.close(fd)
    del counter, slot
    shared.close()
    return {
        "sent": sent,
        "reads": reads,
        "intact": intact,
        "torn": torn,
        "lost": lost,
        "duplicated": duplicated,
    }


def ipcbench_race(size: int, count: int) -> dict[str, int]:
    options = finalise(RunOptions(profile="quick", repeats=1, impls=("python",)))
    run = Runner(options).measure_run(Cell("posix-shm", "unsync", "stream", size), count, warmup=2)
    counts: dict[str, int] = run["unsync"]
    return counts


def pooled(rounds: list[dict[str, int]]) -> str:
    """The share of all messages sent over the rounds that each outcome took, and reads per message."""
    total = {key: sum(counts[key] for counts in rounds) for key in rounds[0]}
    keys = ("intact", "torn", "lost", "reads")
    return "".join(f"{total[key] / total['sent']:>8.1%}" for key in keys) + f"{total['duplicated']:>6}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="4096,1048576")
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    header = f"{'size':>9}  {'loop':<9}{'intact':>8}{'torn':>8}{'lost':>8}{'reads':>8}{'dup':>6}"
    print(header + "   (shares of all messages sent over the rounds; dup: count)")
    for size in parse_sizes(args.sizes):
        count = max(20, min(args.count, (256 << 20) // size))
        found: dict[str, list[dict[str, int]]] = {"minimal": [], "ipcbench": []}
        for _ in range(args.rounds):  # alternate, so a drift of the machine touches both alike
            found["minimal"].append(minimal_race(size, count))
            found["ipcbench"].append(ipcbench_race(size, count))
        for name, rounds in found.items():
            print(f"{size:>9}  {name:<9}{pooled(rounds)}   {args.rounds} rounds x {count} messages")


if __name__ == "__main__":
    main()
