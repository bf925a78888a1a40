"""``python -m tests.launcher ARGS``: the ``ipcbench`` command with the tests' seams plugged in.

ipcbench itself reads no test switch from the environment. Tests that need the command in a subprocess (to
kill it, to time it out, to see its exit status) start it through here instead: the deterministic mock joins
the installed mechanisms, and ``IPCBENCH_INJECT_FAULT`` (read here, by the tests) becomes the fault that
``cli.main`` injects into every run.
"""

from __future__ import annotations

import os
import sys

from ipcbench.cli import main
from tests.seams import MOCK_REGISTRY

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:], MOCK_REGISTRY, os.environ.get("IPCBENCH_INJECT_FAULT")))
