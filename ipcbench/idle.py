"""What an idle CPU does while a blocked peer waits: read from the kernel, recorded, and held on request.

A blocking round trip (pipe, socket, queue, semaphore) wakes a process that sleeps on another CPU. How long
that takes depends on what the idle CPU was doing: polling (it sees the wake-up at once) or halted in an
idle state it must first leave. On a virtual machine a halted vCPU has left the guest (``HLT`` is a VM exit),
so the wake-up comes back through the host: measured on a 2-vCPU VM with the ``haltpoll`` driver and
``guest_halt_poll_ns=0``, a pipe round trip's p50 flips between about 90 and 300 us from one run to the next,
against about 10 us when the idle CPUs poll.

Two policies (``ipcbench run --cpu-idle``):

* ``os``: the machine as it is, what an untuned program gets (the default);
* ``poll``: the run holds a PM QoS request of 0 us on ``/dev/cpu_dma_latency`` (what tuned's
  ``latency-performance`` profile does), so the cpuidle governor picks only idle states with no exit
  latency: the idle CPUs poll. The request lives as long as the file descriptor: the kernel drops it when
  the descriptor closes, so it ends with the run however the run ends (exit, Ctrl-C, crash, SIGKILL).

The two answer different questions (the mechanism with a waiting CPU vs the machine's wake-up path), and
their figures are not comparable.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ipcbench.errors import InputError

POLICIES = ("os", "poll")
DEFAULT = "os"
DEVICE = Path("/dev/cpu_dma_latency")
SYSFS_CPU = Path("/sys/devices/system/cpu")
HALTPOLL = Path("/sys/module/haltpoll/parameters")
# The aggregate the device reads back when nobody holds a request (PM_QOS_CPU_LATENCY_DEFAULT_VALUE, 2000 s).
NO_REQUEST_US = 2_000_000_000
_REQUEST = struct.Struct("=i")  # the device takes a native 4-byte int (else a hex string)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _states(cpu: Path) -> list[dict[str, Any]]:
    """cpu0's idle states in order: name, exit latency (us) and whether it is disabled."""
    found = []
    for state in sorted(cpu.glob("cpuidle/state*"), key=lambda p: int(p.name[5:] or 0)):
        latency = _read(state / "latency")
        found.append(
            {
                "name": _read(state / "name"),
                "exit_latency_us": int(latency) if latency and latency.isdigit() else None,
                "disabled": _read(state / "disable") == "1",
            }
        )
    return found


def latency_limit_us(device: Path | None = None) -> int | None:
    """The CPU latency limit in force now, all requests together (what the device reads back), or None
    where it cannot be read (not root). ``NO_REQUEST_US`` means that no program holds a request."""
    device = device or DEVICE
    try:
        with device.open("rb") as handle:
            data = handle.read(_REQUEST.size)
    except OSError:
        return None
    return int(_REQUEST.unpack(data)[0]) if len(data) == _REQUEST.size else None


def describe(sysfs: Path = SYSFS_CPU, haltpoll: Path = HALTPOLL) -> dict[str, Any]:
    """The machine's idle as the kernel reports it (for the fingerprint): cpuidle driver and governor,
    cpu0's idle states, the haltpoll module's parameters (None without the module), and the latency limit
    other programs hold (None where unreadable: then nobody knows whether one holds a low one)."""
    parameters = None
    if haltpoll.is_dir():
        parameters = {p.name: _read(p) for p in sorted(haltpoll.iterdir())}
    return {
        "driver": _read(sysfs / "cpuidle" / "current_driver"),
        "governor": _read(sysfs / "cpuidle" / "current_governor")
        or _read(sysfs / "cpuidle" / "current_governor_ro"),
        "states": _states(sysfs / "cpu0"),
        "haltpoll": parameters,
        "latency_limit_us": latency_limit_us(),
    }


@contextlib.contextmanager
def hold(policy: str, device: Path | None = None) -> Iterator[None]:
    """Keep the idle CPUs polling while inside (``poll``); ``os`` changes nothing. ``InputError`` (one
    line, before anything is measured or written) when the request cannot be made."""
    if policy not in POLICIES:
        raise InputError(f"unknown CPU idle policy {policy!r}: choose from {', '.join(POLICIES)}")
    if policy == "os":
        yield
        return
    descriptor = _open(device or DEVICE)
    try:
        # The request is the open descriptor: forked peers share it, and the kernel removes it when the
        # last copy closes (here, or at exit however the process ends: no stale request can outlive us).
        yield
    finally:
        os.close(descriptor)


