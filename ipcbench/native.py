"""The native tier's one door: whether ``ipcbench._native`` is here (and why not), and its workloads.

``ipcbench._native`` is an optional C extension (``setup.py``, ``optional=True``): the package installs
without it where no C compiler is found. Only this module imports it; everything else asks ``unavailable()``
for the reason a native cell cannot run here, or None.

A native run uses the same kernel objects, created and destroyed by the same Python transport, and the same
forked processes: the endpoint is opened in Python as usual, and its raw ``handles()`` are lent to a C
``Channel`` (``open_channel``), which runs only the hot loops (GIL released); each workload's
``native_initiator``/``native_peer`` drive it with the same barrier, acknowledgements, CPU meter and payload
buffer as the Python tier. The channel is closed before the endpoint (it holds the mapped segment).
"""

from __future__ import annotations

from typing import Any

from ipcbench.transports.base import ChannelSpec, Endpoint, directions
from ipcbench.transports.shm_ring import SYNC_BYTES

_native: Any
_REASON: str | None = None
ABI = 4  # NATIVE_ABI of ipcbench/_native_c/native.h that this module drives
try:
    from ipcbench import _native as _loaded

    _native = _loaded
    # A stale build from before a layout change, or from before the hybrid variant (ABI 2), the
    # oneway loops (ABI 3) or the openloop loops (ABI 4).
    if _native.SYNC_BYTES != SYNC_BYTES or getattr(_native, "ABI", 1) != ABI:
        _REASON = "the C extension ipcbench._native is stale (built from older sources); reinstall"
        _native = None
except ImportError as exc:  # no compiler at install time, or a build for another Python
    _native = None
    _REASON = (
        f"the C extension ipcbench._native is not built here ({exc}); "
        "reinstall ipcbench where a C compiler (gcc or cc) is available"
    )

IMPLS = ("python", "native")


def unavailable() -> str | None:
    """Why the native tier cannot run on this installation, or None."""
    return _REASON


def init_sync(segment: Any, offset: int) -> None:
    """Put process-shared robust mutexes and condition variables into a segment (the ``mutex`` variant)."""
    if _native is None:
        raise RuntimeError(_REASON)
    _native.init_sync(segment, offset)


def open_channel(endpoint: Endpoint, spec: ChannelSpec, role: str) -> Any:
    """A C channel over the endpoint's raw handles, chosen by what the handles are (not by name)."""
    if _native is None:
        raise RuntimeError(_REASON)
    handles = endpoint.handles()
    out, into = directions(role)
    if "segment" in handles:
        keys, names = handles.get("sem_keys") or [], handles.get("sem_names") or []
        wait = {"spin": "spin", "mutex": "mutex"}.get(spec.variant or "", "sysv-sem" if keys else "posix-sem")
        # hybrid: the sem wait plus the spin counters, polled for spin_ns first (the C side makes it 0 on one
        # shared core, as shm_ring does).
        hybrid_ns = spec.spin_ns if spec.variant == "hybrid" else -1
        segment, sems = handles["segment"], keys or names
        return _native.shm_channel(
            spec.size, segment, spec.slots, out, spec.lockstep, spec.same_core, wait, sems, hybrid_ns
        )
    if "queue_ids" in handles:
        ids = handles["queue_ids"]
        return _native.sysv_mq_channel(spec.size, ids[out], ids[into])
    if "queue_names" in handles:
        names = handles["queue_names"]
        return _native.posix_mq_channel(spec.size, names[out], names[into])
    if "fd" in handles:
        return _native.fd_channel(spec.size, handles["fd"], handles["fd"], True)
    return _native.fd_channel(spec.size, handles["read_fd"], handles["write_fd"], False)
