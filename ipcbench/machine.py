"""The machine fingerprint and the kernel IPC limits, read at run time and stored in every result file.

Nothing here is cached across runs: limits can be raised between two runs (``sysctl``), and a result file
must say what was in force when it was measured.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import socket
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ipcbench import idle

# Each limit: (key in the result file, file it is read from, the sysctl that sets it).
LIMIT_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("msgmax", "/proc/sys/kernel/msgmax", "kernel.msgmax"),
    ("msgmnb", "/proc/sys/kernel/msgmnb", "kernel.msgmnb"),
    ("msgmni", "/proc/sys/kernel/msgmni", "kernel.msgmni"),
    ("mq_msg_max", "/proc/sys/fs/mqueue/msg_max", "fs.mqueue.msg_max"),
    ("mq_msgsize_max", "/proc/sys/fs/mqueue/msgsize_max", "fs.mqueue.msgsize_max"),
    ("mq_queues_max", "/proc/sys/fs/mqueue/queues_max", "fs.mqueue.queues_max"),
    ("pipe_max_size", "/proc/sys/fs/pipe-max-size", "fs.pipe-max-size"),
    ("wmem_max", "/proc/sys/net/core/wmem_max", "net.core.wmem_max"),
    ("rmem_max", "/proc/sys/net/core/rmem_max", "net.core.rmem_max"),
    ("shmmax", "/proc/sys/kernel/shmmax", "kernel.shmmax"),
    ("shmall", "/proc/sys/kernel/shmall", "kernel.shmall"),
    ("shmmni", "/proc/sys/kernel/shmmni", "kernel.shmmni"),
    ("sem", "/proc/sys/kernel/sem", "kernel.sem"),
    ("wmem_max", "/proc/sys/net/core/wmem_max", "net.core.wmem_max"),
)
SYSCTL_OF = {key: sysctl for key, _, sysctl in LIMIT_SOURCES}

PACKAGES = (
    "numpy",
    "sysv_ipc",
    "posix_ipc",
    "hdrhistogram",
    "scipy",
    "rich",
    "jinja2",
    "matplotlib",
    "pandas",
    "pyzmq",
)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _read_int(path: str) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def read_limits() -> dict[str, Any]:
    """Every IPC limit this machine has now; ``None`` where it cannot be read."""
    limits: dict[str, Any] = {}
    for key, path, _ in LIMIT_SOURCES:
        limits[key] = _read(path) if key == "sem" else _read_int(path)
    soft, _hard = resource.getrlimit(resource.RLIMIT_MSGQUEUE)
    limits["rlimit_msgqueue"] = None if soft == resource.RLIM_INFINITY else soft
    limits["dev_shm_free"] = _free_bytes("/dev/shm")
    limits["dev_mqueue_mounted"] = os.path.ismount("/dev/mqueue")
    return limits


def _free_bytes(path: str) -> int | None:
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    return stat.f_bavail * stat.f_frsize


def _cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.processor() or "unknown"


def _smt() -> bool | None:
    active = _read("/sys/devices/system/cpu/smt/active")
    return None if active is None else active == "1"


def _virtualization() -> str:
    cpuinfo = _read("/proc/cpuinfo") or ""
    if "hypervisor" not in cpuinfo:
        return "none"
    vendor = _read("/sys/class/dmi/id/sys_vendor") or _read("/sys/hypervisor/type")
    return vendor or "virtualised (unknown hypervisor)"


def _packages() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine_name() -> str:
    """The folder name results are stored under: the host name, made safe for a path."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", socket.gethostname()).strip("-.")
    return name or "unknown-host"


