"""System V shared memory (``shmget``/``shmat``), with SysV semaphores or spinning as the wait."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from ipcbench.ledger import Ledger, ObjectKind, SysvKind
from ipcbench.transports.base import (
    Endpoint,
    Transport,
    create_recorded,
    missing_binding,
    optional_import,
    random_key,
)
from ipcbench.transports.shm_ring import (
    hybrid_params,
    ring_endpoint,
    segment_size,
    shm_tunables,
    sync_offset,
)

sysv_ipc, BINDING_ERROR = optional_import("sysv_ipc")


def create_sysv(ledger: Ledger, kind: str, make: Any, **kwargs: Any) -> Any:
    """Create a SysV object with ``IPC_CREX``, mode 0600, under a fresh random key."""
    return create_recorded(
        ledger,
        kind,
        random_key,
        lambda key: make(key, sysv_ipc.IPC_CREX, mode=0o600, **kwargs),
        sysv_ipc.ExistentialError,
    )


def remove_sysv(ledger: Ledger | None, kind: str, obj: Any) -> None:
    with contextlib.suppress(sysv_ipc.ExistentialError):
        obj.remove()
    if ledger is not None:
        ledger.discard(kind, str(obj.key))


class SysvShmTransport(Transport):
    """One SysV segment holding both rings; ``sem`` adds four SysV semaphores (free/filled per direction)."""

    name = "sysv-shm"
    native_variants = frozenset({"sem", "spin", "mutex", "hybrid"})  # the C loops of ipcbench.native
    layer = "kernel"
    variants = ("sem", "spin", "mutex", "hybrid")
    native_only = frozenset({"mutex"})
    demonstrations = ("unsync",)  # ipcbench.unsync: no synchronisation at all, the race counted
    summary = "System V shared memory segment (shmget), ring of slots per direction"
    waits: ClassVar[dict[str | None, str]] = {
        "sem": "block",
        "spin": "spin",
        "mutex": "block",
        "hybrid": "hybrid",
        "unsync": "never",
    }
    place = 50
    colours: ClassVar[dict[str | None, str]] = {
        "sem": "#74c476",
        "spin": "#006d2c",
        "mutex": "#a1d99b",
        "hybrid": "#31a354",
    }
    limits = ("shmmax", "shmall", "shmmni", "sem")
    ledger_kinds: ClassVar[dict[str, ObjectKind]] = {
        "sysv-shm": SysvKind("shm", "shmid", "remove_shared_memory", creator_pid=True),
        "sysv-sem": SysvKind("sem", "semid", "remove_semaphore"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._segment: Any = None
        self._sems: list[Any] = []

    @classmethod
    def unavailable(cls) -> str | None:
        return missing_binding("sysv_ipc", BINDING_ERROR)

    def create(self, ledger: Ledger) -> None:
        self._ledger = ledger
        # sysv_ipc fills a new segment with spaces unless told otherwise; the ring's counters start at zero.
        self._segment = create_sysv(
            ledger, "sysv-shm", sysv_ipc.SharedMemory, size=segment_size(self.spec), init_character=b"\0"
        )
        if self.spec.variant == "mutex":
            from ipcbench.native import init_sync  # here: native imports the workloads, which import us

            view = memoryview(self._segment)
            try:
                init_sync(view, sync_offset(self.spec))
            finally:
                view.release()
        self._segment.detach()  # the runner never touches the data; only the peers attach
        if self.spec.variant in ("sem", "hybrid"):
            # Per direction: (filled, free); ping-pong in lockstep needs only "filled".
            initials = (0,) if self.spec.lockstep else (0, self.spec.slots)
            for _direction in range(2):
                for initial in initials:
                    self._sems.append(
                        create_sysv(ledger, "sysv-sem", sysv_ipc.Semaphore, initial_value=initial)
                    )

    def destroy(self) -> None:
        sems, self._sems = self._sems, []
        for sem in sems:
            remove_sysv(self._ledger, "sysv-sem", sem)
        segment, self._segment = self._segment, None
        if segment is not None:
            remove_sysv(self._ledger, "sysv-shm", segment)

    def open(self, role: str) -> Endpoint:
        segment = sysv_ipc.SharedMemory(self._segment.key)
        mv = memoryview(segment)
        sems = [sysv_ipc.Semaphore(sem.key) for sem in self._sems]
        half = len(sems) // 2
        pairs = [tuple(sems[:half]), tuple(sems[half:])] if sems else None

        def close() -> None:
            mv.release()
            segment.detach()

        handles = {
            "shm_key": segment.key,
            "shm_id": segment.id,
            "sem_keys": [s.key for s in sems],
            "segment": mv,
        }
        return ring_endpoint(mv, self.spec, role, pairs, close, handles)

    @classmethod
    def tunables_for(cls, variant: str | None) -> tuple[str, ...]:
        return shm_tunables(variant)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "segment_bytes": segment_size(self.spec), **hybrid_params(self.spec)}
