"""The transport interface: how a mechanism makes its kernel objects and how each process talks over them.

A transport is a small class in two halves:

* The **creation side** runs once per run in the runner process. ``create(ledger)`` makes the kernel
  objects (exclusive create, mode 0600, unpredictable names or keys, each recorded in the runner's ledger
  before it exists), ``release_parent()`` drops the runner's copies of handles the children inherited (so a
  dead peer shows up as end-of-file instead of a hang), and ``destroy()`` removes everything. ``destroy`` is
  idempotent and always runs in a ``finally``.
* The **endpoint side** runs in a peer process forked from the runner: ``open(role)`` attaches to the objects
  and returns an ``Endpoint`` for ``"initiator"`` or ``"peer"``. The initiator sends on the forward
  direction and receives on the back direction; the peer does the opposite.

An endpoint's hot path is ``send(view)`` and ``recv_into(view)``: whole messages, preallocated buffers, no
allocation per message where the library allows it (the SysV and POSIX queue libraries return a new bytes
object per receive; that copy is part of what a Python user of those libraries pays, and is labelled so).
``handles()`` exposes the raw identifiers (fds, keys, names, mapped segment) so that a compiled tier can
run the same loops over the same objects.

A transport also says, before anything is created, whether this machine can carry a message size at all
(``skip_reason``): a size above a queue's kernel limit is skipped with the sysctl that would allow it, never
clamped or chunked. Everything else that is specific to a mechanism is declared on its class too, so generic
code never names a mechanism: the kernel limits that can stop its set-up (``limits``) and what a failed
set-up means (``explain_failure``), the kinds of object it records in the ledger (``ledger_kinds``), and its
place and colours in the report (``place``, ``colours``).

Mechanisms are found through the ``ipcbench.transports`` entry point group (``registry.py``); a module whose
binding library is missing still imports and says so in ``unavailable()``.
"""

from __future__ import annotations

import importlib
import secrets
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ipcbench.ledger import Ledger, ObjectKind

Buffer = Any  # a writable bytes-like object (bytearray or memoryview of one)


@dataclass(frozen=True)
class Skip:
    """Why a size cannot be carried here, and what would allow it."""

    reason: str
    remedy: str | None = None

    def text(self) -> str:
        return self.reason if self.remedy is None else f"{self.reason}; to allow it: {self.remedy}"


# A few tens of microseconds: longer than a typical cross-core hand-over, shorter than a wake-up from sleep
# costs on these machines (FACTS.md: ~30 us each way), so a prompt reply is caught spinning.
DEFAULT_SPIN_NS = 50_000


@dataclass(frozen=True)
class ChannelSpec:
    """What one run needs from a channel."""

    size: int  # bytes per message
    variant: str | None  # "sem", "spin", "hybrid" (or the "unsync" demonstration) for shared memory
    slots: int  # messages that may be in flight in one direction (ring slots, queue depth)
    same_core: bool = False  # both processes on one CPU: a spinning waiter must yield
    # The workload keeps at most one message in flight and every reply implies the request was consumed
    # (ping-pong): a mechanism may drop its flow control, as a hand-written ping-pong would.
    lockstep: bool = False
    # How long a ``hybrid`` waiter polls before it sleeps on its semaphore (``--tune spin_us``).
    spin_ns: int = DEFAULT_SPIN_NS
    # The cell's ``--tune`` settings, sorted (key, value) pairs; () is the default (``ipcbench.tuning``).
    tune: tuple[tuple[str, Any], ...] = ()

    def setting(self, key: str) -> Any:
        """A ``--tune`` value for this channel, or None for the mechanism's default."""
        return dict(self.tune).get(key)


Exchange = Callable[[Buffer, Buffer], None]
Echo = Callable[[Buffer, int], None]


def compose_exchange(send: Callable[[Buffer], None], recv_into: Callable[[Buffer], None]) -> Exchange:
    """Send one message, then receive one: the initiator's half of a round trip."""

    def exchange(outgoing: Buffer, received: Buffer) -> None:
        send(outgoing)
        recv_into(received)

    return exchange


def compose_echo(send: Callable[[Buffer], None], recv_into: Callable[[Buffer], None]) -> Echo:
    """Receive each of ``count`` messages into ``buffer`` and send it straight back: the peer's half."""

    def echo(buffer: Buffer, count: int) -> None:
        for _ in range(count):
            recv_into(buffer)
            send(buffer)

    return echo