HELP = (
    "what idle CPUs do while a peer sleeps: os (the machine as it is, the default), poll (hold a PM QoS "
    "request of 0 us on /dev/cpu_dma_latency while measuring, so idle CPUs poll and a wake-up never waits "
    "for one to leave a deep idle state; needs write access to it; the two are not comparable)"
)


def add_option(parser: argparse.ArgumentParser) -> None:
    """``--cpu-idle {os,poll}``, worded alike in ``ipcbench run`` and the bench scripts."""
    parser.add_argument("--cpu-idle", default=DEFAULT, choices=POLICIES, help=HELP)


@contextlib.contextmanager
def held_or_exit(policy: str) -> Iterator[None]:
    """``hold`` for a bench script: a refusal is one line on stderr and exit status 2, as in ``ipcbench``."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(hold(policy))
        except InputError as exc:
            print(f"{Path(sys.argv[0]).name}: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        yield


def _open(device: Path) -> int:
    try:
        descriptor = os.open(device, os.O_WRONLY)
    except FileNotFoundError:
        raise InputError(
            f"--cpu-idle poll needs {device}, which does not exist here (a container without the device, "
            "or a kernel without PM QoS): pass the device in (docker run --device /dev/cpu_dma_latency) "
            "or run with --cpu-idle os"
        ) from None
    except OSError as exc:
        raise InputError(
            f"--cpu-idle poll cannot open {device} for writing ({exc.strerror or exc}): run as root, or "
            f"grant write access to it (a udev rule, or chmod o+w {device}), or run with --cpu-idle os"
        ) from None
    try:
        written = os.write(descriptor, _REQUEST.pack(0))
        if written != _REQUEST.size:
            raise OSError(f"wrote {written} of {_REQUEST.size} bytes")
    except OSError as exc:
        os.close(descriptor)
        raise InputError(f"--cpu-idle poll: {device} refused the request of 0 us ({exc})") from None
    return descriptor


def poll_availability() -> str:
    """Whether ``--cpu-idle poll`` could hold its request here (said by ``ipcbench list``)."""
    if not DEVICE.exists():
        return f"--cpu-idle poll unavailable ({DEVICE} does not exist here)"
    if not os.access(DEVICE, os.W_OK):
        return f"--cpu-idle poll unavailable (needs write access to {DEVICE}: root, or a grant)"
    return "--cpu-idle poll available"


def policy_of(document: dict[str, Any]) -> str:
    """A result file's policy; files from before the option ran with the machine as it was."""
    return str(document["config"].get("cpu_idle") or DEFAULT)


def text(document: dict[str, Any]) -> str:
    """``poll (PM QoS 0 us held)`` or ``os (haltpoll/haltpoll: POLL 0 us, haltpoll idle 1 us; ...)``."""
    if policy_of(document) == "poll":
        return "poll (PM QoS 0 us held)"
    machine = document["machine"].get("cpu_idle")
    if not isinstance(machine, dict):
        return "os (idle states not recorded)"
    return f"os ({machine_text(machine)})"


def machine_text(machine: dict[str, Any]) -> str:
    """The recorded idle description in one phrase."""
    states = ", ".join(
        f"{state.get('name')} {state.get('exit_latency_us')} us"
        + (" (disabled)" if state.get("disabled") else "")
        for state in machine.get("states") or []
    )
    parts = [f"cpuidle {machine.get('driver') or 'none'}/{machine.get('governor') or 'none'}"]
    parts[0] += f": {states}" if states else ""
    halt_ns = (machine.get("haltpoll") or {}).get("guest_halt_poll_ns")
    if halt_ns is not None:
        parts.append(f"guest_halt_poll_ns={halt_ns}")
    limit = machine.get("latency_limit_us")
    if limit is None:
        parts.append("other programs' PM QoS requests unknown")
    elif limit < NO_REQUEST_US:
        parts.append(f"another program held a PM QoS limit of {limit} us")
    return "; ".join(parts)
