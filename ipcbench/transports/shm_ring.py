"""The ring of message slots that both shared-memory transports lay out in their segment.

Layout: a 256-byte header of four int64 counters, each on its own cache line (messages published and
messages consumed, per direction), then for each direction ``slots`` message slots of ``size`` bytes
(rounded up to 64). A message is copied from the sender's buffer into a slot and from the slot into the
receiver's buffer: both copies are part of every measurement, as with every other mechanism.

How a side waits is the variant:

* ``spin``: poll the other side's counter in a tight loop (no kernel call per message; burns a core). On
  one shared core the loop calls ``sched_yield()``, or the "latency" would be the scheduler's time slice.
* ``sem``: two counting semaphores per direction (free slots, filled slots); a waiting side sleeps in the
  kernel and is woken by the other side's post, exactly as a pipe reader is.
* ``mutex`` (native tier only): per direction a process-shared robust mutex guarding the counters and a
  condition variable a waiting side sleeps on; only C can place them in a segment, so the Python
  endpoint refuses to send and the C channel (``ipcbench/_native``) does the work.
* ``hybrid``: what low-latency code does: the counters of ``spin`` *and* the semaphores of ``sem``. A
  waiting side polls the counter for at most ``spec.spin_ns`` (``--tune spin_us=N``), then takes the
  semaphore, sleeping if it has to. The sender always posts, so the semaphore stays exact and the sleeping
  path cannot miss a wake-up; a waiter that saw the counter move takes the post without sleeping (a POSIX
  semaphore then costs no system call at all; a SysV one still costs one ``semop``). A peer that stops
  leaves the waiter asleep on the semaphore, where the runner's deadline kills it like any other.
* ``unsync`` (a demonstration, ``ipcbench.unsync``): no synchronisation at all. One slot per direction;
  the writer overwrites it and bumps the counter without ever waiting, the reader polls the counter and
  copies the slot out with no handshake back, and counts the messages it got torn, lost or twice.

In ping-pong (``spec.lockstep``) each direction has a single slot and no flow control: the reply proves
the request was consumed, so a spinning side polls one counter and a ``sem`` side uses one semaphore per
direction, as a hand-written ping-pong would.

With ``--tune receive=inplace`` the receiver of a ring with flow control (stream, openloop) does not copy
the message out: it checks every byte where it lies in the slot and frees the slot after the check (one
copy per message, the sender's, instead of two: the point the textbook makes for shared memory).

Ordering: a sender copies the payload, then publishes the counter; on x86 (TSO) stores become visible in
program order and each copy and store is a separate C call the compiler cannot reorder. Semaphore calls
are full barriers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from ipcbench.errors import PeerError
from ipcbench.transports.base import Buffer, ChannelSpec, Endpoint, directions

Counters = memoryview  # the header's int64 counters (published, consumed per direction)

HEADER = 256
ALIGN = 64
# The ``mutex`` variant (native only): after both rings, per direction a process-shared robust
# pthread_mutex_t and a pthread_cond_t, 128 bytes each (the layout of ipcbench/_native_c/native.h).
SYNC_BYTES = 256


def slot_stride(size: int) -> int:
    return (size + ALIGN - 1) // ALIGN * ALIGN


def segment_size(spec: ChannelSpec) -> int:
    """Bytes of a segment holding the header, both directions' rings and, for ``mutex``, its sync area."""
    return sync_offset(spec) + (SYNC_BYTES if spec.variant == "mutex" else 0)


def sync_offset(spec: ChannelSpec) -> int:
    """Where the ``mutex`` variant's mutexes and condition variables start: right after the rings."""
    return HEADER + 2 * spec.slots * slot_stride(spec.size)


def native_only(view: Buffer) -> None:
    raise PeerError("the mutex variant runs in the native tier only (Python has no process-shared mutex)")


def shm_tunables(variant: str | None) -> tuple[str, ...]:
    """``--tune`` keys of a shared-memory variant: ring slots and in-place receive for all, the spin
    budget for ``hybrid``; none for the ``unsync`` demonstration (one slot, copied out)."""
    if variant == "unsync":
        return ()
    return ("slots", "receive", "spin_us") if variant == "hybrid" else ("slots", "receive")


