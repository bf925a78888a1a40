"""The records of a run, each defined once: the runner writes them, the store checks files against them.

``PeerReport`` is what a measuring process sends the runner over its result pipe; ``RunRecord`` is one
independent run of a cell; ``CellRecord`` is one cell. All are frozen: summarising a cell builds a new
record from its runs and changes none of them (a run's raw samples travel in ``RunRecord.samples``, which
is never stored). Every stored field says how ``store`` checks it (``Stored``, in the field's metadata),
and ``to_json`` writes the keys of DESIGN.md's result file, the public contract, exactly as before.

A record reads like the JSON it is written as (``run["messages"]``), so code and tests that index result
documents index records the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

STATUSES = ("ok", "skipped", "failed")
LATENCY_KEYS = ("p50", "p90", "p99", "p999", "max", "mean", "stdev")
THROUGHPUT_KEYS = ("bytes_per_s", "msgs_per_s")


@dataclass(frozen=True)
class Stored:
    """How a field is stored and checked."""

    kind: str  # the store's check: string, whole, number, figures, flag, histogram, or a named structure
    required: bool = False  # a file without the key is refused
    nullable: bool = True  # for strings and numbers: null is allowed
    minimum: int = 0  # for whole numbers
    keys: tuple[str, ...] = ()  # for figures: the ones that must be present
    carried_by: tuple[str, ...] = ("ok",)  # the cell statuses whose cells carry the field
    always: bool = False  # checked whatever the cell's status (else only where carried)
    omit_none: bool = False  # left out of the file when None, instead of written as null


def stored(kind: str, default: Any = MISSING, **how: Any) -> Any:
    """A dataclass field that is written to the result file and checked as ``kind``."""
    return field(default=default, metadata={"stored": Stored(kind, **how)})


def stored_fields(record: type, status: str | None = None) -> list[tuple[str, Stored]]:
    """(name, how) of every stored field of a record class, in file order (of a cell of ``status``: the
    fields such a cell carries or is checked for)."""
    found = [(f.name, f.metadata["stored"]) for f in fields(record) if "stored" in f.metadata]
    return [(n, how) for n, how in found if status is None or how.always or status in how.carried_by]


class _ReadsLikeJson(Mapping[str, Any]):
    """Index a record by its JSON keys; ``ALIASES`` reach fields that are not stored."""

    ALIASES: ClassVar[dict[str, str]] = {}

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        if key in self.ALIASES:
            return getattr(self, self.ALIASES[key])
        return self.to_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_json())

    def __len__(self) -> int:
        return len(self.to_json())


@dataclass(frozen=True)
class PeerReport:
    """What one measuring process reports when it ends (pickled over its result pipe)."""

    ok: bool
    error: str | None = None  # "PayloadError: message 5: ...", when not ok
    traceback: str | None = None
    elapsed_ns: int | None = None  # the initiator's measured interval
    cpu_ns: int = 0  # CPU time over the measured messages (CLOCK_PROCESS_CPUTIME_ID) ...
    cpu_user_ns: int = 0  # ... and its user/system split (getrusage)
    cpu_sys_ns: int = 0
    samples: bytes | None = None  # a latency workload's initiator: int64 round trips, in order
    cpu: int | None = None  # the CPU the process last ran on
    # ``openloop``: the initiator's schedule (first intended send, step) and actual send times (int64) ...
    start_ns: int | None = None
    interval_ns: int | None = None
    sends: bytes | None = None
    arrivals: bytes | None = None  # ... and the peer's arrival times (int64), in order
    unsync: dict[str, int] | None = None  # the ``unsync`` demonstration's reader: what it counted
    messages: int | None = None  # the initiator's measured count, when the run calibrated itself


@dataclass(frozen=True, eq=False)
class RunRecord(_ReadsLikeJson):
    """One independent run of a cell: fresh objects, a fresh pair of processes."""

    ALIASES: ClassVar[dict[str, str]] = {"_samples": "samples", "params": "params"}

    messages: int = stored("whole", required=True, minimum=1)  # measured messages (warm-up excluded)
    elapsed_ns: int = stored("number", required=True, nullable=False)  # the initiator's measured interval
    msgs_per_s: float = stored("number", required=True, nullable=False)
    bytes_per_s: float = stored("number", required=True, nullable=False)
    cpu_ns_per_msg: dict[str, float] = stored("figures")  # per side: total, _user, _sys
    cpus: dict[str, int | None] = stored("cpus")  # the CPU each side last ran on
    p50_ns: float | None = stored("number", None, omit_none=True)  # latency workloads only
    p99_ns: float | None = stored("number", None, omit_none=True)
    load: dict[str, float | None] | None = stored("figures", None, omit_none=True)  # machine.LoadMeter
    # The ``unsync`` demonstration: messages sent, reads, and how many arrived intact, torn, lost, twice.
    unsync: dict[str, int] | None = stored("counts", None, omit_none=True)
    # Not stored per run: the channel's settings (stored once per cell) and the raw samples (the cell's
    # histogram and percentiles are made from them).
    params: dict[str, Any] = field(default_factory=dict)
    samples: Any = field(default=None, repr=False)  # numpy int64 array of round trips, or None
    back_samples: Any = field(default=None, repr=False)  # ``oneway``: the way back's legs
    # ``openloop``: ``samples`` are latencies from the intended send times, these from the actual ones ...
    uncorrected: Any = field(default=None, repr=False)
    achieved_msgs_per_s: float | None = None  # ... and the rate delivered against the schedule

    def to_json(self) -> dict[str, Any]:
        return _json(self, None)


@dataclass(frozen=True, eq=False)
class CellRecord(_ReadsLikeJson):
    """One cell: measured (``ok``), ``skipped`` with the reason and remedy, or ``failed`` with the reason."""

    transport: str = stored("string", required=True, nullable=False, carried_by=STATUSES)
    variant: str | None = stored("string", required=True, carried_by=STATUSES)
    workload: str = stored("workload", required=True, carried_by=STATUSES)
    size: int = stored("whole", required=True, minimum=1, carried_by=STATUSES)
    # The tier that ran the loops: "python", or "native" (the same loops in C); schema 2 on.
    impl: str = stored("impl", "python", required=True, carried_by=STATUSES)
    # The ``--tune`` setting the cell was measured with (``{"pipe_buffer": 1048576}``): part of its identity;
    # absent for a cell with the mechanism's defaults. The value in force is in ``params``.
    tune: dict[str, Any] | None = stored("tune", None, carried_by=STATUSES, omit_none=True)
    status: str = stored("status", "ok", required=True, carried_by=STATUSES)
    reason: str | None = stored("string", None, carried_by=STATUSES)
    remedy: str | None = stored("string", None, carried_by=STATUSES)  # the setting that would allow it
    latency_ns: dict[str, Any] | None = stored("figures", None, keys=LATENCY_KEYS)  # round trip, all samples
    # ``oneway``: ``latency_ns`` is the forward leg (initiator to peer), this the way back.
    latency_back_ns: dict[str, Any] | None = stored("figures", None, keys=LATENCY_KEYS, omit_none=True)
    throughput: dict[str, Any] | None = stored("figures", None, required=True, keys=THROUGHPUT_KEYS)
    cpu_ns_per_msg: dict[str, float] | None = stored("figures", None, keys=("initiator", "peer"))
    messages: int = stored("whole", 0, required=True)  # over all runs
    histogram: str | None = stored("histogram", None)  # HDR histogram of every latency sample
    # ``openloop``: the stream capacity (messages/s) its offered rates are fractions of, and one entry per
    # offered rate (``workloads.openloop.sweep_entry``).
    capacity_msgs_per_s: float | None = stored("number", None, omit_none=True)
    rate_sweep: list[dict[str, Any]] | None = stored("rate_sweep", None, omit_none=True)
    params: dict[str, Any] | None = stored("params", None)  # the channel's settings, read back
    runs: tuple[RunRecord, ...] = stored("runs", (), required=True)
    cv: float | None = stored("number", None)  # spread of the runs' headline figure
    unstable: bool = stored("flag", False)
    unstable_reason: str | None = stored("string", None, always=True)
    started: str | None = stored("string", None, carried_by=("ok", "failed"))
    finished: str | None = stored("string", None, always=True)
    load: dict[str, Any] | None = stored("load", None, carried_by=("ok", "failed"))
    # A demonstration (``unsync``) instead of a speed measurement: its runs' counts added up. Such a cell
    # is kept out of every speed figure, comparison and verdict (``store.is_demonstration``).
    unsync: dict[str, int] | None = stored("counts", None, omit_none=True)

    def to_json(self) -> dict[str, Any]:
        return _json(self, self.status)


def _json(record: Any, status: str | None) -> dict[str, Any]:
    """The record's stored fields as the file has them (``status``: write only what such a cell carries)."""
    document: dict[str, Any] = {}
    for name, how in stored_fields(type(record)):
        value = getattr(record, name)
        if (status is not None and status not in how.carried_by) or (how.omit_none and value is None):
            continue
        document[name] = [run.to_json() for run in value] if how.kind == "runs" else value
    return document
