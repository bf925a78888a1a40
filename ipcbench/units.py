"""Parsing and printing of message sizes and durations (``64``, ``4K``, ``1M`` are powers of 1024)."""

from __future__ import annotations

import re

from ipcbench.errors import InputError

# ASCII digits only: ``\d`` would also take Arabic-Indic or fullwidth digits, which int() silently converts.
_SIZE_RE = re.compile(r"^\s*([0-9]+)\s*([KMG]?)(?:I?B)?\s*$", re.IGNORECASE | re.ASCII)
_FACTORS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
# The payload stamps an 8-byte sequence number at each end of every message.
MIN_SIZE = 16
# The largest message measured: 4x the default profile's largest. A cell holds several copies of a message
# in each process and in the ring (1 GiB messages exhausted memory and every cell hit its timeout).
MAX_SIZE = 64 << 20


def parse_size(text: str, largest: int | None = MAX_SIZE) -> int:
    """``"4K"`` -> 4096. Raises ``InputError`` for malformed, zero, negative or absurd sizes; ``largest``
    None for a size that is not a message (a kernel buffer: its own limit is checked where it applies)."""
    match = _SIZE_RE.match(text)
    if not match:
        raise InputError(
            f"malformed size {text.strip()!r}: use a whole number of bytes with an optional K, M or G"
        )
    size = int(match.group(1)) * _FACTORS[match.group(2).upper()]
    if size < MIN_SIZE:
        raise InputError(f"size {text.strip()!r} is below the minimum of {MIN_SIZE} bytes")
    if largest is not None and size > largest:
        raise InputError(
            f"size {text.strip()!r} is above the largest message ipcbench measures, {format_size(largest)}"
        )
    return size


def parse_sizes(text: str) -> tuple[int, ...]:
    """A comma list of sizes, sorted and without duplicates."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise InputError("no sizes given")
    return tuple(sorted({parse_size(part) for part in parts}))


def format_size(size: int) -> str:
    """4096 -> ``"4K"``; sizes that are not whole K/M/G stay in bytes."""
    for suffix, factor in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)


def format_ns(ns: float | None) -> str:
    """A duration in the unit that keeps three significant figures readable."""
    if ns is None or ns != ns:
        return "-"
    for unit, factor in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if abs(ns) >= factor:
            return f"{ns / factor:.3g} {unit}"
    return f"{ns:.3g} ns"


def format_rate(value: float | None, unit: str = "B/s") -> str:
    """A rate with an SI prefix (decimal: GB/s means 1e9 bytes per second)."""
    if value is None or value != value:
        return "-"
    for prefix, factor in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"
