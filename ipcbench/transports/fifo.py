"""Named pipes (FIFOs): the same kernel object as a pipe, opened by path from a private folder."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, ClassVar

from ipcbench.ledger import Ledger
from ipcbench.transports.base import Endpoint, Transport, directions
from ipcbench.transports.fdio import fd_endpoint
from ipcbench.transports.pipe import pipe_buffer_size, set_pipe_buffer


class FifoTransport(Transport):
    """``mkfifo(3)`` in a private 0700 folder, mode 0600; each side opens both FIFOs by path."""

    name = "fifo"
    native_variants = frozenset({None})  # the C loops of ipcbench.native run over it
    layer = "kernel"
    summary = "named pipe (FIFO) per direction, opened by path"
    place = 20
    colours: ClassVar[dict[str | None, str]] = {None: "#17becf"}
    tunables = ("pipe_buffer",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dir: Path | None = None
        self._paths: list[Path] = []
        self._held: list[int] = []  # the runner's own opens of a tuned FIFO, until the children hold it

    def create(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._dir = ledger.private_dir()
        self._paths = [self._dir / "forward", self._dir / "back"]
        for path in self._paths:
            os.mkfifo(path, 0o600)
        if self.spec.setting("pipe_buffer") is not None:
            # A FIFO's buffer lives while someone holds it open: the runner holds each one (O_RDWR never
            # blocks on Linux) so the size the kernel grants can be read back; each writer sets it again.
            for path in self._paths:
                self._held.append(os.open(path, os.O_RDWR | os.O_NONBLOCK))
                set_pipe_buffer(self._held[-1], self.spec.setting("pipe_buffer"))

    def release_parent(self) -> None:
        held, self._held = self._held, []
        for fd in held:
            with contextlib.suppress(OSError):
                os.close(fd)

    def destroy(self) -> None:
        self.release_parent()
        folder, self._dir = self._dir, None
        self._remove_private_dir(folder)

    def open(self, role: str) -> Endpoint:
        out, into = directions(role)
        # Opening a FIFO blocks until the other end opens: open the forward one first on both sides.
        if role == "initiator":
            write_fd = os.open(self._paths[out], os.O_WRONLY)
            read_fd = os.open(self._paths[into], os.O_RDONLY)
        else:
            read_fd = os.open(self._paths[into], os.O_RDONLY)
            write_fd = os.open(self._paths[out], os.O_WRONLY)
        set_pipe_buffer(write_fd, self.spec.setting("pipe_buffer"))
        handles = {"read_fd": read_fd, "write_fd": write_fd, "paths": [str(p) for p in self._paths]}
        return fd_endpoint(read_fd, write_fd, handles)

    def params(self) -> dict[str, Any]:
        size = pipe_buffer_size(self._held[0]) if self._held else None
        if size is None and self._paths and self._paths[0].exists():
            with contextlib.suppress(OSError):
                fd = os.open(self._paths[0], os.O_RDONLY | os.O_NONBLOCK)
                size = pipe_buffer_size(fd)
                os.close(fd)
        return {**super().params(), "slots": None, "pipe_buffer": size}
