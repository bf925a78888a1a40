"""Endpoints over file descriptors and stream sockets, shared by pipe, FIFO, Unix and TCP transports.

Byte streams have no message boundaries, so ``send`` writes until the whole message is out and
``recv_into`` reads until the whole message is in: partial reads and writes are handled, never ignored. The
first read or write goes straight into the caller's buffer; only a partial one slices (rare for small
messages, negligible next to the copy for large ones). ``exchange`` and ``echo`` are fused so a round trip
makes the same calls as a hand-written loop.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

from ipcbench.errors import PeerError
from ipcbench.transports.base import Buffer, Endpoint


def fd_endpoint(read_fd: int, write_fd: int, handles: dict[str, Any]) -> Endpoint:
    """An endpoint that reads one fd and writes another (pipes, FIFOs)."""
    write, readv = os.write, os.readv

    def send(view: Buffer) -> None:
        written = write(write_fd, view)
        if written != len(view):
            _write_rest(write_fd, view, written)

    def recv_into(view: Buffer) -> None:
        got = readv(read_fd, (view,))
        if got != len(view):
            _read_rest(read_fd, view, got)

    def exchange(outgoing: Buffer, reply: Buffer) -> None:
        written = write(write_fd, outgoing)
        if written != len(outgoing):
            _write_rest(write_fd, outgoing, written)
        got = readv(read_fd, (reply,))
        if got != len(reply):
            _read_rest(read_fd, reply, got)

    def echo(buffer: Buffer, count: int) -> None:
        size = len(buffer)
        for _ in range(count):
            got = readv(read_fd, (buffer,))
            if got != size:
                _read_rest(read_fd, buffer, got)
            written = write(write_fd, buffer)
            if written != size:
                _write_rest(write_fd, buffer, written)

    def close() -> None:
        for fd in {read_fd, write_fd}:
            with contextlib.suppress(OSError):
                os.close(fd)

    return Endpoint(send, recv_into, close, handles, exchange, echo)


def _write_rest(fd: int, view: Buffer, written: int) -> None:
    rest = memoryview(view)
    while written < len(rest):
        written += os.write(fd, rest[written:])


def _read_rest(fd: int, view: Buffer, got: int) -> None:
    rest = memoryview(view)
    while got < len(rest):
        if got == 0:
            raise PeerError("the other side closed the channel (end of file)")
        n = os.readv(fd, (rest[got:],))
        if n == 0:
            raise PeerError("the other side closed the channel (end of file)")
        got += n


def socket_endpoint(sock: socket.socket, handles: dict[str, Any]) -> Endpoint:
    """An endpoint over one connected stream socket (Unix or TCP)."""
    sendall, recv_into_ = sock.sendall, sock.recv_into
    waitall = socket.MSG_WAITALL

    def recv_into(view: Buffer) -> None:
        got = recv_into_(view, 0, waitall)
        if got != len(view):
            _recv_rest(sock, view, got)

    def exchange(outgoing: Buffer, reply: Buffer) -> None:
        sendall(outgoing)
        got = recv_into_(reply, 0, waitall)
        if got != len(reply):
            _recv_rest(sock, reply, got)

    def echo(buffer: Buffer, count: int) -> None:
        size = len(buffer)
        for _ in range(count):
            got = recv_into_(buffer, 0, waitall)
            if got != size:
                _recv_rest(sock, buffer, got)
            sendall(buffer)

    return Endpoint(sendall, recv_into, sock.close, handles, exchange, echo)


def _recv_rest(sock: socket.socket, view: Buffer, got: int) -> None:
    rest = memoryview(view)
    while got < len(rest):
        if got == 0:
            raise PeerError("the other side closed the connection")
        n = sock.recv_into(rest[got:], 0, socket.MSG_WAITALL)
        if n == 0:
            raise PeerError("the other side closed the connection")
        got += n
