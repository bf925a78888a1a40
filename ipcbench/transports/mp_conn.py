"""``multiprocessing.Pipe`` and ``multiprocessing.Queue``: what a Python program reaches for first.

Both are made by the runner from the ``fork`` context before it forks the measuring pair, which inherits
them, exactly as a ``multiprocessing.Process`` child started with ``fork`` would. The ``fork`` context also
unlinks the named semaphores behind a queue's locks at once, so nothing named can outlive the run and the
resource tracker is never involved.

* ``mp-pipe``: ``Pipe()`` (duplex, a Unix socket pair underneath): ``send_bytes`` writes a 4-byte length
  and the message, ``recv_bytes_into`` lands it in the receiver's buffer; the library reads each message
  into a ``BytesIO`` of its own first and copies it from there (part of the figure).
* ``mp-queue``: one ``Queue`` per direction carrying ``bytes``. ``put`` makes the ``bytes`` object (a copy
  of the sender's buffer a user makes too) and hands it to the queue's feeder thread, which pickles it and
  writes it to a pipe under a lock; ``get`` reads and unpickles a new object under another lock, which is
  then copied into the receiver's buffer. Pickling, the feeder thread's wake-up and that extra copy are all
  part of the figure, as they are part of what a Queue costs its user.
"""

from __future__ import annotations

import multiprocessing
from typing import Any, ClassVar

from ipcbench.errors import PayloadError, PeerError
from ipcbench.ledger import Ledger
from ipcbench.transports.base import Buffer, Endpoint, Transport, directions

FORK = multiprocessing.get_context("fork")


def _check_length(got: int, view: Buffer) -> None:
    if got != len(view):
        raise PayloadError(f"received a {got}-byte message, expected {len(view)} bytes")


class MpPipeTransport(Transport):
    """``multiprocessing.Pipe()``: one duplex connection pair; each process keeps its end."""

    name = "mp-pipe"
    place = 110
    colours: ClassVar[dict[str | None, str]] = {None: "#6baed6"}
    summary = (
        "multiprocessing.Pipe (send_bytes / recv_bytes_into over a Unix socket pair; the library reads "
        "into its own buffer and copies)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ends: list[Any] = []

    def create(self, ledger: Ledger) -> None:
        # A connection pair is two fds, not a named object: it vanishes with its processes.
        self._ends = list(FORK.Pipe())

    def release_parent(self) -> None:
        self.destroy()

    def destroy(self) -> None:
        ends, self._ends = self._ends, []
        for end in ends:
            end.close()

    def open(self, role: str) -> Endpoint:
        ends, self._ends = self._ends, []
        mine, other = (ends[0], ends[1]) if role == "initiator" else (ends[1], ends[0])
        other.close()  # so that the other side's death reads as end-of-file here
        send, receive = mine.send_bytes, mine.recv_bytes_into

        def recv_into(view: Buffer) -> None:
            try:
                got = receive(view)
            except EOFError as exc:
                raise PeerError("the other side closed the connection") from exc
            except multiprocessing.BufferTooShort as exc:
                raise PayloadError(f"received a message longer than {len(view)} bytes") from exc
            if got != len(view):
                _check_length(got, view)

        return Endpoint(send, recv_into, mine.close, {"fd": mine.fileno()})

    def params(self) -> dict[str, Any]:
        return {**super().params(), "slots": None, "duplex": True}


class MpQueueTransport(Transport):
    """Two ``multiprocessing.Queue`` objects, one per direction, carrying ``bytes``."""

    name = "mp-queue"
    place = 120
    colours: ClassVar[dict[str | None, str]] = {None: "#08519c"}
    summary = (
        "multiprocessing.Queue per direction carrying bytes (pickling, a feeder thread and a copy out "
        "of a new object per message are part of its cost)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queues: list[Any] = []

    def create(self, ledger: Ledger) -> None:
        self._queues = [FORK.Queue(), FORK.Queue()]

    def destroy(self) -> None:
        queues, self._queues = self._queues, []
        for queue in queues:
            queue.close()

    def open(self, role: str) -> Endpoint:
        out, into = directions(role)
        out_queue, in_queue = self._queues[out], self._queues[into]
        put, get = out_queue.put, in_queue.get

        def send(view: Buffer) -> None:
            put(bytes(view))

        def recv_into(view: Buffer) -> None:
            message = get()
            if len(message) != len(view):
                _check_length(len(message), view)
            view[:] = message

        def close() -> None:
            # The feeder thread may still hold the last messages: wait until they are in the pipe, or
            # the other side would never get them once this process exits.
            out_queue.close()
            out_queue.join_thread()

        return Endpoint(send, recv_into, close, {"queues": "multiprocessing.Queue x2"})

    def params(self) -> dict[str, Any]:
        return {**super().params(), "slots": None, "carries": "bytes (pickled)"}
