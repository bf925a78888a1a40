"""``AF_UNIX`` ``SOCK_SEQPACKET``: a connected Unix socket that keeps message boundaries.

One ``send`` is one message and one ``recv`` returns exactly one message, so there is no framing and no
loop over partial reads; a receive with ``MSG_TRUNC`` returns the message's real length, so a message of
the wrong size is caught rather than silently cut. A message must fit the sending socket's buffer in one
piece: the transport raises ``SO_SNDBUF`` as far as the message needs (``net.core.wmem_max`` caps what an
unprivileged process may ask for; the kernel doubles the value and keeps 32 bytes for itself), and a size
beyond that is skipped with the sysctl that would allow it. Beyond about 4 MiB the kernel refuses a
message whatever the buffer (it allocates each one in a single socket buffer); that ceiling is found by
asking the kernel once per size, and such a size is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import socket
from typing import Any, ClassVar

from ipcbench.errors import PayloadError, PeerError
from ipcbench.transports.base import Buffer, Endpoint, Skip
from ipcbench.transports.sockets import UnixTransport

OVERHEAD = 32  # bytes of the send buffer the kernel keeps back from a datagram


def sndbuf_for(size: int) -> int:
    """The ``SO_SNDBUF`` value that lets one ``size``-byte message through (the kernel doubles it)."""
    return -(-(size + OVERHEAD) // 2)


@functools.lru_cache(maxsize=64)
def kernel_accepts(size: int) -> bool:
    """Whether this kernel sends one ``size``-byte SEQPACKET message with a buffer large enough for it."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with a, b:
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf_for(size))
        try:
            a.send(bytes(size), socket.MSG_DONTWAIT)
        except OSError as exc:
            if exc.errno in (errno.EMSGSIZE, errno.ENOBUFS, errno.EAGAIN):
                return False
            raise
    return True


class UnixSeqpacketTransport(UnixTransport):
    """Unix ``SOCK_SEQPACKET`` socket file in a private folder; ``SO_SNDBUF`` raised to fit a message."""

    name = "unix-seqpacket"
    native_variants: ClassVar[frozenset[str | None]] = frozenset()  # no C loops for it yet: Python only
    summary = "Unix domain SOCK_SEQPACKET socket (kernel keeps message boundaries)"
    kind = socket.SOCK_SEQPACKET
    place = 35
    colours: ClassVar[dict[str | None, str]] = {None: "#fdae6b"}
    limits = ("wmem_max",)

    @classmethod
    def skip_reason(cls, size: int, limits: dict[str, Any]) -> Skip | None:
        wmem_max = limits.get("wmem_max")
        default = 212992  # net.core.wmem_default on Linux when wmem_max cannot be read
        ceiling = 2 * (wmem_max if isinstance(wmem_max, int) else default) - OVERHEAD
        if size > ceiling:
            return Skip(
                f"a Unix SEQPACKET message must fit the socket's send buffer: at most {ceiling} bytes "
                f"with net.core.wmem_max={wmem_max} here",
                f"sysctl -w net.core.wmem_max={sndbuf_for(size)} (as root)",
            )
        if not kernel_accepts(size):
            return Skip(f"this kernel refuses a {size}-byte Unix SEQPACKET message whatever the send buffer")
        return None

    def _tune(self, sock: socket.socket) -> None:
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) < self.spec.size + OVERHEAD:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf_for(self.spec.size))

    def _endpoint(self, conn: socket.socket, handles: dict[str, Any]) -> Endpoint:
        return seqpacket_endpoint(conn, handles)


def seqpacket_endpoint(sock: socket.socket, handles: dict[str, Any]) -> Endpoint:
    """Whole messages both ways: one ``send``, one ``recv_into`` each (``MSG_TRUNC`` tells the length)."""
    send_, recv_into_ = sock.send, sock.recv_into
    truncated = socket.MSG_TRUNC

    def send(view: Buffer) -> None:
        sent = send_(view)
        if sent != len(view):  # a SEQPACKET send is all or nothing; this would be a kernel surprise
            raise PeerError(f"sent {sent} of {len(view)} bytes of one message")

    def recv_into(view: Buffer) -> None:
        got = recv_into_(view, 0, truncated)
        if got != len(view):
            _wrong_length(got, len(view))

    def close() -> None:
        with contextlib.suppress(OSError):
            sock.close()

    return Endpoint(send, recv_into, close, handles)


def _wrong_length(got: int, expected: int) -> None:
    if got == 0:
        raise PeerError("the other side closed the connection")
    raise PayloadError(f"received a {got}-byte message, expected {expected} bytes")
