"""Result files: versioned, self-describing JSON, written atomically, loaded strictly.

Layout: ``results/<machine>/<UTC timestamp>[-<label>].json``. The runner rewrites the file after every
cell (temporary file + ``fsync`` + ``rename``), so a crash or a kill keeps every finished cell in a valid
file whose ``status`` says ``running`` (or ``interrupted``); a finished run says ``complete``.

Loading is strict and total: any file that is not a valid result of a known schema raises
``ResultFileError`` (one line, exit status 2 in every command), never another exception. Older schemas are
upgraded by the migrators in ``MIGRATIONS``; newer ones are refused by name.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ipcbench.errors import InputError, ResultFileError

# Schema history:
#   1 (ipcbench 0.1): the first format, as in DESIGN.md, plus "status", per-cell "params", "load",
#                     "unstable" and "cv", and config "harness_overhead_ns".
SCHEMA_VERSION = 1
# Upgrade functions: MIGRATIONS[n] turns a version-n document into version n+1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

MAX_FILE_BYTES = 256 << 20
STATUSES = ("running", "complete", "interrupted")
CELL_STATUSES = ("ok", "skipped", "failed")
Number = (int, float)


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def result_path(root: Path, machine: str, label: str | None, created: datetime | None = None) -> Path:
    """``root/<machine>/<UTC timestamp>[-<label>].json``; the label is made safe for a file name."""
    stamp = (created or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = ""
    if label:
        suffix = "-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.") or "label")
    return root / machine / f"{stamp}{suffix}.json"


def ensure_writable(folder: Path) -> None:
    """Fail early (before measuring anything) if results cannot be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as exc:
        raise InputError(f"cannot write results to {folder}: {exc.strerror or exc}") from exc


def save(document: dict[str, Any], path: Path) -> None:
    """Write atomically: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=1, allow_nan=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path | str) -> dict[str, Any]:
    """Read, validate and (if older) migrate one result file. Raises ``ResultFileError``."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ResultFileError(f"{path}: too large to be a result file ({path.stat().st_size} bytes)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ResultFileError(f"{path}: is a folder, expected a result file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultFileError(f"{path}: cannot read: {exc}") from None
    return parse(text, str(path))


def parse(text: str, where: str = "<result>") -> dict[str, Any]:
    """Validate and migrate a result document given as JSON text."""
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ResultFileError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ResultFileError(f"{where}: not a result file (top level is not an object)")
    document = _migrate(document, where)
    validate(document, where)
    return document


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid figure")


def _migrate(document: dict[str, Any], where: str) -> dict[str, Any]:
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultFileError(f"{where}: not an ipcbench result file (no valid schema_version)")
    if version > SCHEMA_VERSION:
        raise ResultFileError(f"{where}: schema_version {version} is newer than this ipcbench understands "
                              f"({SCHEMA_VERSION}); upgrade ipcbench to read it")
    while version < SCHEMA_VERSION:
        document = MIGRATIONS[version](document)
        version += 1
        document["schema_version"] = version
    return document


def find_results(paths: list[Path]) -> list[Path]:
    """Result files named directly, plus every ``*.json`` below named folders, oldest first by name."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.json") if not p.name.startswith(".")))
        else:
            found.append(path)
    return found


def newest(path: Path) -> Path:
    """A file stands for itself; a folder for the newest result file in it (by the created time)."""
    if not path.is_dir():
        return path
    files = find_results([path])
    if not files:
        raise ResultFileError(f"{path}: no result files in this folder")
    return max(files, key=lambda p: (load(p)["created"], p.name))


# ---- validation -------------------------------------------------------------------------------------


class _Check:
    """Collects the path of the value being checked, for a message that says where the problem is."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, at: str, problem: str) -> None:
        raise ResultFileError(f"{self.where}: {at}: {problem}")

    def obj(self, value: Any, at: str) -> dict[str, Any]:
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

    def number(self, value: Any, at: str, nullable: bool = False) -> None:
        if nullable and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, Number) or not math.isfinite(value):
            self.fail(at, "expected a finite number")
        if value < 0:
            self.fail(at, f"expected a non-negative number, got {value}")

    def interval(self, value: Any, at: str) -> None:
        if value is None:
            return
        if not isinstance(value, list) or len(value) != 2:
            self.fail(at, "expected [low, high] or null")
        for i, bound in enumerate(value):
            if isinstance(bound, bool) or not isinstance(bound, Number) or not math.isfinite(bound):
                self.fail(f"{at}[{i}]", "expected a finite number")

    def figures(self, value: Any, at: str, keys: tuple[str, ...]) -> None:
        if value is None:
            return
        figures = self.obj(value, at)
        for name in keys:
            self.number(self.key(figures, name, at), f"{at}.{name}", nullable=True)


