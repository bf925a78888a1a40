"""POSIX message queues (``mq_open``/``mq_send``/``mq_receive``), one queue per direction."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from ipcbench.errors import PayloadError
from ipcbench.ledger import Ledger, ObjectKind, PosixKind
from ipcbench.machine import SYSCTL_OF
from ipcbench.transports.base import Buffer, Endpoint, Skip, Transport, directions, missing_binding
from ipcbench.transports.posix_shm import BINDING_ERROR, create_posix, posix_ipc, unlink_posix


class PosixMqTransport(Transport):
    """Queue depth is ``min(slots, fs.mqueue.msg_max)``; sizes are always passed explicitly, because
    ``posix_ipc``'s defaults were read on the machine that built the wheel. ``receive`` returns a new bytes
    object per message, copied into the receiver's buffer (part of what a Python user pays)."""

    name = "posix-mq"
    native_variants = frozenset({None})  # the C loops of ipcbench.native run over it
    layer = "kernel"
    summary = "POSIX message queue per direction (mq_send/mq_receive)"
    place = 80
    colours: ClassVar[dict[str | None, str]] = {None: "#7f7f7f"}
    limits = ("mq_queues_max", "rlimit_msgqueue", "mq_msg_max", "mq_msgsize_max")
    ledger_kinds: ClassVar[dict[str, ObjectKind]] = {
        "posix-mq": PosixKind("/dev/mqueue/{}", "unlink_message_queue")
    }
    tunables = ("queue_depth",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queues: list[Any] = []
        self._depth = 0

    @classmethod
    def unavailable(cls) -> str | None:
        missing = missing_binding("posix_ipc", BINDING_ERROR)
        if missing is not None or posix_ipc.MESSAGE_QUEUES_SUPPORTED:
            return missing
        return "this platform has no POSIX message queues"

    @classmethod
    def skip_reason(cls, size: int, limits: dict[str, Any]) -> Skip | None:
        limit = limits.get("mq_msgsize_max")
        if limit is not None and size > limit:
            return Skip(
                f"POSIX message queues carry at most mq_msgsize_max={limit} bytes per message here",
                f"sysctl -w {SYSCTL_OF['mq_msgsize_max']}={size} (as root; ceiling 16 MiB)",
            )
        return None

    def create(self, ledger: Ledger) -> None:
        from ipcbench.machine import read_limits

        self._ledger = ledger
        msg_max = read_limits().get("mq_msg_max") or 10
        self._depth = max(1, min(self.spec.slots, msg_max))
        for _direction in range(2):
            try:
                queue = create_posix(
                    ledger,
                    "posix-mq",
                    posix_ipc.MessageQueue,
                    max_messages=self._depth,
                    max_message_size=self.spec.size,
                )
            except OSError as exc:
                raise OSError(
                    exc.errno,
                    f"{exc.strerror or exc}: the per-user POSIX queue limits are exhausted "
                    "(RLIMIT_MSGQUEUE, see `ulimit -q`, or fs.mqueue.queues_max)",
                ) from exc
            self._queues.append(queue)

    def destroy(self) -> None:
        queues, self._queues = self._queues, []
        for queue in queues:
            unlink_posix(self._ledger, "posix-mq", queue)
            with contextlib.suppress(posix_ipc.ExistentialError):
                queue.close()

    def open(self, role: str) -> Endpoint:
        out, into = directions(role)
        out_queue = posix_ipc.MessageQueue(self._queues[out].name)
        in_queue = posix_ipc.MessageQueue(self._queues[into].name)
        put, get = out_queue.send, in_queue.receive

        def recv_into(view: Buffer) -> None:
            message = get()[0]
            if len(message) != len(view):
                raise PayloadError(f"received a {len(message)}-byte message, expected {len(view)} bytes")
            view[:] = message

        def close() -> None:
            out_queue.close()
            in_queue.close()

        return Endpoint(put, recv_into, close, {"queue_names": [q.name for q in self._queues]})

    def params(self) -> dict[str, Any]:
        return {**super().params(), "slots": self._depth}
