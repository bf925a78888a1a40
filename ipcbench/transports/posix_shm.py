"""POSIX shared memory (``shm_open`` + ``mmap``), with POSIX named semaphores, eventfds or spinning as the
wait."""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
from typing import Any, ClassVar

from ipcbench.ledger import Ledger, ObjectKind, PosixKind
from ipcbench.transports.base import (
    ChannelSpec,
    Endpoint,
    Transport,
    create_recorded,
    missing_binding,
    optional_import,
    random_name,
)
from ipcbench.transports.eventfd import EventfdSemaphore, eventfd_pairs
from ipcbench.transports.shm_ring import (
    hybrid_params,
    ring_endpoint,
    segment_size,
    shm_tunables,
    sync_offset,
)

posix_ipc, BINDING_ERROR = optional_import("posix_ipc")


def create_posix(ledger: Ledger, kind: str, make: Any, **kwargs: Any) -> Any:
    """Create a POSIX object with ``O_CREX``, mode 0600, under a fresh random name."""
    return create_recorded(
        ledger,
        kind,
        random_name,
        lambda name: make(name, posix_ipc.O_CREX, mode=0o600, **kwargs),
        posix_ipc.ExistentialError,
    )


def unlink_posix(ledger: Ledger | None, kind: str, obj: Any) -> None:
    with contextlib.suppress(posix_ipc.ExistentialError):
        obj.unlink()
    if ledger is not None:
        ledger.discard(kind, obj.name)


# A POSIX shared memory object as the ledger records it (multiprocessing's segments are the same kind).
SHM_OBJECT = PosixKind("/dev/shm/{}", "unlink_shared_memory")


class PosixShmTransport(Transport):
    """One ``/dev/shm`` object holding both rings; ``sem`` adds four POSIX named semaphores, ``eventfd``
    four eventfds in semaphore mode (see ``eventfd``)."""

    name = "posix-shm"
    variants = ("sem", "spin", "eventfd", "mutex", "hybrid")
    native_only = frozenset({"mutex"})
    demonstrations = ("unsync",)  # ipcbench.unsync: no synchronisation at all, the race counted
    native_variants = frozenset({"sem", "spin", "mutex", "hybrid"})  # eventfd: Python tier only, for now
    summary = "POSIX shared memory object (shm_open + mmap), ring of slots per direction"
    waits: ClassVar[dict[str | None, str]] = {
        "sem": "block",
        "spin": "spin",
        "eventfd": "block",
        "mutex": "block",
        "hybrid": "hybrid",
        "unsync": "never",
    }
    layer = "kernel"
    place = 60
    colours: ClassVar[dict[str | None, str]] = {
        "sem": "#e377c2",
        "spin": "#d62728",
        "eventfd": "#9e0142",
        "mutex": "#f7b6d2",
        "hybrid": "#ad494a",
    }
    limits = ("dev_shm_free",)
    ledger_kinds: ClassVar[dict[str, ObjectKind]] = {
        "posix-shm": SHM_OBJECT,
        "posix-sem": PosixKind("/dev/shm/sem.{}", "unlink_semaphore"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shm: Any = None
        self._sems: list[Any] = []
        self._eventfds: list[tuple[EventfdSemaphore, ...]] = []

    @classmethod
    def unavailable(cls) -> str | None:
        return missing_binding("posix_ipc", BINDING_ERROR)

    @classmethod
    def explain_failure(cls, exc: Exception, spec: ChannelSpec) -> str | None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return f"/dev/shm has too little room: the segment needs {segment_size(spec)} bytes"
        return None

    def create(self, ledger: Ledger) -> None:
        self._ledger = ledger
        size = segment_size(self.spec)
        self._shm = create_posix(ledger, "posix-shm", posix_ipc.SharedMemory, size=size)
        try:
            # Reserve the pages now: on a full /dev/shm this fails here with ENOSPC, instead of a peer
            # dying of SIGBUS on its first write.
            os.posix_fallocate(self._shm.fd, 0, size)
            if self.spec.variant == "mutex":
                from ipcbench.native import init_sync  # here: native imports the workloads, which import us

                with mmap.mmap(self._shm.fd, size) as mapping:
                    init_sync(mapping, sync_offset(self.spec))
        finally:
            self._shm.close_fd()
        # Per direction: (filled, free); ping-pong in lockstep needs only "filled".
        initials = (0,) if self.spec.lockstep else (0, self.spec.slots)
        if self.spec.variant == "eventfd":
            self._eventfds = eventfd_pairs(initials)
        if self.spec.variant in ("sem", "hybrid"):
            for _direction in range(2):
                for initial in initials:
                    self._sems.append(
                        create_posix(ledger, "posix-sem", posix_ipc.Semaphore, initial_value=initial)
                    )

    def release_parent(self) -> None:
        eventfds, self._eventfds = self._eventfds, []  # the forked pair holds its own copies
        for pair in eventfds:
            for semaphore in pair:
                semaphore.close()

    def destroy(self) -> None:
        self.release_parent()
        sems, self._sems = self._sems, []
        for sem in sems:
            unlink_posix(self._ledger, "posix-sem", sem)
            sem.close()
        shm, self._shm = self._shm, None
        if shm is not None:
            unlink_posix(self._ledger, "posix-shm", shm)

    def open(self, role: str) -> Endpoint:
        shm = posix_ipc.SharedMemory(self._shm.name)
        mapping = mmap.mmap(shm.fd, shm.size)
        shm.close_fd()
        mv = memoryview(mapping)
        sems = [posix_ipc.Semaphore(sem.name) for sem in self._sems]
        half = len(sems) // 2
        pairs: list[tuple[Any, ...]] | None = [tuple(sems[:half]), tuple(sems[half:])] if sems else None
        if self._eventfds:
            pairs = list(self._eventfds)

        def close() -> None:
            mv.release()
            mapping.close()
            for sem in sems:
                sem.close()

        handles = {
            "shm_name": self._shm.name,
            "sem_names": [s.name for s in sems],
            "eventfds": [e.fd for pair in self._eventfds for e in pair],
            "segment": mv,  # the mapped segment, for the native tier's loops
        }
        return ring_endpoint(mv, self.spec, role, pairs, close, handles)

    @classmethod
    def tunables_for(cls, variant: str | None) -> tuple[str, ...]:
        return shm_tunables(variant)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "segment_bytes": segment_size(self.spec), **hybrid_params(self.spec)}