def hybrid_params(spec: ChannelSpec) -> dict[str, Any]:
    """How the ring receives (copy or in place), and a ``hybrid`` cell's spin budget in force (0 on one
    shared core), recorded in the cell's params; ``unsync`` uses one slot per direction whatever the ring
    has room for."""
    params: dict[str, Any] = {"receive": spec.setting("receive") or "copy"}
    if spec.variant == "hybrid":
        params["spin_us"] = 0 if spec.same_core else spec.spin_ns / 1000
    if spec.variant == "unsync":
        params["slots"] = 1
    return params


def _slots(mv: memoryview, spec: ChannelSpec, direction: int) -> list[memoryview]:
    stride = slot_stride(spec.size)
    start = HEADER + direction * spec.slots * stride
    return [mv[start + i * stride : start + i * stride + spec.size] for i in range(spec.slots)]


def ring_endpoint(
    mv: memoryview,
    spec: ChannelSpec,
    role: str,
    semaphores: list[tuple[Any, ...]] | None,
    close: Callable[[], None],
    handles: dict[str, Any],
) -> Endpoint:
    """An endpoint over a mapped segment (``spec.slots`` a power of two). ``semaphores[d]`` is
    ``(filled, free)`` for direction d (``(filled,)`` in lockstep); None selects the spinning variant."""
    out, into = directions(role)
    counters = mv[:HEADER].cast("q")
    out_slots, in_slots = _slots(mv, spec, out), _slots(mv, spec, into)
    release = _releasing(out_slots, in_slots, counters, close)
    if spec.variant == "unsync":
        write, racy_read = _unsync_pair(counters, out, into, out_slots[0], in_slots[0], spec.same_core)
        # As recv_into, the counter racy_read returns is dropped: only the demonstration's reader wants it.
        return Endpoint(write, racy_read, release, handles, racy_read=racy_read)  # type: ignore[arg-type]
    fused: list[Any] = [None, None]
    send: Callable[[Buffer], None]
    recv_into: Callable[[Buffer], None]
    if spec.variant == "mutex":
        send, recv_into = native_only, native_only
    elif spec.variant == "hybrid" and semaphores is not None:
        hybrid = _hybrid_lockstep if spec.lockstep else _hybrid_pair
        # On one shared core the other side cannot move while this one spins: go straight to the semaphore.
        budget = 0 if spec.same_core else spec.spin_ns
        send, recv_into = hybrid(counters, out, into, semaphores, out_slots, in_slots, budget)
    elif semaphores is None and spec.lockstep and not spec.same_core:
        send, recv_into, *fused = _spin_lockstep(counters, out, into, out_slots[0], in_slots[0])
    elif semaphores is None:
        send, recv_into = _spin_pair(counters, out, into, out_slots, in_slots, spec)
    elif spec.lockstep:
        send, recv_into = _sem_lockstep(semaphores[out][0], semaphores[into][0], out_slots[0], in_slots[0])
    else:
        send, recv_into = _sem_pair(semaphores[out], semaphores[into], out_slots, in_slots)

    inplace = None
    if spec.setting("receive") == "inplace":
        sems = semaphores[into] if semaphores else None
        inplace = _inplace_receiver(counters, into, in_slots, sems, spec)

    return Endpoint(send, recv_into, release, handles, fused[0], fused[1], inplace)


def _releasing(
    out_slots: list[memoryview], in_slots: list[memoryview], counters: Counters, close: Callable[[], None]
) -> Callable[[], None]:
    """The endpoint's close: drop every view of the segment, then the segment."""

    def release() -> None:
        for view in (*out_slots, *in_slots, counters):
            view.release()
        close()

    return release


def _unsync_pair(
    counters: Counters, out: int, into: int, out_slot: memoryview, in_slot: memoryview, same_core: bool
) -> tuple[Callable[[Buffer], None], Callable[[Buffer], int]]:
    """The ``unsync`` demonstration: a writer that never waits and a reader with no handshake back.
    ``racy_read`` waits until the writer's counter moved past the last one it saw, copies the slot out
    (the writer may be overwriting it meanwhile) and returns the counter it saw."""
    # The writer is the spinning ping-pong's: copy into the slot, publish the counter, never look back.
    send = _spin_lockstep(counters, out, into, out_slot, in_slot)[0]
    in_published = 16 * into
    relax = os.sched_yield if same_core else None  # on one shared core the writer needs the CPU to move
    seen = 0

    def racy_read(view: Buffer) -> int:
        nonlocal seen
        while counters[in_published] == seen:
            if relax is not None:
                relax()
        seen = counters[in_published]
        view[:] = in_slot
        return seen

    return send, racy_read


