"""Result files: versioned, self-describing JSON, written atomically, loaded strictly.

Layout: ``results/<machine>/<UTC timestamp>[-<label>].json``. The runner rewrites the file after every
cell (temporary file + ``fsync`` + ``rename``), so a crash or a kill keeps every finished cell in a valid
file whose ``status`` says ``running`` (or ``interrupted``); a finished run says ``complete``.

Loading is strict and total: any file that is not a valid result of a known schema raises
``ResultFileError`` (one line, exit status 2 in every command), never another exception, and a document
that loads can be read by every command without a type check of its own: every key a command reads is
validated (in ``store_validation``: types, finite non-negative figures, ordered intervals, decodable
histograms). Older schemas are upgraded by the migrators in ``MIGRATIONS``; newer ones are refused by name.

Two runs that start in the same second with the same label would be given the same file name: the first
save claims the name exclusively (``create``), and the second run gets ``-2``, ``-3``... appended.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ipcbench import outfile
from ipcbench.errors import InputError, ResultFileError
from ipcbench.store_validation import CELL_STATUSES, IMPLS, STATUSES, validate

__all__ = [  # the names other modules read from here; the validation itself lives in store_validation
    "CELL_STATUSES",
    "IMPLS",
    "MAX_FILE_BYTES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "Growing",
    "ResultFileError",
    "accept",
    "create",
    "decode_json",
    "encode_json",
    "ensure_writable",
    "find_results",
    "incomplete_reason",
    "is_demonstration",
    "iter_demonstrations",
    "iter_ok_cells",
    "load",
    "now_utc",
    "parse",
    "result_path",
    "save",
    "validate",
]

# Schema history:
#   1 (ipcbench 0.1): the first format, as in DESIGN.md, plus "status", per-cell "params", "load",
#                     "unstable", "unstable_reason" and "cv", and config "harness_overhead_ns";
#                     optional config "mechanisms" (layer, summary, distribution and version of each
#                     mechanism measured; a file without it holds kernel-layer mechanisms only).
#                     What ``validate`` accepts is the definition of version 1; files written before
#                     "unstable_reason" existed are still version 1 (the key is optional).
#   2 (ipcbench 0.2): every cell has "impl" ("python" or "native": the tier that ran its hot loops); config
#                     has "impls" (the tiers asked for), "native_tier" ({"available", "reason"}) and
#                     "native_clock". Version-1 files are read as "impl": "python" (all they could hold).
#                     Optional, added later: config "cpu_idle" ("os" or "poll", ``idle.POLICIES``) and machine
#                     "cpu_idle" (``idle.describe``); a file without them ran with the machine's idle ("os").
#                     Optional top-level "wake_probe" (``wakeprobe``): files without it load as before.
SCHEMA_VERSION = 2


def _upgrade_1_to_2(document: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 had only the Python tier: every cell was measured with Python loops."""
    cells = document.get("cells")
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict):
            cell.setdefault("impl", "python")
    config = document.get("config")
    if isinstance(config, dict):
        config.setdefault("impls", ["python"])
    return document


# Upgrade functions: MIGRATIONS[n] turns a version-n document into version n+1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _upgrade_1_to_2}

# A full profile writes about 2 MB; anything far larger is not a result file (and would eat memory).
MAX_FILE_BYTES = 64 << 20


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def result_path(root: Path, machine: str, label: str | None, created: datetime | None = None) -> Path:
    """``root/<machine>/<UTC timestamp>[-<label>].json``; the label is made safe for a file name: letters and
    digits of any script stay (``café`` stays ``café``), anything else becomes ``-``."""
    stamp = (created or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = ""
    if label:
        readable = unicodedata.normalize("NFC", label)
        suffix = "-" + (re.sub(r"[^\w.-]+", "-", readable).strip("-._") or "label")
    return root / machine / f"{stamp}{suffix}.json"


def ensure_writable(folder: Path) -> None:
    """Fail early (before measuring anything) if results cannot be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as exc:
        raise InputError(f"cannot write results to {folder}: {exc.strerror or exc}") from exc


def create(document: dict[str, Any], path: Path, attempts: int = 100) -> Path:
    """Write the first version of a result file under a name nobody else holds; return that name.

    The file is written completely under a temporary name and then hard-linked to its final name: ``link``
    fails if the name exists, so two runs racing for one name can never overwrite each other, and a
    reader never sees a half-written file. The loser takes ``NAME-2.json``, ``NAME-3.json``...
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_temporary(document, path)
    try:
        for attempt in range(1, attempts + 1):
            candidate = path if attempt == 1 else path.with_name(f"{path.stem}-{attempt}{path.suffix}")
            try:
                os.link(tmp, candidate)
            except FileExistsError:
                continue
            return candidate
        raise InputError(f"cannot find a free result file name next to {path} after {attempts} tries")
    finally:
        Path(tmp).unlink(missing_ok=True)


def _write_temporary(document: dict[str, Any], path: Path) -> str:
    return outfile.write_temporary(json.dumps(document, indent=1, allow_nan=False).encode(), path)


def save(document: dict[str, Any], path: Path, text: Growing | None = None) -> None:
    """Write atomically: readers see the old file or the new one, never half of one. A run that saves
    after every cell passes its ``Growing`` text, which encodes each cell once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded = text.encode(document) if text is not None else json.dumps(document, indent=1, allow_nan=False)
    outfile.replace_atomically(encoded.encode(), path)


class Growing:
    """``json.dumps(document, indent=1)`` of a result document that grows by whole cells, each cell encoded
    once, when it first appears: saving after every cell re-encoded every earlier cell each time, which
    made a run's saving quadratic (0.1-0.2 s per save at 300 cells). A cell must not change once saved."""

    def __init__(self) -> None:
        self._cells: list[str] = []

    def encode(self, document: dict[str, Any]) -> str:
        cells = document["cells"]
        if len(cells) < len(self._cells):
            self._cells = []
        for cell in cells[len(self._cells) :]:  # at depth 2 of the document: two more spaces a line
            self._cells.append("  " + json.dumps(cell, indent=1, allow_nan=False).replace("\n", "\n  "))
        head = json.dumps({**document, "cells": []}, indent=1, allow_nan=False)
        if not self._cells:
            return head
        body = "[\n" + ",\n".join(self._cells) + "\n ]"
        return head.replace('\n "cells": []', '\n "cells": ' + body, 1)


def load(path: Path | str) -> dict[str, Any]:
    """Read, validate and (if older) migrate one result file. Raises ``ResultFileError``."""
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ResultFileError(f"{path}: is a folder, expected a result file")
        if not stat.S_ISREG(info.st_mode):
            # A FIFO or a device would block or never end: read only regular files.
            raise ResultFileError(f"{path}: not a regular file")
        with path.open("rb") as source:
            data = source.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows meanwhile
        if len(data) > MAX_FILE_BYTES:
            raise ResultFileError(f"{path}: too large to be a result file (over {MAX_FILE_BYTES >> 20} MiB)")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ResultFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, MemoryError) as exc:
        raise ResultFileError(f"{path}: cannot read: {exc}") from None
    return parse(text, str(path))


