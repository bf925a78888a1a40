"""``multiprocessing.shared_memory`` with the synchronisation a Python program takes from ``multiprocessing``.

The runner creates one ``SharedMemory`` segment (exclusive, mode 0600, an ipcbench name recorded in its
ledger first) and the synchronisation objects from the ``fork`` context, then forks the measuring pair,
which inherits the mapping and the objects: a child never attaches by name. The segment holds the same
ring as the kernel-layer shared-memory mechanisms (``shm_ring``), so the two layers differ only in the
library objects around it.

* ``sem``: ``multiprocessing.Semaphore`` pairs, (filled, free) per direction, one per direction in
  ping-pong: the textbook pair, through ``multiprocessing``'s ``SemLock``.
* ``event``: ``multiprocessing.Event``, the object most examples reach for. An event is a flag, not a
  counter, so each direction has one slot: the receiver waits for "filled" and clears it, the sender waits
  for "free" (stream only; in ping-pong the reply says the request was consumed). A stream therefore pays a
  hand-over per message, as a program built on events does.

The resource tracker (Python 3.11, CPython gh-82300): ``SharedMemory`` registers every segment it opens,
and the tracker unlinks, with a warning, what is still registered when its processes are gone. The runner
unregisters the segment at once (its ledger is what cleans up after a kill) and removes it itself with
``shm_unlink`` (``SharedMemory.unlink`` would unregister a second time, which the tracker reports as an
error); the children inherit the mapping and never register anything, so no process's exit can unlink the
segment under a run, and nothing is left for the tracker to warn about.
"""

from __future__ import annotations

import _posixshmem  # multiprocessing.shared_memory's own shm_open/shm_unlink
import contextlib
import dataclasses
from collections.abc import Callable
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import Any, ClassVar

from ipcbench.ledger import Ledger, ObjectKind
from ipcbench.transports.base import Endpoint, Transport, create_recorded, random_name
from ipcbench.transports.mp_conn import FORK
from ipcbench.transports.posix_shm import SHM_OBJECT
from ipcbench.transports.shm_ring import ring_endpoint, segment_size


class EventAsSemaphore:
    """A binary semaphore made of a ``multiprocessing.Event``: acquire waits until it is set and clears it,
    release sets it. Safe with one waiter per event and one message in flight per slot."""

    def __init__(self, initially_set: bool) -> None:
        event = FORK.Event()
        if initially_set:
            event.set()
        wait, clear = event.wait, event.clear
        self.release: Callable[[], None] = event.set

        def acquire() -> None:
            wait()
            clear()

        self.acquire = acquire


def _create_segment(ledger: Ledger, size: int) -> SharedMemory:
    segment: SharedMemory = create_recorded(
        ledger,
        "posix-shm",
        random_name,
        lambda name: SharedMemory(name[1:], create=True, size=size),  # it adds the leading slash back
        FileExistsError,
    )
    resource_tracker.unregister(segment._name, "shared_memory")  # type: ignore[attr-defined]
    return segment


class MpShmTransport(Transport):
    """One ``SharedMemory`` segment holding both rings, waited on with ``multiprocessing`` objects."""

    name = "mp-shm"
    variants = ("event", "sem")
    summary = "multiprocessing.shared_memory segment, ring of slots, multiprocessing Event or Semaphore"
    waits: ClassVar[dict[str | None, str]] = {"event": "block", "sem": "block"}
    place = 130
    colours: ClassVar[dict[str | None, str]] = {"event": "#a63603", "sem": "#fd8d3c"}
    limits = ("dev_shm_free",)
    ledger_kinds: ClassVar[dict[str, ObjectKind]] = {"posix-shm": SHM_OBJECT}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An event is a flag: one slot per direction, whatever the workload allows others.
        self.layout = dataclasses.replace(self.spec, slots=1) if self.spec.variant == "event" else self.spec
        self._segment: SharedMemory | None = None
        self._name: str | None = None
        self._ledger: Ledger | None = None
        self._sync: list[tuple[Any, ...]] = []

    def create(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._segment = _create_segment(ledger, segment_size(self.layout))
        self._name = self._segment._name  # type: ignore[attr-defined]
        lockstep = self.layout.lockstep
        for _direction in range(2):
            if self.spec.variant == "event":  # (filled,) or (filled, free): free starts set, the slot empty
                flags = (False,) if lockstep else (False, True)
                self._sync.append(tuple(EventAsSemaphore(flag) for flag in flags))
            else:
                initials = (0,) if lockstep else (0, self.layout.slots)
                self._sync.append(tuple(FORK.Semaphore(value) for value in initials))

    def release_parent(self) -> None:
        if self._segment is not None:
            self._segment.close()  # the runner's mapping; the children keep theirs

    def destroy(self) -> None:
        self.release_parent()
        self._segment, self._sync = None, []
        name, self._name = self._name, None
        if name is not None:
            with contextlib.suppress(FileNotFoundError):
                _posixshmem.shm_unlink(name)
            self._untrack("posix-shm", name)

    def open(self, role: str) -> Endpoint:
        segment = self._segment
        assert segment is not None and segment.buf is not None
        handles = {"shm_name": self._name}

        def close() -> None:
            with contextlib.suppress(BufferError):
                segment.close()

        return ring_endpoint(segment.buf, self.layout, role, self._sync, close, handles)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "slots": self.layout.slots, "segment_bytes": segment_size(self.layout)}
