"""The mechanisms ipcbench measures, found through the ``ipcbench.transports`` entry point group.

A cell names a mechanism and, for shared memory, a variant: ``posix-shm/spin``. ``resolve`` turns the
user's ``--transports`` words into (name, variant) pairs, where ``posix-shm`` means all its variants.
Nothing here imports a mechanism's module: ``registry.py`` loads each on first use, so a missing binding
library makes that mechanism unavailable and nothing else.
"""

from __future__ import annotations

from typing import Any

from ipcbench.errors import InputError
from ipcbench.transports.base import ChannelSpec, Endpoint, Skip, Transport
from ipcbench.transports.registry import Registry, entry_point_sources, label


def keyed_variant(cell: dict[str, Any]) -> str | None:
    """The variant as a cell's identity uses it: with a ``--tune`` setting appended, so a tuned cell is a
    distinct cell (and is labelled with its setting) in show, compare, history, load and exports."""
    from ipcbench.tuning import text

    variant, setting = cell.get("variant"), text(cell.get("tune"))
    return variant if not setting else f"{variant or ''}[{setting}]"


def cell_label(cell: dict[str, Any]) -> str:
    """``posix-shm/spin``, ``pipe[pipe_buffer=1M]``: a result cell's mechanism, with its setting."""
    return label(cell["transport"], keyed_variant(cell))


# The mechanisms of this installation; tests add the mock with ``REGISTRY.including(MockTransport)``.
REGISTRY = Registry(entry_point_sources)


def all_pairs(registry: Registry = REGISTRY, demonstrations: bool = False) -> list[tuple[str, str | None]]:
    """Every mechanism and variant (with ``demonstrations``: the demonstration variants too, ``unsync``)."""
    return [
        (name, variant)
        for name, cls in registry.items()
        for variant in (*cls.variants, *(cls.demonstrations if demonstrations else ()))
    ]


def resolve(
    words: list[str] | tuple[str, ...], registry: Registry = REGISTRY
) -> list[tuple[str, str | None]]:
    """``["pipe", "posix-shm/spin"]`` -> [("pipe", None), ("posix-shm", "spin")]; ``InputError`` if
    unknown. A demonstration variant (``posix-shm/unsync``) only by its own name."""
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, _, variant = word.strip().partition("/")
        if name not in registry:
            raise InputError(f"unknown mechanism {name!r}: choose from {', '.join(registry)}")
        cls = registry[name]
        if variant and variant not in (*cls.variants, *cls.demonstrations):
            choices = ", ".join(label(name, v) for v in (*cls.variants, *cls.demonstrations))
            raise InputError(f"unknown variant {word.strip()!r}: choose from {choices}")
        for chosen in [variant] if variant else list(cls.variants):
            if (name, chosen) not in pairs:
                pairs.append((name, chosen))
    if not pairs:
        raise InputError("no mechanisms given")
    return pairs


__all__ = [
    "REGISTRY",
    "ChannelSpec",
    "Endpoint",
    "Registry",
    "Skip",
    "Transport",
    "all_pairs",
    "cell_label",
    "keyed_variant",
    "label",
    "resolve",
]