def parse(text: str, where: str = "<result>", decode_histograms: bool = True) -> dict[str, Any]:
    """Validate and migrate a result document given as JSON text. ``decode_histograms=False`` is for
    readers that never touch the histograms (summaries): a third of the time, and they stay unchecked."""
    return accept(decode_json(text, where), where, decode_histograms)


def decode_json(text: str, where: str = "<result>") -> Any:
    """JSON text as Python objects (no NaN or Infinity); ``ResultFileError`` if it is not valid JSON.

    orjson parses a default-profile file several times faster than ``json``; what it refuses (NaN, numbers
    beyond 64 bits, too deep, not JSON) is parsed again by ``json``, which accepts exactly what it always
    did and says where the text is broken."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ResultFileError(f"{where}: not valid JSON ({_first_line(exc)})") from None


def encode_json(value: Any, indent: bool = False) -> str:
    """JSON text by orjson (many times faster than ``json`` for a long history), compact (never a raw
    newline) or indented by two; a missing figure (NaN) is written as null. What orjson cannot write (a
    lone surrogate that ``json`` read from an escape) goes through ``json``."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else None).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, indent=2 if indent else None, separators=None if indent else (",", ":"))


def accept(document: Any, where: str = "<result>", decode_histograms: bool = True) -> dict[str, Any]:
    """Migrate and validate a decoded result document (``parse`` without the JSON step)."""
    if not isinstance(document, dict):
        raise ResultFileError(f"{where}: not a result file (top level is not an object)")
    migrated = _migrate(document, where)
    validate(migrated, where, decode_histograms)
    return migrated


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid figure")


def _first_line(exc: BaseException) -> str:
    """An exception as one short line (the error contract is one line on stderr)."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _migrate(document: dict[str, Any], where: str) -> dict[str, Any]:
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultFileError(f"{where}: not an ipcbench result file (no valid schema_version)")
    if version > SCHEMA_VERSION:
        raise ResultFileError(
            f"{where}: schema_version {version} is newer than this ipcbench understands "
            f"({SCHEMA_VERSION}); upgrade ipcbench to read it"
        )
    while version < SCHEMA_VERSION:
        try:
            document = MIGRATIONS[version](document)
        except Exception as exc:  # a migrator meets the malformed files it was not written for
            raise ResultFileError(
                f"{where}: cannot upgrade from schema_version {version}: "
                f"{type(exc).__name__}: {_first_line(exc)}"
            ) from None
        if not isinstance(document, dict):
            raise ResultFileError(f"{where}: upgrading from schema_version {version} did not give an object")
        version += 1
        document["schema_version"] = version
    return document


def incomplete_reason(document: dict[str, Any]) -> str | None:
    """None for a finished run; otherwise why its file holds only some cells (for every reader to say)."""
    status = document.get("status", "complete")
    if status == "complete":
        return None
    saved = f"{len(document['cells'])} cell(s) saved"
    if status == "interrupted":
        return f"INCOMPLETE: the run was interrupted (Ctrl-C or SIGTERM); {saved} before it ended"
    return f"INCOMPLETE: the run never finished (killed, crashed, or still running); {saved} so far"


def find_results(paths: list[Path]) -> list[Path]:
    """Result files named directly, plus every ``*.json`` below named folders, oldest first by name."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.json") if not p.name.startswith(".")))
        else:
            found.append(path)
    return found


def is_demonstration(cell: dict[str, Any]) -> bool:
    """A demonstration (``unsync``: what goes wrong without synchronisation), not a speed measurement."""
    return cell.get("unsync") is not None


def iter_ok_cells(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The measured cells with speed figures: demonstrations are left to ``iter_demonstrations``."""
    return (c for c in document["cells"] if c["status"] == "ok" and not is_demonstration(c))


def iter_demonstrations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return (c for c in document["cells"] if c["status"] == "ok" and is_demonstration(c))