class Endpoint:
    """One process's end of a channel.

    ``send`` and ``recv_into`` are plain attributes (often closures over local state, which Python calls
    faster than bound methods reading ``self``). ``exchange`` and ``echo`` are the two halves of a round
    trip, composed from them by default; a mechanism whose round trip costs about a microsecond fuses
    them, so the harness adds no Python call between the halves that a hand-written loop would not make.
    ``clock`` (nanoseconds, monotonic) and ``cpu_clock`` (this process's CPU nanoseconds) are what the
    workloads time with: the real clocks, unless a test's endpoint brings fake ones.
    ``recv_view`` and ``release`` exist only on an endpoint that receives in place, ``racy_read`` only on
    the ``unsync`` demonstration's (``ipcbench.unsync``).
    """

    clock: Callable[[], int] = staticmethod(time.perf_counter_ns)
    cpu_clock: Callable[[], int] = staticmethod(time.process_time_ns)

    def __init__(
        self,
        send: Callable[[Buffer], None],
        recv_into: Callable[[Buffer], None],
        close: Callable[[], None],
        handles: dict[str, Any],
        exchange: Exchange | None = None,
        echo: Echo | None = None,
        inplace: tuple[Callable[[], Buffer], Callable[[], None]] | None = None,
        racy_read: Callable[[Buffer], int] | None = None,
    ) -> None:
        self.send = send
        self.recv_into = recv_into
        # ``--tune receive=inplace`` (shared memory): ``recv_view()`` waits for the next message and returns
        # the slot it lies in, ``release()`` hands the slot back to the sender once the reader is done.
        self.recv_view: Callable[[], Buffer] | None = inplace[0] if inplace else None
        self.release: Callable[[], None] | None = inplace[1] if inplace else None
        # The ``unsync`` demonstration: wait until the writer's counter moved, copy the slot out with no
        # handshake back, return the counter (the reader counts what it got instead of failing on it).
        self.racy_read = racy_read
        self.exchange = exchange or compose_exchange(send, recv_into)
        self.echo = echo or compose_echo(send, recv_into)
        self._close = close
        self._handles = handles
        self._closed = False

    def handles(self) -> dict[str, Any]:
        """The raw kernel handles behind this endpoint (for a compiled tier over the same objects)."""
        return dict(self._handles)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Transport(ABC):
    """Base class of every mechanism; see the module docstring for the life cycle."""

    name: ClassVar[str]
    variants: ClassVar[tuple[str | None, ...]] = (None,)
    summary: ClassVar[str]
    # How a waiting side waits, per variant: "block" (sleeps in the kernel), "spin" (polls memory) or
    # "hybrid" (polls for a bounded time, then sleeps).
    waits: ClassVar[dict[str | None, str]] = {None: "block"}
    # The variants ``ipcbench.native`` has C loops for (over the endpoint's handles); none by default, so a
    # plugin or a library mechanism is never given a native cell it cannot run.
    native_variants: ClassVar[frozenset[str | None]] = frozenset()
    # Variants only the native tier can run (``mutex``: a process-shared pthread mutex lives only in C).
    native_only: ClassVar[frozenset[str | None]] = frozenset()
    # True only for the test mock, whose clocks are fake: the machine's load cannot touch its figures.
    fake_clocks: ClassVar[bool] = False
    # Place in tables and figures: DESIGN.md's order (pipes, sockets, shared memory, queues); plugins after.
    place: ClassVar[int] = 1000
    # Colour per variant in every figure; a mechanism without one gets a spare colour derived from its label.
    colours: ClassVar[dict[str | None, str]] = {}
    # The kernel limits (keys of ``machine.read_limits``) that can stop ``create``: quoted when it fails.
    limits: ClassVar[tuple[str, ...]] = ()
    # "kernel": one binding over kernel objects (the four claims judge these); "library": a library's
    # abstraction over them (multiprocessing, pyzmq, plugins), ranked in the report's "Python's choices"
    # beside the fastest kernel mechanism. A new mechanism is "library" unless it says otherwise.
    layer: ClassVar[str] = "library"
    # The kinds of named object ``create`` records in the ledger, and how ``ipcbench clean`` checks and
    # removes a dead run's (fds need none; the private folders for FIFOs and sockets are the ledger's own).
    ledger_kinds: ClassVar[dict[str, ObjectKind]] = {}
    # Variants that demonstrate a failure instead of measuring a speed (``unsync``: shared memory without
    # synchronisation). Chosen by name (``posix-shm/unsync``) or by a profile, never by ``posix-shm``
    # alone; planned with the workloads that count the damage (``Workload.demonstrates``), Python tier
    # only; their cells carry the counts and stay out of every speed figure, comparison and verdict.
    demonstrations: ClassVar[tuple[str, ...]] = ()
    # The ``--tune`` keys this mechanism honours (``ipcbench.tuning.SETTINGS``); others leave it alone.
    tunables: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def tunables_for(cls, variant: str | None) -> tuple[str, ...]:
        """The ``--tune`` keys that apply to one variant."""
        return cls.tunables

    def __init__(self, spec: ChannelSpec) -> None:
        self.spec = spec
        self._ledger: Ledger | None = None

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this mechanism cannot run on this machine at all, or None."""
        return None

    @classmethod
    def skip_reason(cls, size: int, limits: dict[str, Any]) -> Skip | None:
        """Why ``size`` cannot be carried with these kernel limits, or None."""
        return None

    @classmethod
    def explain_failure(cls, exc: Exception, spec: ChannelSpec) -> str | None:
        """What a set-up failure most likely means for this mechanism (said after the error), or None."""
        return None

    @abstractmethod
    def create(self, ledger: Ledger) -> None:
        """Make the kernel objects (runner side)."""

    def release_parent(self) -> None:  # noqa: B027 - optional hook, most mechanisms have nothing to drop
        """Drop the runner's copies of handles that the forked children now hold."""

    @abstractmethod
    def destroy(self) -> None:
        """Remove every object ``create`` made; idempotent, safe after a partial ``create``."""

    @abstractmethod
    def open(self, role: str) -> Endpoint:
        """Attach to the objects from a forked child; ``role`` is ``"initiator"`` or ``"peer"``."""

    def params(self) -> dict[str, Any]:
        """Settings that shaped the measurement, recorded in the cell (buffer sizes, depth, wait mode)."""
        return {"wait": self.wait_mode(), "slots": self.spec.slots}

    def wait_mode(self) -> str:
        mode = self.waits.get(self.spec.variant, "block")
        if mode == "hybrid" and self.spec.same_core:
            return "block"  # the ring goes straight to the semaphore on one shared core
        return "spin+yield" if mode == "spin" and self.spec.same_core else mode

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    # Helpers shared by the mechanisms.
    def _untrack(self, kind: str, identifier: str) -> None:
        if self._ledger is not None:
            self._ledger.discard(kind, identifier)

    def _remove_private_dir(self, folder: Any) -> None:
        """Remove a folder made by ``Ledger.private_dir`` (socket files, FIFOs) and strike it out."""
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
            self._untrack("dir", str(folder))


