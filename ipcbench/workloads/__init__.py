"""The workloads, written once and run unchanged over every transport: one module each, listed here.

A new workload is one module (a ``Workload`` subclass, see ``base.py``) and one line in ``REGISTRY``.
"""

from __future__ import annotations

from ipcbench.errors import InputError
from ipcbench.workloads.base import Clock, CpuMeter, Job, Workload
from ipcbench.workloads.oneway import Oneway
from ipcbench.workloads.openloop import Openloop
from ipcbench.workloads.pingpong import Pingpong
from ipcbench.workloads.stream import Stream

# In the order cells are planned and listed.
REGISTRY: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Pingpong(),
        Stream(),
        Oneway(),
        Openloop(),
    )
}
WORKLOADS = tuple(REGISTRY)
DEFAULT_WORKLOADS = tuple(name for name, workload in REGISTRY.items() if workload.by_default)


def get(name: str) -> Workload:
    """The workload called ``name`` (``InputError`` naming the known ones if there is none)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown workload {name!r}: choose from {', '.join(WORKLOADS)}") from None


__all__ = ["DEFAULT_WORKLOADS", "REGISTRY", "WORKLOADS", "Clock", "CpuMeter", "Job", "Workload", "get"]
