"""The ``unsync`` demonstration: a writer that never waits and a reader with no handshake. Its cell counts
torn, lost and duplicated messages under the usual payload checks, never fails the run, and stays out of
every speed figure, comparison and verdict."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ipcbench import store
from ipcbench.payload import Payload
from ipcbench.plan import PROFILES, Cell, RunOptions, cells, finalise, profile_pairs
from ipcbench.runner import Runner
from ipcbench.transports import all_pairs, resolve
from ipcbench.unsync import Expected, count_race


def scripted(reads: list[tuple[int, bytes]]):  # type: ignore[no-untyped-def]
    """A reader's poll that hands out prepared slot contents, as if the counter had moved before each."""

    def poll(buffer: bytearray) -> int:
        seen, content = reads.pop(0)
        buffer[:] = content
        return seen

    return poll


def sent_messages(size: int, count: int, seed: int = 9) -> list[bytes]:
    writer = Payload(size, seed)
    return [bytes(writer.message(seq)) for seq in range(count)]


def count(reads: list[tuple[int, bytes]], size: int, first: int, number: int) -> dict[str, int]:
    return count_race(scripted(reads), Expected(Payload(size, 9)), bytearray(size), first, number)


def test_every_read_is_classified_with_the_payload_checks() -> None:
    sent = sent_messages(64, 8)
    torn = bytearray(sent[3])
    torn[-8:] = sent[2][-8:]  # the head of message 3, the tail of message 2: the writer overtook the copy
    body = bytearray(sent[5])
    body[30] ^= 0xFF  # both sequence numbers of message 5, a byte of another message in the middle
    reads = [(1, sent[0]), (2, sent[0]), (4, bytes(torn)), (6, bytes(body)), (7, sent[6]), (8, sent[7])]
    found = count(reads, 64, 0, 8)
    # 0 whole, then again (duplicated); 2 and 3 torn; 5 torn; 6 and 7 whole; 1 and 4 never read (lost).
    assert found == {"sent": 8, "reads": 6, "intact": 3, "torn": 3, "lost": 2, "duplicated": 1}


def test_a_message_read_torn_then_whole_counts_as_whole_and_no_duplicate() -> None:
    sent = sent_messages(4109, 4)
    mixed = bytearray(sent[2])
    mixed[2000:2100] = sent[1][2000:2100]
    reads = [(3, bytes(mixed)), (3, sent[2]), (4, sent[3])]
    assert count(reads, 4109, 2, 2) == {
        "sent": 2,
        "reads": 3,
        "intact": 2,
        "torn": 0,
        "lost": 0,
        "duplicated": 0,
    }


@pytest.mark.parametrize("first", [0, 3, 40])
def test_going_back_to_an_older_message_still_checks_its_exact_bytes(first: int) -> None:
    """The payload's windows overlap: message n's bytes depend on the stamps before it. A reader that
    goes back (a stale slot after newer reads) must still recognise it, and still catch a changed byte."""
    sent = sent_messages(32, first + 12)
    changed = bytearray(sent[first + 1])
    changed[12] ^= 1
    reads = [
        (first + 10, sent[first + 9]),
        (first + 11, sent[first + 1]),  # back by 8: every window restamped since
        (first + 11, bytes(changed)),
        (first + 12, sent[first + 11]),
    ]
    found = count(reads, 32, first, 12)
    assert (found["intact"], found["torn"], found["duplicated"]) == (3, 0, 0)
    assert found["lost"] == 9


def test_the_counts_stop_at_the_first_read_after_the_last_message() -> None:
    sent = sent_messages(64, 5)
    reads = [(5, sent[4]), (6, sent[4])]  # the second read must never happen
    found = count_race(scripted(reads), Expected(Payload(64, 9)), bytearray(64), 0, 5)
    assert found["reads"] == 1 and len(reads) == 1


# ---- real processes over real segments ------------------------------------------------------------------


def runner(**overrides: object) -> Runner:
    options = RunOptions(profile="quick", repeats=2, budget_s=0.01, timeout_s=20, impls=("python",))
    return Runner(finalise(replace(options, **overrides)))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["posix-shm", "sysv-shm"])
@pytest.mark.parametrize("size", [64, 4109, 1 << 20])
def test_an_unsync_stream_is_counted_not_failed(name: str, size: int) -> None:
    cell = runner().measure_cell(Cell(name, "unsync", "stream", size))
    assert cell["status"] == "ok", cell["reason"]
    counts = cell["unsync"]
    assert counts["sent"] == cell["messages"] == sum(run["unsync"]["sent"] for run in cell["runs"])
    assert counts["intact"] + counts["torn"] + counts["lost"] == counts["sent"]
    # The writer's last message stays in the slot, so every run reads at least that one whole.
    assert all(run["unsync"]["intact"] >= 1 for run in cell["runs"])
    assert cell["params"]["slots"] == 1 and cell["params"]["wait"] == "never"
    assert store.is_demonstration(cell)


def test_a_damaged_message_is_counted_where_a_synchronised_variant_fails() -> None:
    fault = "corrupt@5:initiator"
    spin = runner(fault=fault).measure_cell(Cell("posix-shm", "spin", "stream", 4096))
    race = runner(fault=fault).measure_cell(Cell("posix-shm", "unsync", "stream", 4096))
    assert spin["status"] == "failed" and "PayloadError" in spin["reason"]
    assert race["status"] == "ok" and race["unsync"]["sent"] == race["messages"]


def test_unsync_is_chosen_by_name_or_by_a_profile_never_by_its_api() -> None:
    assert ("posix-shm", "unsync") not in resolve(["posix-shm"])
    assert resolve(["sysv-shm/unsync"]) == [("sysv-shm", "unsync")]
    assert ("posix-shm", "unsync") in profile_pairs(PROFILES["default"])
    assert ("sysv-shm", "unsync") in profile_pairs(PROFILES["full"])
    assert ("posix-shm", "unsync") not in profile_pairs(PROFILES["quick"])  # the CI smoke run
    assert ("posix-shm", "unsync") not in all_pairs()


def test_unsync_is_planned_with_stream_in_the_python_tier_only() -> None:
    options = finalise(
        RunOptions(
            transports=(("posix-shm", "unsync"),),
            workloads=("pingpong", "stream", "oneway"),
            impls=("python", "native"),
            sizes=(64,),
            tune=("receive=copy,inplace",),
        )
    )
    assert [(c.workload, c.impl, c.tune) for c in cells(options)] == [("stream", "python", ())]
    skipped = runner().measure_cell(Cell("posix-shm", "unsync", "pingpong", 64))
    assert skipped["status"] == "skipped" and "stream only" in skipped["reason"]


def test_list_says_why_unsync_has_no_native_cells(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("list")
    assert result.returncode == 0
    lines = [line.split("│") for line in result.stdout.splitlines() if line.startswith("│")]
    start = next(i for i, cols in enumerate(lines) if cols[1].strip() == "posix-shm/unsync")
    end = next((i for i in range(start + 1, len(lines)) if lines[i][1].strip()), len(lines))
    tiers, summary = (" ".join(" ".join(cols[k] for cols in lines[start:end]).split()) for k in (4, 8))
    assert tiers == "python only"
    assert summary.startswith("demonstration, no speed figure") and "No native cells: the C loops" in summary
