"""ipcbench: measure inter-process communication on this machine, with evidence.

The package is a one-way pipeline: ``plan`` turns a profile into cells, ``runner`` measures each cell with
real peer processes over real kernel objects (``transports``), ``stats`` summarises raw samples, ``store``
writes versioned result files, and ``report``, ``compare`` and ``exports`` read only those files.

``ipcbench.load(path)`` is the one-call entry point for analysis: it returns a pandas DataFrame with one row
per cell, for a result file or a folder of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    import pandas as pd


def load(path: Any) -> pd.DataFrame:
    """Load a result file, or every result file below a folder, as one DataFrame (one row per cell)."""
    from ipcbench.frames import load as _load

    return _load(path)