def _spin_pair(
    counters: memoryview,
    out: int,
    into: int,
    out_slots: list[memoryview],
    in_slots: list[memoryview],
    spec: ChannelSpec,
) -> tuple[Callable[[Buffer], None], ...]:
    """Spinning sender and receiver. The sender keeps a private copy of the receiver's progress and
    re-reads the shared counter only when the ring looks full: reading a line the other core keeps
    writing costs a cache-line transfer, which a ping-pong would otherwise pay on every message."""
    depth, mask = spec.slots, spec.slots - 1
    out_published, out_consumed = 16 * out, 16 * out + 8
    in_published, in_consumed = 16 * into, 16 * into + 8
    sent = seen_consumed = received = 0  # segments are created zero-filled
    relax = os.sched_yield if spec.same_core else None

    def send(view: Buffer) -> None:
        nonlocal sent, seen_consumed
        if sent - seen_consumed >= depth:
            seen_consumed = counters[out_consumed]
            while sent - seen_consumed >= depth:
                if relax is not None:
                    relax()
                seen_consumed = counters[out_consumed]
        out_slots[sent & mask][:] = view
        sent += 1
        counters[out_published] = sent

    if relax is not None:

        def yielding_recv_into(view: Buffer) -> None:
            nonlocal received
            while counters[in_published] <= received:
                relax()
            view[:] = in_slots[received & mask]
            received += 1
            counters[in_consumed] = received

        return send, yielding_recv_into

    def recv_into(view: Buffer) -> None:
        nonlocal received
        while counters[in_published] <= received:
            pass
        view[:] = in_slots[received & mask]
        received += 1
        counters[in_consumed] = received

    return send, recv_into


def _spin_lockstep(
    counters: memoryview, out: int, into: int, out_slot: memoryview, in_slot: memoryview
) -> tuple[Callable[..., None], ...]:
    """Ping-pong over one slot per direction: no ring index and no flow control (the reply proves the
    request was consumed), and fused round-trip halves: the loop a hand-written ping-pong runs."""
    out_published, in_published = 16 * out, 16 * into
    sent = received = 0

    def send(view: Buffer) -> None:
        nonlocal sent
        out_slot[:] = view
        sent += 1
        counters[out_published] = sent

    def recv_into(view: Buffer) -> None:
        nonlocal received
        received += 1
        while counters[in_published] < received:
            pass
        view[:] = in_slot

    def exchange(outgoing: Buffer, reply: Buffer) -> None:
        nonlocal sent, received
        out_slot[:] = outgoing
        sent += 1
        counters[out_published] = sent
        received += 1
        while counters[in_published] < received:
            pass
        reply[:] = in_slot

    def echo(buffer: Buffer, count: int) -> None:
        nonlocal sent, received
        for _ in range(count):
            received += 1
            while counters[in_published] < received:
                pass
            buffer[:] = in_slot
            out_slot[:] = buffer
            sent += 1
            counters[out_published] = sent

    return send, recv_into, exchange, echo


def _sem_lockstep(
    out_filled: Any, in_filled: Any, out_slot: memoryview, in_slot: memoryview
) -> tuple[Callable[[Buffer], None], ...]:
    """Ping-pong over one slot per direction with one semaphore each: post after writing, wait before
    reading, the textbook pair."""
    post, wait = out_filled.release, in_filled.acquire

    def send(view: Buffer) -> None:
        out_slot[:] = view
        post()

    def recv_into(view: Buffer) -> None:
        wait()
        view[:] = in_slot

    return send, recv_into


def _sem_pair(
    out_sems: tuple[Any, Any],
    in_sems: tuple[Any, Any],
    out_slots: list[memoryview],
    in_slots: list[memoryview],
) -> tuple[Callable[[Buffer], None], ...]:
    mask = len(out_slots) - 1
    out_filled, out_free = out_sems[0].release, out_sems[1].acquire
    in_filled, in_free = in_sems[0].acquire, in_sems[1].release
    sent = received = 0

    def send(view: Buffer) -> None:
        nonlocal sent
        out_free()
        out_slots[sent & mask][:] = view
        sent += 1
        out_filled()

    def recv_into(view: Buffer) -> None:
        nonlocal received
        in_filled()
        view[:] = in_slots[received & mask]
        received += 1
        in_free()

    return send, recv_into


