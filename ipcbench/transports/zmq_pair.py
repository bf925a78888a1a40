"""pyzmq ``PAIR`` sockets over ``ipc://``: the messaging library many Python programs use between processes.

The runner makes only a private folder (mode 0700, recorded in its ledger): a zmq context must never cross
a ``fork``, so each measuring process makes its own context and socket after it is forked. The peer binds
``ipc://FOLDER/z`` (a Unix socket file, created mode 0600) and the initiator connects; zmq reconnects on
its own if the connect comes first, and the warm-up messages absorb that wait.

What a message costs here: ``send`` copies the caller's buffer into a zmq message, zmq's I/O thread (one
more thread in each process) frames it and writes it to the Unix socket, the receiving I/O thread reads it
into a new zmq message, and ``recv_into`` copies that into the receiver's buffer. Every one of those steps
is part of the figure, as it is part of what a pyzmq user pays. In a stream the high-water marks are set to
the ring depth the other mechanisms get, so it keeps about as much in flight (and a 16 MiB stream does not
queue gigabytes); ping-pong keeps zmq's defaults (a high-water mark of 2 there would add a credit message
between zmq's threads for every message read).

pyzmq is optional (``pip install 'ipcbench[zmq]'``); without it the mechanism is listed as unavailable
with that command.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from ipcbench.errors import PayloadError
from ipcbench.ledger import Ledger
from ipcbench.transports.base import Buffer, Endpoint, Transport

INSTALL = "pip install 'ipcbench[zmq]'"
SUN_PATH_MAX = 107  # bytes of a Unix socket path, without the terminating NUL
LINGER_MS = 2000  # how long closing may wait for the last messages to leave (the peer's final echo)
RECONNECT_MS = 5  # a connect that came before the bind is retried this soon (zmq's default is 100 ms)


class ZmqTransport(Transport):
    """One ``PAIR`` socket per process, full duplex, over a Unix socket file in a private folder."""

    name = "zmq"
    place = 140
    colours: ClassVar[dict[str | None, str]] = {None: "#636363"}
    summary = (
        "pyzmq PAIR sockets over ipc:// (copies into and out of zmq messages; zmq's I/O thread does the "
        "socket work)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dir: Path | None = None
        self._address: str | None = None

    @classmethod
    def unavailable(cls) -> str | None:
        try:
            import zmq  # noqa: F401
        except ImportError:
            return f"pyzmq is not installed; to install it: {INSTALL}"
        return None

    def create(self, ledger: Ledger) -> None:
        import zmq  # noqa: F401 - imported here, before the fork, so the children do not each import it

        self._ledger = ledger
        self._dir = ledger.private_dir()
        path = f"{self._dir}/z"
        if len(os.fsencode(path)) > SUN_PATH_MAX:
            raise OSError(
                f"the ipc:// path {path} is longer than the {SUN_PATH_MAX} bytes a Unix socket path may "
                "have; set IPCBENCH_STATE_DIR to a shorter folder"
            )
        self._address = f"ipc://{path}"

    def destroy(self) -> None:
        folder, self._dir = self._dir, None
        self._remove_private_dir(folder)

    def open(self, role: str) -> Endpoint:
        import zmq

        address = self._address
        assert address is not None, "create() runs before open()"
        context = zmq.Context(io_threads=1)
        sock = context.socket(zmq.PAIR)
        sock.setsockopt(zmq.LINGER, LINGER_MS)
        if not self.spec.lockstep:  # ping-pong has one message in flight: zmq's defaults, as a user has
            for option in (zmq.SNDHWM, zmq.RCVHWM):
                sock.setsockopt(option, max(2, self.spec.slots))
        if role == "peer":
            old = os.umask(0o177)  # the socket file is created 0600, never briefly wider
            try:
                sock.bind(address)
            finally:
                os.umask(old)
        else:
            sock.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
            sock.connect(address)
        return _endpoint(sock, context, {"address": address})

    def params(self) -> dict[str, Any]:
        import zmq

        hwm = None if self.spec.lockstep else max(2, self.spec.slots)
        return {**super().params(), "hwm": hwm, "zmq": zmq.zmq_version()}


def _endpoint(sock: Any, context: Any, handles: dict[str, Any]) -> Endpoint:
    send, receive = sock.send, sock.recv_into

    def recv_into(view: Buffer) -> None:
        got = receive(view)  # the message's real length, even when it was longer than the buffer
        if got != len(view):
            raise PayloadError(f"received a {got}-byte message, expected {len(view)} bytes")

    def close() -> None:
        sock.close()
        context.term()  # waits (up to the linger) until the last messages have left

    return Endpoint(send, recv_into, close, handles)
