"""Validation of result documents: every key a command reads, checked once, where it is loaded.

``validate`` raises ``ResultFileError`` (one line naming the path of the bad value inside the document)
unless a document is a well-formed result of the current schema: types, finite non-negative figures,
ordered intervals, decodable histograms. Cells and runs are checked against their declarations in
``records`` (``records.stored_fields``). ``store`` reads, migrates and then validates here; the
definition of each schema version is what this module accepts.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime
from typing import Any, NoReturn

from ipcbench import idle, records, unsync, workloads
from ipcbench.errors import ResultFileError
from ipcbench.workloads.openloop import SWEEP_KEYS

IMPLS = ("python", "native")
STATUSES = ("running", "complete", "interrupted")
CELL_STATUSES = records.STATUSES
Number = (int, float)
_CONTROL = {code: f"\\x{code:02x}" for code in range(32)}


class _Check:
    """Collects the path of the value being checked, for a message that says where the problem is."""

    def __init__(self, where: str, decode_histograms: bool = True) -> None:
        self.where = where
        self.decode_histograms = decode_histograms

    def fail(self, at: str, problem: str) -> NoReturn:
        # A key from the file may hold a line break or other control character: the message stays one line.
        raise ResultFileError(f"{self.where}: {at.translate(_CONTROL)}: {problem}")

    def obj(self, value: Any, at: str, nullable: bool = False) -> dict[str, Any]:
        if nullable and value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(at, "expected an object")
        return value

    def key(self, parent: dict[str, Any], name: str, at: str) -> Any:
        if name not in parent:
            self.fail(at, f"missing key {name!r}")
        return parent[name]

    def string(self, value: Any, at: str, nullable: bool = False) -> None:
        if not (isinstance(value, str) or (nullable and value is None)):
            self.fail(at, "expected a string")

    def flag(self, value: Any, at: str) -> None:
        if not isinstance(value, bool):
            self.fail(at, "expected true or false")

    def whole(self, value: Any, at: str, nullable: bool = False, minimum: int = 0) -> None:
        if nullable and value is None:
            return
        # bool is a subclass of int in Python, never a count in a result file.
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 2**63:
            self.fail(at, f"expected a whole number from {minimum} to 2**63")

    def number(
        self, value: Any, at: str, nullable: bool = False, signed: bool = False, positive: bool = False
    ) -> None:
        if type(value) is float and 0.0 < value < math.inf:
            return  # the common case, good under every option: checked first, without the calls below
        if nullable and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, Number) or not _finite(value):
            self.fail(at, "expected a finite number")
        if value < 0 and not signed:
            self.fail(at, f"expected a non-negative number, got {value}")
        if value <= 0 and positive:
            self.fail(at, f"expected a positive number, got {value}")

    def interval(self, value: Any, at: str) -> None:
        if value is None:
            return
        if not isinstance(value, list) or len(value) != 2:
            self.fail(at, "expected [low, high] or null")
        for i, bound in enumerate(value):
            self.number(bound, f"{at}[{i}]", signed=True)  # a t-interval of a positive mean can dip below 0
        if value[0] > value[1]:
            self.fail(at, f"low bound {value[0]} is above high bound {value[1]}")

    def figures(self, value: Any, at: str, required: tuple[str, ...] = ()) -> None:
        """An object of figures: every ``ci95_*`` key an interval, every other a number or null."""
        if value is None:
            return
        figures = self.obj(value, at)
        for name in required:
            self.key(figures, name, at)
        for name, figure in figures.items():
            if type(figure) is float and 0.0 <= figure < math.inf and not name.startswith("ci95_"):
                continue  # the common case, without building the path of a message nobody reads
            if name.startswith("ci95_"):
                self.interval(figure, f"{at}.{name}")
            else:
                self.number(figure, f"{at}.{name}", nullable=True)

    def histogram(self, value: Any, at: str) -> None:
        if value is None:
            return
        self.string(value, at)
        if len(value) > MAX_HISTOGRAM_CHARS:
            self.fail(at, "histogram too large")
        if not self.decode_histograms:
            return
        try:
            from ipcbench.stats import decode_histogram

            decode_histogram(value)
        except Exception:  # hdrh raises many types (binascii, zlib, its own) on damaged input
            self.fail(at, "not a decodable HDR histogram")


def _finite(value: int | float) -> bool:
    """Finite *as a float*: every reader does float arithmetic, and int(10**400) cannot become one."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


