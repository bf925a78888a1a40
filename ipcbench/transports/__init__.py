"""The transport registry: every mechanism ipcbench measures, in one visible list.

A cell names a mechanism and, for shared memory, a variant: ``posix-shm/spin``. ``resolve`` turns the
user's ``--transports`` words into (transport class, variant) pairs, where ``posix-shm`` means all its
variants.
"""

from __future__ import annotations

import os

from ipcbench.errors import InputError
from ipcbench.transports.base import ChannelSpec, Endpoint, Skip, Transport
from ipcbench.transports.fifo import FifoTransport
from ipcbench.transports.pipe import PipeTransport
from ipcbench.transports.posix_mq import PosixMqTransport
from ipcbench.transports.posix_shm import PosixShmTransport
from ipcbench.transports.sockets import TcpTransport, UnixTransport
from ipcbench.transports.sysv_mq import SysvMqTransport
from ipcbench.transports.sysv_shm import SysvShmTransport

REGISTRY: dict[str, type[Transport]] = {
    cls.name: cls
    for cls in (
        PipeTransport,
        FifoTransport,
        UnixTransport,
        TcpTransport,
        SysvShmTransport,
        PosixShmTransport,
        SysvMqTransport,
        PosixMqTransport,
    )
}

if os.environ.get("IPCBENCH_ENABLE_MOCK") == "1":
    from ipcbench.transports.mock import MockTransport

    REGISTRY[MockTransport.name] = MockTransport


def label(name: str, variant: str | None) -> str:
    """``posix-shm/spin``, or ``pipe`` for a mechanism without variants."""
    return name if variant is None else f"{name}/{variant}"


def all_pairs() -> list[tuple[str, str | None]]:
    return [(name, variant) for name, cls in REGISTRY.items() for variant in cls.variants]


def resolve(words: list[str] | tuple[str, ...]) -> list[tuple[str, str | None]]:
    """``["pipe", "posix-shm/spin"]`` -> [("pipe", None), ("posix-shm", "spin")]; ``InputError`` if
    unknown."""
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, _, variant = word.strip().partition("/")
        cls = REGISTRY.get(name)
        if cls is None:
            raise InputError(f"unknown mechanism {name!r}: choose from {', '.join(REGISTRY)}")
        if variant and variant not in cls.variants:
            choices = ", ".join(label(name, v) for v in cls.variants)
            raise InputError(f"unknown variant {word.strip()!r}: choose from {choices}")
        for chosen in [variant] if variant else list(cls.variants):
            if (name, chosen) not in pairs:
                pairs.append((name, chosen))
    if not pairs:
        raise InputError("no mechanisms given")
    return pairs


__all__ = ["REGISTRY", "ChannelSpec", "Endpoint", "Skip", "Transport", "all_pairs", "label", "resolve"]
