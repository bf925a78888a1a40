"""Where a mechanism comes from: its layer and the distribution (name and version) that provides it.

``ipcbench list`` shows this and every result file records it under ``config.mechanisms``, so a figure
measured through a plugin says which package, at which version, produced it. The distribution is found
from the class's top-level module (``importlib.metadata.packages_distributions``), which works the same
for ipcbench's own mechanisms, for plugins found through the ``ipcbench.transports`` entry point group and
for a class handed in directly.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from ipcbench.transports.base import Transport


@functools.lru_cache(maxsize=1)
def _distributions() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()


def _provides(distribution: metadata.Distribution, top: str) -> bool:
    """Whether ``distribution`` installed the top-level module ``top`` (as ``packages_distributions``
    decides it: the names it declares, else the files it installed)."""
    if top in (distribution.read_text("top_level.txt") or "").split():
        return True
    return any(path.parts[:1] in ((top,), (f"{top}.py",)) for path in distribution.files or ())


@functools.lru_cache(maxsize=256)
def distribution_of(module: str) -> tuple[str | None, str | None]:
    """(distribution name, version) that installed ``module``, or (None, None) if none did. The
    distribution named like the module is tried first: ``packages_distributions`` reads every installed
    distribution's file list (0.4-0.7 s, paid by every run's result file), and is asked only if that fails."""
    top = module.partition(".")[0]
    with contextlib.suppress(metadata.PackageNotFoundError):
        candidate = metadata.distribution(top)
        if _provides(candidate, top):
            return candidate.metadata["Name"], candidate.version
    names = _distributions().get(top) or []
    for name in names:
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None, None


def mechanism_info(cls: type[Transport]) -> dict[str, Any]:
    """What a result file records about a mechanism, besides its figures."""
    distribution, version = distribution_of(cls.__module__)
    return {"layer": cls.layer, "summary": cls.summary, "distribution": distribution, "version": version}


def origin_text(cls: type[Transport]) -> str:
    """``ipcbench 0.1.0`` for ``ipcbench list``; ``unknown`` for a class no distribution installed."""
    distribution, version = distribution_of(cls.__module__)
    return "unknown" if distribution is None else f"{distribution} {version}"