MAX_HISTOGRAM_CHARS = 1 << 20


def validate(document: dict[str, Any], where: str = "<result>", decode_histograms: bool = True) -> None:
    """Raise ``ResultFileError`` unless ``document`` is a well-formed current-schema result."""
    check = _Check(where, decode_histograms)
    check.whole(check.key(document, "schema_version", "top level"), "schema_version", minimum=1)
    for name in ("ipcbench_version", "created"):
        check.string(check.key(document, name, "top level"), name)
    _timestamp(check, document["created"], "created")
    for name in ("label", "finished", "run_id"):
        check.string(document.get(name), name, nullable=True)
    if document.get("status", "complete") not in STATUSES:
        check.fail("status", f"expected one of {', '.join(STATUSES)}")
    _validate_machine(check, check.obj(check.key(document, "machine", "top level"), "machine"))
    _validate_config(check, check.obj(check.key(document, "config", "top level"), "config"))
    cleaned = document.get("objects_cleaned_at_start", [])
    if not isinstance(cleaned, list) or not all(isinstance(line, str) for line in cleaned):
        check.fail("objects_cleaned_at_start", "expected a list of strings")
    cells = check.key(document, "cells", "top level")
    if not isinstance(cells, list):
        check.fail("cells", "expected a list")
    for index, cell in enumerate(cells):
        _validate_cell(check, cell, f"cells[{index}]")
    _validate_wake_probe(check, document.get("wake_probe"))


def _validate_wake_probe(check: _Check, value: Any) -> None:
    """The optional ``wake_probe`` (``wakeprobe``): compare divides by each probe's p50s."""
    probes = check.obj(value, "wake_probe", nullable=True).get("probes", [])
    if not isinstance(probes, list):
        check.fail("wake_probe.probes", "expected a list")
    for index, probe in enumerate(probes):
        at = f"wake_probe.probes[{index}]"
        check.string(check.obj(probe, at).get("error"), f"{at}.error", nullable=True)
        for kind in ("pipe", "spin"):
            check.figures(probe.get(kind), f"{at}.{kind}")
            p50 = (probe.get(kind) or {}).get("p50_ns")
            check.number(p50, f"{at}.{kind}.p50_ns", nullable=True, positive=True)


