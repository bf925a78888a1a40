"""One fixed look for every figure and table: the order mechanisms are listed in, and their colours.

A mechanism keeps its colour in every figure of the report (and in every report), so a reader learns it
once. Shared-memory variants share a hue family per API; the spin variant is drawn solid and the semaphore
variant dashed (the hybrid one dash-dotted), because the wake-up strategy is the axis that decides the
result.
"""

from __future__ import annotations

import functools

from ipcbench.transports import REGISTRY, label


@functools.cache
def _known() -> tuple[tuple[str, ...], dict[str, str]]:
    """Every installed mechanism's labels in the registry's order (``Transport.place``, DESIGN.md's: pipes,
    sockets, shared memory, message queues), and the colours their classes declare."""
    order: list[str] = []
    palette: dict[str, str] = {}
    for name, cls in REGISTRY.items():
        for variant in cls.variants:
            order.append(label(name, variant))
            if variant in cls.colours:
                palette[order[-1]] = cls.colours[variant]
    return tuple(order), palette


# For mechanisms this version does not know (a newer ipcbench, the test mock): assigned in sorted order.
_SPARE = ("#bcbd22", "#393b79", "#e6550d", "#637939", "#843c39", "#7b4173", "#3182bd", "#31a354")
# For runs and machines in the comparison section: distinct from nothing in particular, but fixed.
RUN_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def ordered(labels: set[str] | list[str]) -> list[str]:
    """Known mechanisms in the design's order, then unknown ones alphabetically."""
    return sorted(set(labels), key=rank)


def rank(label: str) -> tuple[int, str]:
    """A sort key that lists known mechanisms in the design's order, unknown ones after them."""
    known = _known()[0]
    return (known.index(label) if label in known else len(known), label)


def colour(label: str) -> str:
    palette = _known()[1]
    if label in palette:
        return palette[label]
    # Stable without a registry: derive the slot from the name, not from what else is in the report.
    return _SPARE[sum(label.encode()) % len(_SPARE)]


def linestyle(label: str) -> str:
    if label.endswith("/hybrid"):
        return "-."
    return "--" if label.endswith("/sem") else "-"


def run_colours(count: int) -> list[str]:
    """Colours for ``count`` runs: distinct ones for a few, an ordered ramp (old to new) for many."""
    if count <= len(RUN_COLOURS):
        return list(RUN_COLOURS[:count])
    from matplotlib import colormaps

    ramp = colormaps["viridis"]
    return [matplotlib_hex(ramp(0.9 * index / (count - 1))) for index in range(count)]


def matplotlib_hex(rgba: tuple[float, float, float, float]) -> str:
    return "#" + "".join(f"{round(channel * 255):02x}" for channel in rgba[:3])


def is_shared_memory(label: str) -> bool:
    return label.split("/")[0].endswith("-shm")


def is_tuned(label: str) -> bool:
    """A cell measured with a ``--tune`` setting, labelled with it: ``pipe[pipe_buffer=1M]``."""
    return label.endswith("]")
