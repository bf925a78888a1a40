"""Where mechanisms come from: the ``ipcbench.transports`` entry point group, loaded lazily.

Built-ins and plugins are found the same way: ipcbench's own ``pyproject.toml`` declares its eight
mechanisms in the group (the whole list, in one place), and another package declares its ``Transport``
subclasses under the same group. Nothing is imported until a mechanism is asked for, and a mechanism that
cannot be loaded (its module or binding fails to import, the object is not a ``Transport``, its name clashes
with one already registered) becomes a stand-in whose ``unavailable()`` is the error: ``ipcbench list``
shows it and ``ipcbench run`` skips its cells with that reason, and no other command ever notices.

A ``Registry`` is a read-only mapping from name to transport class, in report order (``Transport.place``).
Tests pass their own (``REGISTRY.including(MockTransport)``) to the runner and the CLI.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar

from ipcbench.errors import InputError
from ipcbench.ledger import Ledger, ObjectKind
from ipcbench.transports.base import ChannelSpec, Endpoint, Transport

GROUP = "ipcbench.transports"
OWN_DISTRIBUTION = "ipcbench"


class UnavailableTransport(Transport):
    """The stand-in for a mechanism that could not be loaded: listed, never run."""

    summary = "could not be loaded"
    place = 10_000
    error: ClassVar[str] = "could not be loaded"

    @classmethod
    def unavailable(cls) -> str | None:
        return cls.error

    def create(self, ledger: Ledger) -> None:
        raise RuntimeError(self.error)

    def destroy(self) -> None:
        pass

    def open(self, role: str) -> Endpoint:
        raise RuntimeError(self.error)


def stand_in(name: str, error: str, origin: str) -> type[Transport]:
    """A ``Transport`` class named ``name`` that is unavailable because of ``error``."""
    attributes = {"name": name, "error": error, "summary": f"could not be loaded ({origin})"}
    # The failing plugin's module, so that ``list`` names the distribution (and version) at fault.
    attributes["__module__"] = origin.partition(":")[0]
    return type(f"Unavailable_{name}", (UnavailableTransport,), attributes)


@dataclass
class Source:
    """One registered mechanism before it is loaded: its name, how to load it, and who declared it."""

    name: str
    load: Callable[[], Any]
    origin: str  # "module:Class" and the distribution that declared it


def entry_point_sources(group: str = GROUP) -> list[Source]:
    """Every entry point of ``group``, ipcbench's own first (so a plugin cannot shadow a built-in)."""
    points = sorted(metadata.entry_points(group=group), key=lambda p: _distribution(p) != OWN_DISTRIBUTION)
    if group == GROUP and not any(_distribution(p) == OWN_DISTRIBUTION for p in points):
        # Entry points live in the installed metadata: an install older than the group lists nothing.
        raise InputError("ipcbench's own mechanisms are not registered here: reinstall it (make install)")
    return [
        Source(p.name, p.load, f"{p.value} from {_distribution(p) or 'an unknown package'}") for p in points
    ]


def _distribution(point: metadata.EntryPoint) -> str | None:
    return point.dist.name if point.dist is not None else None


class Registry(Mapping[str, type[Transport]]):
    """Mechanisms by name; each loaded on first use, in report order when iterated."""

    def __init__(self, sources: Iterable[Source] | Callable[[], Iterable[Source]]) -> None:
        self._find = sources if callable(sources) else functools.partial(list, sources)
        self._sources: dict[str, Source] | None = None
        self._loaded: dict[str, type[Transport]] = {}
        self._rejected: list[type[Transport]] = []

    def including(self, *classes: type[Transport]) -> Registry:
        """This registry plus ``classes`` (for tests: the mock)."""
        extra = [Source(cls.name, _constant(cls), cls.__module__) for cls in classes]
        return Registry(lambda: [*self._all_sources(), *extra])

    def _all_sources(self) -> list[Source]:
        return list(self._find())

    @property
    def sources(self) -> dict[str, Source]:
        if self._sources is None:
            self._sources = {}
            for source in self._all_sources():
                if source.name in self._sources:
                    taken = self._sources[source.name].origin
                    error = f"the name {source.name!r} is taken by {taken}"
                    self._rejected.append(stand_in(source.name, error, source.origin))
                else:
                    self._sources[source.name] = source
        return self._sources

    def __getitem__(self, name: str) -> type[Transport]:
        if name not in self._loaded:
            self._loaded[name] = _load(self.sources[name])
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        names = list(self.sources)
        return iter(sorted(names, key=lambda name: (self[name].place, names.index(name))))

    def __len__(self) -> int:
        return len(self.sources)

    def ledger_kinds(self) -> dict[str, ObjectKind]:
        """Every kind of object these mechanisms record in the ledger (for ``ledger.clean``)."""
        return {kind: how for cls in self.values() for kind, how in cls.ledger_kinds.items()}

    def rejected(self) -> list[type[Transport]]:
        """Registrations that lost a name clash, as unavailable stand-ins (for ``ipcbench list``)."""
        _ = self.sources
        return list(self._rejected)


def _constant(cls: type[Transport]) -> Callable[[], type[Transport]]:
    return lambda: cls


def _load(source: Source) -> type[Transport]:
    """The class behind ``source``, or a stand-in saying why it could not be had."""
    try:
        loaded = source.load()
    except Exception as exc:  # a plugin's import may fail in any way: it must not take ipcbench down
        return stand_in(
            source.name, f"cannot load {source.origin}: {type(exc).__name__}: {exc}", source.origin
        )
    if not (isinstance(loaded, type) and issubclass(loaded, Transport)):
        return stand_in(source.name, f"{source.origin} is not a Transport subclass", source.origin)
    if getattr(loaded, "name", None) != source.name:
        error = (
            f"{source.origin} calls itself {getattr(loaded, 'name', None)!r}, registered as {source.name!r}"
        )
        return stand_in(source.name, error, source.origin)
    return loaded


def label(name: str, variant: str | None) -> str:
    """``posix-shm/spin``, or ``pipe`` for a mechanism without variants. A tuned cell's variant key
    (``keyed_variant``) carries its setting: ``posix-shm/hybrid[spin_us=10]``, ``pipe[pipe_buffer=1M]``."""
    if variant is None:
        return name
    return f"{name}{variant}" if variant.startswith("[") else f"{name}/{variant}"


__all__ = ["GROUP", "ChannelSpec", "Registry", "Source", "UnavailableTransport", "label"]