def _timestamp(check: _Check, value: str, at: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        check.fail(at, f"expected an ISO 8601 UTC time like 2026-11-26T14:00:00Z, got {value[:40]!r}")


def _validate_machine(check: _Check, machine: dict[str, Any]) -> None:
    check.string(check.key(machine, "name", "machine"), "machine.name")
    for name in ("cpu_model", "kernel", "python", "os", "virtualization", "clocksource", "governor"):
        check.string(machine.get(name), f"machine.{name}", nullable=True)
    check.whole(machine.get("cores"), "machine.cores", nullable=True)
    check.obj(machine.get("limits", {}), "machine.limits")
    check.obj(machine.get("packages", {}), "machine.packages")
    _validate_cpu_idle(check, check.obj(machine.get("cpu_idle"), "machine.cpu_idle", nullable=True))


def _validate_cpu_idle(check: _Check, described: dict[str, Any]) -> None:
    """``idle.describe``'s record (optional: files from before it have none)."""
    for name in ("driver", "governor"):
        check.string(described.get(name), f"machine.cpu_idle.{name}", nullable=True)
    check.whole(described.get("latency_limit_us"), "machine.cpu_idle.latency_limit_us", nullable=True)
    states = described.get("states", [])
    if not isinstance(states, list):
        check.fail("machine.cpu_idle.states", "expected a list of idle states")
    for index, state in enumerate(states):
        at = f"machine.cpu_idle.states[{index}]"
        check.string(check.obj(state, at).get("name"), f"{at}.name", nullable=True)
        check.whole(state.get("exit_latency_us"), f"{at}.exit_latency_us", nullable=True)
    haltpoll = check.obj(described.get("haltpoll"), "machine.cpu_idle.haltpoll", nullable=True)
    for name, value in haltpoll.items():
        check.string(value, f"machine.cpu_idle.haltpoll.{name}", nullable=True)


def _validate_config(check: _Check, config: dict[str, Any]) -> None:
    for name in ("profile", "placement", "pin", "label"):
        check.string(config.get(name), f"config.{name}", nullable=True)
    check.whole(config.get("repeats"), "config.repeats", nullable=True)
    if config.get("cpu_idle", "os") not in idle.POLICIES:  # optional: files from before it ran with "os"
        check.fail("config.cpu_idle", f"expected one of {', '.join(idle.POLICIES)}")
    for name in ("budget_s", "timeout_s"):
        check.number(config.get(name), f"config.{name}", nullable=True)
    impls = config.get("impls", [])
    if not isinstance(impls, list) or not all(impl in IMPLS for impl in impls):
        check.fail("config.impls", f"expected a list of tiers ({', '.join(IMPLS)})")
    transports = config.get("transports", [])
    if not isinstance(transports, list) or not all(isinstance(t, str) for t in transports):
        check.fail("config.transports", "expected a list of mechanism names")
    check.obj(config.get("pinning"), "config.pinning", nullable=True)
    native_tier = check.obj(config.get("native_tier"), "config.native_tier", nullable=True)  # show reads it
    check.string(native_tier.get("reason"), "config.native_tier.reason", nullable=True)
    for name, info in check.obj(config.get("mechanisms", {}), "config.mechanisms").items():
        at = f"config.mechanisms.{name}"
        for key, value in check.obj(info, at).items():
            check.string(value, f"{at}.{key}", nullable=True)
    check.figures(config.get("harness_overhead_ns"), "config.harness_overhead_ns")


def _validate_cell(check: _Check, value: Any, at: str) -> None:
    """A cell against ``records.CellRecord``: the fields a cell of its status carries, each as declared."""
    cell = check.obj(value, at)
    status = check.key(cell, "status", at)
    if status not in CELL_STATUSES:
        check.fail(f"{at}.status", f"expected one of {', '.join(CELL_STATUSES)}")
    workload = cell.get("workload")
    _validate_fields(check, cell, at, _declared(records.CellRecord, status), workload)
    if status == "ok":
        _positive_figures(check, cell, at)


def _positive_figures(check: _Check, cell: dict[str, Any], at: str) -> None:
    """Every reader divides by these (ratios, log scales): a measured cell cannot move nothing in no time."""
    for name in ("p50", "p99"):
        if cell.get("latency_ns"):
            check.number(cell["latency_ns"][name], f"{at}.latency_ns.{name}", nullable=True, positive=True)
    for name in records.THROUGHPUT_KEYS:
        check.number(cell["throughput"][name], f"{at}.throughput.{name}", nullable=True, positive=True)


# The declarations of a record's stored fields, asked once per record class and status (not per cell).
_declared = functools.cache(records.stored_fields)


def _validate_fields(
    check: _Check, record: dict[str, Any], at: str, declared: list[tuple[str, records.Stored]], workload: Any
) -> None:
    for name, how in declared:
        if name in record:
            value = record[name]
        elif how.required:
            check.fail(at, f"missing key {name!r}")
        else:
            continue
        if how.kind == "number" and type(value) is float and 0.0 < value < math.inf:
            continue  # the common case (see ``_Check.number``), without building its path
        where = f"{at}.{name}"
        if how.kind == "string":
            check.string(value, where, nullable=how.nullable)
        elif how.kind == "whole":
            check.whole(value, where, minimum=how.minimum)
        elif how.kind == "number":
            check.number(value, where, nullable=how.nullable)
        elif how.kind == "flag":
            check.flag(value, where)
        elif how.kind == "figures":
            check.figures(value, where, how.keys)
        elif how.kind == "histogram":
            check.histogram(value, where)
        else:
            _STRUCTURES[how.kind](check, value, where, workload)


def _validate_workload(check: _Check, value: Any, at: str, workload: Any) -> None:
    if value not in workloads.WORKLOADS:
        check.fail(at, f"expected {' or '.join(map(repr, workloads.WORKLOADS))}")


def _validate_params(check: _Check, value: Any, at: str, workload: Any) -> None:
    params = check.obj(value, at, nullable=True)
    check.string(params.get("wait"), f"{at}.wait", nullable=True)


def _validate_tune(check: _Check, value: Any, at: str, workload: Any) -> None:
    """A ``--tune`` setting: an object of numbers or strings."""
    for key, setting in check.obj(value, at, nullable=True).items():
        if not isinstance(setting, str):
            check.number(setting, f"{at}.{key}")


def _validate_counts(check: _Check, value: Any, at: str, workload: Any) -> None:
    """A demonstration's counts (``unsync``): messages sent and how many met each outcome."""
    counts = check.obj(value, at)
    for key in ("sent", *unsync.OUTCOMES):
        check.whole(check.key(counts, key, at), f"{at}.{key}")


def _validate_runs(check: _Check, value: Any, at: str, workload: Any) -> None:
    if not isinstance(value, list) or not value:
        check.fail(at, "expected a non-empty list of runs")
    for index, run in enumerate(value):
        _validate_run(check, run, f"{at}[{index}]", workload)


def _validate_cpus(check: _Check, value: Any, at: str, workload: Any) -> None:
    for role, cpu in check.obj(value, at, nullable=True).items():
        check.whole(cpu, f"{at}.{role}", nullable=True)


def _validate_load(check: _Check, value: Any, at: str) -> None:
    """``load``: before/after snapshots and what happened during the cell, all figures or null."""
    load = check.obj(value, at, nullable=True)
    for name, snapshot in load.items():
        if name in ("before", "after", "during"):
            snapshot = check.obj(snapshot, f"{at}.{name}", nullable=True)
            for key, figure in snapshot.items():
                if key != "cpu_mhz" and not (type(figure) is float and 0.0 <= figure < math.inf):
                    check.number(figure, f"{at}.{name}.{key}", nullable=True)
            mhz = snapshot.get("cpu_mhz")
            if mhz is not None and not isinstance(mhz, list):
                check.fail(f"{at}.{name}.cpu_mhz", "expected a list of numbers or null")
            for index, figure in enumerate(mhz or []):
                check.number(figure, f"{at}.{name}.cpu_mhz[{index}]")


def _validate_run(check: _Check, value: Any, at: str, workload: str) -> None:
    """A run against ``records.RunRecord``, with the per-run figures its workload adds."""
    run = check.obj(value, at)
    _validate_fields(check, run, at, _declared(records.RunRecord), workload)
    for name in _run_figures(workload):
        figure = check.key(run, name, at)
        if not (type(figure) is float and 0.0 < figure < math.inf):
            check.number(figure, f"{at}.{name}", positive=True)


@functools.cache
def _run_figures(workload: str) -> tuple[str, ...]:
    """The per-run figures a run of ``workload`` must carry, each positive."""
    return ("elapsed_ns", "bytes_per_s", "msgs_per_s", *workloads.get(workload).run_fields)


def _validate_rate_sweep(check: _Check, value: Any, at: str, workload: Any) -> None:
    """``rate_sweep`` (``openloop``): per offered rate, the rates, whether it was kept, and the corrected and
    uncorrected latency figures (every key a number: a reader plots and divides them)."""
    if not isinstance(value, list):
        check.fail(at, "expected a list of offered-rate entries")
    for index, entry in enumerate(value):
        where = f"{at}[{index}]"
        entry = check.obj(entry, where)
        for name in ("offered_msgs_per_s", "achieved_msgs_per_s"):
            check.number(check.key(entry, name, where), f"{where}.{name}", positive=name.startswith("off"))
        check.flag(check.key(entry, "kept", where), f"{where}.kept")
        for name in ("latency_ns", "latency_uncorrected_ns"):
            figures = check.obj(check.key(entry, name, where), f"{where}.{name}")
            for key in SWEEP_KEYS:  # the workload's keys, all required
                check.number(check.key(figures, key, f"{where}.{name}"), f"{where}.{name}.{key}")
        for name in ("runs_p50_ns", "runs_p99_ns"):
            runs = entry.get(name, [])
            if not isinstance(runs, list):
                check.fail(f"{where}.{name}", "expected a list of numbers")
            for i, figure in enumerate(runs):
                check.number(figure, f"{where}.{name}[{i}]")


def _validate_impl(check: _Check, value: Any, at: str, workload: Any) -> None:
    if value not in IMPLS:
        check.fail(at, f"expected one of {', '.join(IMPLS)}")


_STRUCTURES = {
    "workload": _validate_workload,
    "impl": _validate_impl,
    "status": lambda check, value, at, workload: None,  # checked first: it decides the fields
    "load": lambda check, value, at, workload: _validate_load(check, value, at),
    "params": _validate_params,
    "tune": _validate_tune,
    "runs": _validate_runs,
    "cpus": _validate_cpus,
    "rate_sweep": _validate_rate_sweep,
    "counts": _validate_counts,
}
