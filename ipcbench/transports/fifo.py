"""Named pipes (FIFOs): the same kernel object as a pipe, opened by path from a private folder."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, ClassVar

from ipcbench.ledger import Ledger
from ipcbench.transports.base import Endpoint, Transport, directions
from ipcbench.transports.fdio import fd_endpoint
from ipcbench.transports.pipe import pipe_buffer_size


class FifoTransport(Transport):
    """``mkfifo(3)`` in a private 0700 folder, mode 0600; each side opens both FIFOs by path."""

    name = "fifo"
    native_variants = frozenset({None})  # the C loops of ipcbench.native run over it
    layer = "kernel"
    summary = "named pipe (FIFO) per direction, opened by path"
    place = 20
    colours: ClassVar[dict[str | None, str]] = {None: "#17becf"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dir: Path | None = None
        self._paths: list[Path] = []

    def create(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._dir = ledger.private_dir()
        self._paths = [self._dir / "forward", self._dir / "back"]
        for path in self._paths:
            os.mkfifo(path, 0o600)

    def destroy(self) -> None:
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
        handles = {"read_fd": read_fd, "write_fd": write_fd, "paths": [str(p) for p in self._paths]}
        return fd_endpoint(read_fd, write_fd, handles)

    def params(self) -> dict[str, Any]:
        size = None
        if self._paths and self._paths[0].exists():
            with contextlib.suppress(OSError):
                fd = os.open(self._paths[0], os.O_RDONLY | os.O_NONBLOCK)
                size = pipe_buffer_size(fd)
                os.close(fd)
        return {**super().params(), "slots": None, "pipe_buffer": size}
