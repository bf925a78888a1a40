"""``python -m ipcbench``: the same as the ``ipcbench`` console script."""

from __future__ import annotations

from ipcbench.cli import console

console()