LATENCY_KEYS = ("p50", "p90", "p99", "p999", "max", "mean", "stdev")
THROUGHPUT_KEYS = ("bytes_per_s", "msgs_per_s")


def validate(document: dict[str, Any], where: str = "<result>") -> None:
    """Raise ``ResultFileError`` unless ``document`` is a well-formed current-schema result."""
    check = _Check(where)
    for name in ("ipcbench_version", "created"):
        check.string(check.key(document, name, "top level"), name)
    check.string(document.get("label"), "label", nullable=True)
    status = document.get("status", "complete")
    if status not in STATUSES:
        check.fail("status", f"expected one of {', '.join(STATUSES)}")
    machine = check.obj(check.key(document, "machine", "top level"), "machine")
    check.string(check.key(machine, "name", "machine"), "machine.name")
    check.obj(machine.get("limits", {}), "machine.limits")
    check.obj(check.key(document, "config", "top level"), "config")
    cells = check.key(document, "cells", "top level")
    if not isinstance(cells, list):
        check.fail("cells", "expected a list")
    for index, cell in enumerate(cells):
        _validate_cell(check, cell, f"cells[{index}]")


def _validate_cell(check: _Check, value: Any, at: str) -> None:
    cell = check.obj(value, at)
    check.string(check.key(cell, "transport", at), f"{at}.transport")
    check.string(check.key(cell, "variant", at), f"{at}.variant", nullable=True)
    workload = check.key(cell, "workload", at)
    if workload not in ("pingpong", "stream"):
        check.fail(f"{at}.workload", "expected 'pingpong' or 'stream'")
    size = check.key(cell, "size", at)
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        check.fail(f"{at}.size", "expected a positive whole number of bytes")
    status = check.key(cell, "status", at)
    if status not in CELL_STATUSES:
        check.fail(f"{at}.status", f"expected one of {', '.join(CELL_STATUSES)}")
    check.string(cell.get("reason"), f"{at}.reason", nullable=True)
    if status != "ok":
        return
    check.figures(cell.get("latency_ns"), f"{at}.latency_ns", LATENCY_KEYS)
    if cell.get("latency_ns") is not None:
        check.interval(cell["latency_ns"].get("ci95_p50"), f"{at}.latency_ns.ci95_p50")
    check.figures(check.key(cell, "throughput", at), f"{at}.throughput", THROUGHPUT_KEYS)
    check.interval(check.obj(cell["throughput"], f"{at}.throughput").get("ci95_bytes_per_s"),
                   f"{at}.throughput.ci95_bytes_per_s")
    check.figures(cell.get("cpu_ns_per_msg"), f"{at}.cpu_ns_per_msg", ("initiator", "peer"))
    check.number(check.key(cell, "messages", at), f"{at}.messages")
    runs = check.key(cell, "runs", at)
    if not isinstance(runs, list) or not runs:
        check.fail(f"{at}.runs", "expected a non-empty list of runs")
    for index, run in enumerate(runs):
        _validate_run(check, run, f"{at}.runs[{index}]", workload)
    check.string(cell.get("histogram"), f"{at}.histogram", nullable=True)


def _validate_run(check: _Check, value: Any, at: str, workload: str) -> None:
    run = check.obj(value, at)
    for name in ("messages", "elapsed_ns", "bytes_per_s", "msgs_per_s"):
        check.number(check.key(run, name, at), f"{at}.{name}")
    if workload == "pingpong":
        for name in ("p50_ns", "p99_ns"):
            check.number(check.key(run, name, at), f"{at}.{name}")


def iter_ok_cells(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return (cell for cell in document["cells"] if cell["status"] == "ok")