def _spin_until(counters: Counters, index: int, target: int, budget_ns: int) -> None:
    """Poll ``counters[index]`` until it reaches ``target`` or ``budget_ns`` has passed (then the caller
    sleeps on its semaphore). The clock is read only once the first look has failed."""
    if counters[index] >= target or budget_ns <= 0:
        return
    clock = time.perf_counter_ns
    deadline = clock() + budget_ns
    while counters[index] < target and clock() < deadline:
        pass


def _hybrid_lockstep(
    counters: Counters,
    out: int,
    into: int,
    semaphores: list[tuple[Any, ...]],
    out_slots: list[memoryview],
    in_slots: list[memoryview],
    budget_ns: int,
) -> tuple[Callable[[Buffer], None], ...]:
    """Ping-pong over one slot per direction: publish the counter and post; poll, then take the post."""
    out_published, in_published = 16 * out, 16 * into
    post, take = semaphores[out][0].release, semaphores[into][0].acquire
    out_slot, in_slot = out_slots[0], in_slots[0]
    sent = received = 0

    def send(view: Buffer) -> None:
        nonlocal sent
        out_slot[:] = view
        sent += 1
        counters[out_published] = sent
        post()

    def recv_into(view: Buffer) -> None:
        nonlocal received
        received += 1
        _spin_until(counters, in_published, received, budget_ns)
        take()
        view[:] = in_slot

    return send, recv_into


def _hybrid_pair(
    counters: Counters,
    out: int,
    into: int,
    semaphores: list[tuple[Any, ...]],
    out_slots: list[memoryview],
    in_slots: list[memoryview],
    budget_ns: int,
) -> tuple[Callable[[Buffer], None], ...]:
    """A ring with flow control: the semaphores of ``sem`` (filled, free), and before each take a bounded
    poll of the counter that says the same thing."""
    depth, mask = len(out_slots), len(out_slots) - 1
    out_published, out_consumed = 16 * out, 16 * out + 8
    in_published, in_consumed = 16 * into, 16 * into + 8
    post_filled, take_free = semaphores[out][0].release, semaphores[out][1].acquire
    take_filled, post_free = semaphores[into][0].acquire, semaphores[into][1].release
    sent = received = 0

    def send(view: Buffer) -> None:
        nonlocal sent
        _spin_until(counters, out_consumed, sent - depth + 1, budget_ns)
        take_free()
        out_slots[sent & mask][:] = view
        sent += 1
        counters[out_published] = sent
        post_filled()

    def recv_into(view: Buffer) -> None:
        nonlocal received
        _spin_until(counters, in_published, received + 1, budget_ns)
        take_filled()
        view[:] = in_slots[received & mask]
        received += 1
        counters[in_consumed] = received
        post_free()

    return send, recv_into


def _inplace_receiver(
    counters: Counters, into: int, in_slots: list[memoryview], sems: tuple[Any, ...] | None, spec: ChannelSpec
) -> tuple[Callable[[], memoryview], Callable[[], None]]:
    """``receive=inplace`` on a ring with flow control (stream, openloop): the reader waits as its variant
    does, reads the message where it lies, and only then frees the slot (the sender cannot overwrite a slot
    before it is freed, so the check sees exactly what was sent)."""
    mask = len(in_slots) - 1
    in_published, in_consumed = 16 * into, 16 * into + 8
    take_filled = sems[0].acquire if sems else None
    post_free = sems[1].release if sems else None
    budget = 0 if spec.same_core or spec.variant != "hybrid" else spec.spin_ns
    relax = os.sched_yield if spec.same_core else None
    received = 0

    def recv_view() -> memoryview:
        if take_filled is None:  # spin
            while counters[in_published] <= received:
                if relax is not None:
                    relax()
        else:
            _spin_until(counters, in_published, received + 1, budget)
            take_filled()
        return in_slots[received & mask]

    def release() -> None:
        nonlocal received
        received += 1
        counters[in_consumed] = received
        if post_free is not None:
            post_free()

    return recv_view, release
