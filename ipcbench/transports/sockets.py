"""Stream sockets: a Unix domain socket bound in a private folder, and TCP over loopback.

The runner binds and listens; the peer accepts on the inherited listening socket, the initiator connects.
One connection carries both directions (sockets are full duplex).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from pathlib import Path
from typing import Any, ClassVar

from ipcbench.ledger import Ledger
from ipcbench.transports.base import Endpoint, Transport
from ipcbench.transports.fdio import socket_endpoint


class _SocketTransport(Transport):
    family: socket.AddressFamily
    kind: socket.SocketKind = socket.SOCK_STREAM
    layer = "kernel"
    tunables = ("socket_buffer",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listener: socket.socket | None = None
        self._address: Any = None
        self._token = secrets.token_bytes(16)

    def _bind(self, ledger: Ledger, sock: socket.socket) -> Any:
        raise NotImplementedError

    def create(self, ledger: Ledger) -> None:
        sock = socket.socket(self.family, self.kind)
        try:
            self._set_buffers(sock)
            self._address = self._bind(ledger, sock)
            sock.listen(1)
        except BaseException:
            sock.close()
            raise
        self._listener = sock

    def _accept_ours(self, listener: socket.socket) -> socket.socket:
        """Accept connections until one presents this run's token (a stranger on loopback gets dropped)."""
        while True:
            conn, _ = listener.accept()
            token = bytearray(len(self._token))
            with contextlib.suppress(OSError):
                conn.settimeout(5.0)
                if (
                    conn.recv_into(token, len(token), socket.MSG_WAITALL) == len(token)
                    and token == self._token
                ):
                    conn.settimeout(None)
                    return conn
            conn.close()

    def release_parent(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def destroy(self) -> None:
        self.release_parent()

    def _tune(self, sock: socket.socket) -> None:
        """Per-connection options (TCP_NODELAY for TCP)."""

    def _set_buffers(self, sock: socket.socket) -> None:
        """``--tune socket_buffer``: both buffers of a socket (the listener's are read back as params;
        the kernel doubles the value for its bookkeeping)."""
        size = self.spec.setting("socket_buffer")
        if size is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)

    def open(self, role: str) -> Endpoint:
        listener, self._listener = self._listener, None
        assert listener is not None
        if role == "peer":
            conn = self._accept_ours(listener)
            listener.close()
        else:
            listener.close()
            conn = socket.socket(self.family, self.kind)
            conn.connect(self._address)
            conn.sendall(self._token)
        self._set_buffers(conn)
        self._tune(conn)
        return self._endpoint(conn, {"fd": conn.fileno(), "address": self._address})

    def _endpoint(self, conn: socket.socket, handles: dict[str, Any]) -> Endpoint:
        return socket_endpoint(conn, handles)

    def params(self) -> dict[str, Any]:
        params = {**super().params(), "slots": None}
        if self._listener is not None:
            params["sndbuf"] = self._listener.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            params["rcvbuf"] = self._listener.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        return params


class UnixTransport(_SocketTransport):
    """``AF_UNIX`` ``SOCK_STREAM``: the socket file lives in a private 0700 folder, mode 0600."""

    name = "unix"
    native_variants = frozenset({None})  # the C loops of ipcbench.native run over it
    summary = "Unix domain stream socket (socket file in a private folder)"
    place = 30
    colours: ClassVar[dict[str | None, str]] = {None: "#ff7f0e"}
    family = socket.AF_UNIX

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dir: Path | None = None

    def _bind(self, ledger: Ledger, sock: socket.socket) -> Any:
        self._ledger = ledger
        self._dir = ledger.private_dir()
        path = str(self._dir / "socket")
        old = os.umask(0o177)  # the socket file is created 0600, never briefly wider
        try:
            sock.bind(path)
        finally:
            os.umask(old)
        return path

    def destroy(self) -> None:
        super().destroy()
        folder, self._dir = self._dir, None
        self._remove_private_dir(folder)


class TcpTransport(_SocketTransport):
    """TCP over 127.0.0.1 with ``TCP_NODELAY`` (no Nagle delay on small messages)."""

    name = "tcp"
    native_variants = frozenset({None})  # the C loops of ipcbench.native run over it
    summary = "TCP over loopback, TCP_NODELAY"
    place = 40
    colours: ClassVar[dict[str | None, str]] = {None: "#8c564b"}
    family = socket.AF_INET

    def _bind(self, ledger: Ledger, sock: socket.socket) -> Any:
        sock.bind(("127.0.0.1", 0))  # the kernel picks a free port: two runs never collide
        return sock.getsockname()

    def _tune(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
