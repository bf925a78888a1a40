"""Anonymous pipes: one pipe per direction, inherited by the forked peers."""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import Any, ClassVar

from ipcbench.ledger import Ledger
from ipcbench.transports.base import Endpoint, Transport, directions
from ipcbench.transports.fdio import fd_endpoint


def pipe_buffer_size(fd: int) -> int | None:
    try:
        return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    except OSError:
        return None


def set_pipe_buffer(fd: int, size: int | None) -> None:
    """``--tune pipe_buffer``: resize the pipe's buffer (the kernel rounds up to a power-of-two number of
    pages; ``pipe_buffer_size`` reads back what is in force)."""
    if size is not None:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)


class PipeTransport(Transport):
    """``pipe(2)``: a kernel buffer (64 KiB by default) per direction; every message is copied into the
    kernel by ``write`` and out by ``read``, and a blocked reader is woken by the kernel."""

    name = "pipe"
    native_variants = frozenset({None})  # the C loops of ipcbench.native run over it
    layer = "kernel"
    summary = "anonymous pipe, one per direction (kernel copy in and out)"
    place = 10
    colours: ClassVar[dict[str | None, str]] = {None: "#1f77b4"}
    tunables = ("pipe_buffer",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fds: list[tuple[int, int]] = []  # per direction: (read end, write end)

    def create(self, ledger: Ledger) -> None:
        # fds are not named objects: they vanish with the processes holding them, so no ledger entry.
        self._fds = [os.pipe(), os.pipe()]
        for _, write_fd in self._fds:
            set_pipe_buffer(write_fd, self.spec.setting("pipe_buffer"))

    def release_parent(self) -> None:
        self.destroy()

    def destroy(self) -> None:
        fds, self._fds = self._fds, []
        for pair in fds:
            for fd in pair:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def open(self, role: str) -> Endpoint:
        out, into = directions(role)
        read_fd, write_fd = self._fds[into][0], self._fds[out][1]
        for pair in self._fds:  # close the ends this process does not use, so EOF means "peer gone"
            for fd in pair:
                if fd not in (read_fd, write_fd):
                    os.close(fd)
        # From here the endpoint owns its two fds and the rest are closed: destroy() must not close
        # those numbers again (they may already name other files in this process).
        self._fds = []
        return fd_endpoint(read_fd, write_fd, {"read_fd": read_fd, "write_fd": write_fd})

    def params(self) -> dict[str, Any]:
        size = pipe_buffer_size(self._fds[0][0]) if self._fds else None
        return {**super().params(), "slots": None, "pipe_buffer": size}
