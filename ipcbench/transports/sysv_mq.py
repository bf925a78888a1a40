"""System V message queues (``msgget``/``msgsnd``/``msgrcv``), one queue per direction."""

from __future__ import annotations

from typing import Any, ClassVar

from ipcbench.errors import PayloadError
from ipcbench.ledger import Ledger, ObjectKind, SysvKind
from ipcbench.machine import SYSCTL_OF
from ipcbench.transports.base import Buffer, Endpoint, Skip, Transport, directions, missing_binding
from ipcbench.transports.sysv_shm import BINDING_ERROR, create_sysv, remove_sysv, sysv_ipc


class SysvMqTransport(Transport):
    """A message is copied into the kernel by ``msgsnd`` and out by ``msgrcv``. ``sysv_ipc`` returns each
    received message as a new bytes object, which is then copied into the receiver's buffer: that extra
    copy is what a Python user of the library pays, and is part of the figure."""

    name = "sysv-mq"
    native_variants = frozenset({None})  # the C loops of ipcbench.native run over it
    layer = "kernel"
    summary = "System V message queue per direction (msgsnd/msgrcv)"
    place = 70
    colours: ClassVar[dict[str | None, str]] = {None: "#9467bd"}
    limits = ("msgmni", "msgmnb", "msgmax")
    ledger_kinds: ClassVar[dict[str, ObjectKind]] = {
        "sysv-mq": SysvKind("msg", "msqid", "remove_message_queue")
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queues: list[Any] = []

    @classmethod
    def unavailable(cls) -> str | None:
        return missing_binding("sysv_ipc", BINDING_ERROR)

    @classmethod
    def skip_reason(cls, size: int, limits: dict[str, Any]) -> Skip | None:
        for key in ("msgmax", "msgmnb"):
            limit = limits.get(key)
            if limit is not None and size > limit:
                what = "per message" if key == "msgmax" else "per queue"
                return Skip(
                    f"SysV message queues carry at most {key}={limit} bytes {what} here",
                    f"sysctl -w {SYSCTL_OF[key]}={size} (as root)",
                )
        return None

    def create(self, ledger: Ledger) -> None:
        self._ledger = ledger
        for _direction in range(2):
            self._queues.append(
                create_sysv(ledger, "sysv-mq", sysv_ipc.MessageQueue, max_message_size=self.spec.size)
            )

    def destroy(self) -> None:
        queues, self._queues = self._queues, []
        for queue in queues:
            remove_sysv(self._ledger, "sysv-mq", queue)

    def open(self, role: str) -> Endpoint:
        out, into = directions(role)
        size = self.spec.size
        out_queue = sysv_ipc.MessageQueue(self._queues[out].key, max_message_size=size)
        in_queue = sysv_ipc.MessageQueue(self._queues[into].key, max_message_size=size)
        put, get = out_queue.send, in_queue.receive

        def recv_into(view: Buffer) -> None:
            message = get()[0]
            if len(message) != len(view):
                raise PayloadError(f"received a {len(message)}-byte message, expected {len(view)} bytes")
            view[:] = message

        handles = {"queue_keys": [q.key for q in self._queues], "queue_ids": [q.id for q in self._queues]}
        return Endpoint(put, recv_into, lambda: None, handles)

    def params(self) -> dict[str, Any]:
        depth = self._queues[0].max_size // self.spec.size if self._queues else None
        return {
            **super().params(),
            "slots": depth,
            "queue_bytes": self._queues[0].max_size if self._queues else None,
        }