def optional_import(module: str) -> tuple[Any, ImportError | None]:
    """(the module, None), or (None, the error) when it cannot be imported: a mechanism whose binding
    library is missing must still describe itself (list, report colours) and say why it cannot run."""
    try:
        return importlib.import_module(module), None
    except ImportError as exc:
        return None, exc


def missing_binding(module: str, error: ImportError | None) -> str | None:
    """``unavailable()``'s text for a mechanism whose binding library could not be imported, or None."""
    return None if error is None else f"cannot import {module}: {error}"


def random_name() -> str:
    """An unpredictable POSIX object name that still says whose it is."""
    import os

    return f"/ipcbench-{os.getpid()}-{secrets.token_hex(8)}"


def random_key() -> int:
    """An unpredictable SysV key (never 0, which is IPC_PRIVATE)."""
    return secrets.randbelow(0x7FFFFFFE) + 1


def directions(role: str) -> tuple[int, int]:
    """(send direction, receive direction): 0 is initiator -> peer, 1 is peer -> initiator."""
    if role == "initiator":
        return 0, 1
    if role == "peer":
        return 1, 0
    raise ValueError(f"unknown role {role!r}")


def create_recorded(
    ledger: Ledger,
    kind: str,
    fresh_id: Callable[[], Any],
    create: Callable[[Any], Any],
    exists: type[BaseException],
    attempts: int = 16,
) -> Any:
    """Create an object under a fresh unpredictable identifier, recorded in the ledger *before* it exists
    (so a kill in between still leaves a trace); a collision with an existing object picks another."""
    for attempt in range(attempts):
        identifier = fresh_id()
        ledger.add(kind, str(identifier))
        try:
            return create(identifier)
        except exists:
            ledger.discard(kind, str(identifier))
            if attempt == attempts - 1:
                raise
        except BaseException:
            ledger.discard(kind, str(identifier))
            raise
    raise AssertionError("unreachable")
