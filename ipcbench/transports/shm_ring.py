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

In ping-pong (``spec.lockstep``) each direction has a single slot and no flow control: the reply proves
the request was consumed, so a spinning side polls one counter and a ``sem`` side uses one semaphore per
direction, as a hand-written ping-pong would.

Ordering: a sender copies the payload, then publishes the counter; on x86 (TSO) stores become visible in
program order and each copy and store is a separate C call the compiler cannot reorder. Semaphore calls
are full barriers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ipcbench.errors import PeerError
from ipcbench.transports.base import Buffer, ChannelSpec, Endpoint, directions

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
    fused: list[Any] = [None, None]
    send: Callable[[Buffer], None]
    recv_into: Callable[[Buffer], None]
    if spec.variant == "mutex":
        send, recv_into = native_only, native_only
    elif semaphores is None and spec.lockstep and not spec.same_core:
        send, recv_into, *fused = _spin_lockstep(counters, out, into, out_slots[0], in_slots[0])
    elif semaphores is None:
        send, recv_into = _spin_pair(counters, out, into, out_slots, in_slots, spec)
    elif spec.lockstep:
        send, recv_into = _sem_lockstep(semaphores[out][0], semaphores[into][0], out_slots[0], in_slots[0])
    else:
        send, recv_into = _sem_pair(semaphores[out], semaphores[into], out_slots, in_slots)

    def release() -> None:
        for view in (*out_slots, *in_slots, counters):
            view.release()
        close()

    return Endpoint(send, recv_into, release, handles, *fused)


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