def fingerprint() -> dict[str, Any]:
    """What a reader needs to know about the machine to interpret (or distrust) the numbers."""
    return {
        "name": machine_name(),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cpus": sorted(os.sched_getaffinity(0)),
        "smt": _smt(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "virtualization": _virtualization(),
        "clocksource": _read("/sys/devices/system/clocksource/clocksource0/current_clocksource"),
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "cpu_idle": idle.describe(),  # what an idle CPU does while a blocked peer waits
        "limits": read_limits(),
        "packages": _packages(),
    }


def load_snapshot() -> dict[str, Any]:
    """The machine's load at one moment: recorded before and after every cell to expose noisy neighbours.

    ``procs_running`` is the kernel's count of runnable tasks at that instant, ipcbench's runner included
    (its measuring children are not alive between cells), so ``procs_running - 1`` tasks of other programs
    want a CPU. The load averages are smoothed over minutes and include ipcbench's own pairs: context, not
    evidence. What happened *during* a cell is measured by ``LoadMeter``.
    """
    load1, load5, _ = os.getloadavg()
    running = None
    stat = _read("/proc/stat") or ""
    match = re.search(r"^procs_running\s+(\d+)$", stat, re.MULTILINE)
    if match:
        running = int(match.group(1))
    return {"loadavg_1m": load1, "loadavg_5m": load5, "procs_running": running, "cpu_mhz": _cpu_mhz()}


class LoadMeter:
    """How much CPU *other* programs took from this run's CPUs between ``start`` and ``stop``.

    The kernel counts busy time per CPU (``/proc/stat``, 10 ms ticks); ipcbench's own share is the CPU time
    of the runner and of its reaped children (``getrusage``, microseconds). The difference over the wall
    time is the number of CPUs that other programs kept busy: on two cores, 0.5 means that half a core was
    somebody else's while the cell ran. ``steal_cpus`` is the same for a hypervisor that gave this virtual
    machine's CPUs to another guest. Both are ``None`` where ``/proc/stat`` cannot be read.
    ``cpu_pressure`` is the share of the time in which some runnable task waited for a CPU (the kernel's
    pressure stall information, microsecond counts; ``None`` without PSI): 0 on an idle machine, near 1 when
    there are more busy processes than CPUs.
    """

    def __init__(self) -> None:
        self._start = _CpuCounters.now()

    def stop(self) -> dict[str, float | None]:
        start, end = self._start, _CpuCounters.now()
        wall = end.wall_s - start.wall_s
        during: dict[str, float | None] = {
            "wall_s": wall,
            "others_cpus": None,
            "steal_cpus": None,
            "cpu_pressure": None,
        }
        if wall <= 0:
            return during
        if start.busy_s is not None and end.busy_s is not None:
            others = (end.busy_s - start.busy_s) - (end.own_s - start.own_s)
            during["others_cpus"] = max(0.0, others) / wall
            during["steal_cpus"] = max(0.0, end.steal_s - start.steal_s) / wall
        if start.waiting_s is not None and end.waiting_s is not None:
            during["cpu_pressure"] = min(1.0, max(0.0, end.waiting_s - start.waiting_s) / wall)
        return during


@dataclass(frozen=True)
class _CpuCounters:
    wall_s: float  # monotonic clock
    busy_s: float | None  # busy seconds of the usable CPUs since boot (None: /proc/stat unreadable)
    steal_s: float  # seconds the hypervisor ran someone else on them
    own_s: float  # CPU seconds of this process and its reaped children
    waiting_s: float | None  # PSI: seconds in which some runnable task waited for a CPU (None: no PSI)

    @classmethod
    def now(cls) -> _CpuCounters:
        ticks = os.sysconf("SC_CLK_TCK")
        usable = {f"cpu{cpu}" for cpu in os.sched_getaffinity(0)}
        rows = [line.split() for line in (_read("/proc/stat") or "").splitlines()]
        busy = steal = 0
        rows = [row for row in rows if row and row[0] in usable and len(row) > 8]
        for row in rows:
            # user nice system idle iowait irq softirq steal ...; guest time is already inside user.
            user, nice, system, _idle, _iowait, irq, softirq, stolen = (int(v) for v in row[1:9])
            busy += user + nice + system + irq + softirq
            steal += stolen
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        own = sum(u.ru_utime + u.ru_stime for u in usage)
        return cls(time.monotonic(), busy / ticks if rows else None, steal / ticks, own, _cpu_waiting_s())


def _cpu_waiting_s() -> float | None:
    """``some total`` of /proc/pressure/cpu (microseconds, kernel 4.20+ with PSI): contention, precisely."""
    match = re.search(r"^some .*total=(\d+)", _read("/proc/pressure/cpu") or "", re.MULTILINE)
    return int(match.group(1)) / 1e6 if match else None


def _cpu_mhz() -> list[float] | None:
    values = []
    for cpu in sorted(os.sched_getaffinity(0)):
        khz = _read_int(f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_cur_freq")
        if khz is None:
            return None
        values.append(khz / 1000)
    return values
