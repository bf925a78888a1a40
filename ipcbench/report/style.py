"""One fixed look for every figure and table: the order mechanisms are listed in, and their colours.

A mechanism keeps its colour in every figure of the report (and in every report), so a reader learns it
once. Shared-memory variants share a hue family per API; the spin variant is drawn solid and the semaphore
variant dashed, because the wake-up strategy is the axis that decides the result.
"""

from __future__ import annotations

from ipcbench.transports import all_pairs, label

# The registry's order, which is DESIGN.md's: pipes, sockets, shared memory, message queues.
KNOWN_ORDER = tuple(label(name, variant) for name, variant in all_pairs())

_PALETTE = {
    "pipe": "#1f77b4",
    "fifo": "#17becf",
    "unix": "#ff7f0e",
    "tcp": "#8c564b",
    "sysv-shm/sem": "#74c476",
    "sysv-shm/spin": "#006d2c",
    "posix-shm/sem": "#e377c2",
    "posix-shm/spin": "#d62728",
    "sysv-mq": "#9467bd",
    "posix-mq": "#7f7f7f",
}
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
    return (KNOWN_ORDER.index(label) if label in KNOWN_ORDER else len(KNOWN_ORDER), label)


def colour(label: str) -> str:
    if label in _PALETTE:
        return _PALETTE[label]
    # Stable without a registry: derive the slot from the name, not from what else is in the report.
    return _SPARE[sum(label.encode()) % len(_SPARE)]


def linestyle(label: str) -> str:
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
