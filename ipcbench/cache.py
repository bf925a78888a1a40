"""Per-file summaries of result files, and a disposable cache of them beside the results.

A long history (a file per night for months) is read far more often than it is written, and every reader
after the first needs only a summary of each file: its run columns and one flat row per cell (the rows of
``ipcbench.load``), not its histograms or load snapshots. Parsing and validating a default-profile file
costs tens of milliseconds, reading its cached summary well under one.

The cache is a SQLite file, ``.ipcbench-cache.sqlite3``, in each *folder* a command is given (files named
one by one are never cached). The JSON result files stay the truth: an entry is keyed by the file's path,
size, modification time and content digest (BLAKE2b). While size and modification time match, the entry
is used; when they differ, the file is read and hashed, and the entry is kept only if the digest still
matches (a copy, a ``touch``), else rebuilt from the file. A cache that is missing, corrupt, of another
format or ipcbench version, or locked is passed over silently and rebuilt when the folder is writable; a
read-only folder is read but never written. ``IPCBENCH_CACHE=0`` turns the cache off. The cache also
keeps what was worked out from the files (``Memo``: the change points of ``history``'s series), under keys
that name everything it depends on; only what the last reader used is kept.

Summaries are made from files validated like every result file, except that histograms are not decoded
(no summary reads them): a damaged histogram is reported by the commands that draw it.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import itertools
import json
import multiprocessing
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ipcbench import __version__, store
from ipcbench.errors import ResultFileError

CACHE_NAME = ".ipcbench-cache.sqlite3"
# An entry is "HEAD\nTABLE"; readers that need no table read the head alone, this many bytes at a time.
HEAD_READ = 64 * 1024
PARALLEL_FROM = 32  # files to summarise before it pays to start worker processes
# Bump when the summary's shape changes; a cache of another format is dropped and rebuilt.
# 3: heads carry the cell's --tune setting; 5: written by orjson, the table column by column; 6: the run
# columns carry the CPU idle policy.
FORMAT = f"6/{__version__}"


# What history and the report's Trends read of each cell: small enough to decode a thousand files at once.
# The first six are the cell's identity, in this order (``history.build`` unpacks them).
HEAD_COLUMNS = (
    "transport",
    "variant",
    "tune",
    "impl",
    "workload",
    "size",
    "status",
    "unstable",
    "p50_ns",
    "p50_ci_low_ns",
    "p50_ci_high_ns",
    "bytes_per_s",
    "bytes_per_s_ci_low",
    "bytes_per_s_ci_high",
)


@contextmanager
def bulk() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a reader builds hundreds of thousands of small
    objects (the rows of a thousand files): every few thousand new objects it walks the ones alive, and
    its full passes over a growing heap took half the time of ``load`` and of ``history`` (measured over
    1,000 files: ``load`` 7.7 -> 3.9 s CPU). Nothing built there forms a cycle; it runs again afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class Summary:
    """What every multi-file reader needs from one result file. The full cell rows are kept as JSON text
    and decoded only by the reader that wants them (``ipcbench.load``)."""

    path: Path  # as given (a member of a named folder: folder / relative path)
    run: dict[str, Any]  # run and machine columns of ``ipcbench.load`` (without ``file``)
    heads: list[list[Any]]  # per cell, the HEAD_COLUMNS
    # Every cell column of ``ipcbench.load``, column by column (see ``_table``; None: not read from the cache)
    table_text: str | None = field(repr=False)

    @property
    def created(self) -> str:
        return str(self.run["created"])

    @property
    def machine(self) -> str:
        return str(self.run["machine"])

    def head_dicts(self) -> Iterator[dict[str, Any]]:
        return (dict(zip(HEAD_COLUMNS, head, strict=True)) for head in self.heads)

    def table(self) -> dict[str, list[Any] | np.ndarray]:
        """Every cell column of ``ipcbench.load`` (figures as float64 arrays, NaN where missing)."""
        if self.table_text is None:
            raise ValueError(f"{self.path}: summary read without its table (summaries(..., tables=True))")
        try:
            return _columns(_loads(self.table_text))
        except (ValueError, KeyError, TypeError, AttributeError):  # binascii.Error is a ValueError
            # A damaged entry whose head was intact: the file is the truth.
            return _columns(_loads(summarize(store.load(self.path), self.path).table_text or ""))

    @property
    def cells(self) -> list[dict[str, Any]]:
        table = self.table()
        rows = zip(*(list(column) for column in table.values()), strict=True)
        return [dict(zip(table, row, strict=True)) for row in rows]


def summarize(document: dict[str, Any], path: Path) -> Summary:
    from ipcbench.frames import cell_columns, run_columns

    cells = [cell_columns(cell) for cell in document["cells"]]
    heads = [[_known(cell[name]) for name in HEAD_COLUMNS] for cell in cells]
    return Summary(path, run_columns(document), heads, store.encode_json(_table(cells)))


def _table(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """The cell rows column by column; the figures as little-endian float64 bytes in base64, which read
    back into arrays at once (a thousand files hold hundreds of thousands of rows: as JSON numbers, each
    would become a Python float first)."""
    from ipcbench.frames import FIGURE_COLUMNS

    names = list(cells[0]) if cells else []
    columns = {name: [cell[name] for cell in cells] for name in names}
    floats = {
        name: base64.b64encode(np.asarray(columns.pop(name), dtype="<f8").tobytes()).decode()
        for name in names
        if name in FIGURE_COLUMNS
    }
    return {"names": names, "lists": columns, "floats": floats}


def _columns(table: dict[str, Any]) -> dict[str, list[Any] | np.ndarray]:
    columns: dict[str, list[Any] | np.ndarray] = {}
    for name in table["names"]:
        encoded = table["floats"].get(name)
        columns[name] = table["lists"][name] if encoded is None else _floats(encoded)
    return columns


def _floats(encoded: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(encoded), dtype="<f8")


def _loads(text: str) -> Any:
    """What ``store.encode_json`` wrote."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # written by ``json`` (see ``store.encode_json``), or damaged: ValueError


def _known(value: Any) -> Any:
    """A head value as it reads back from the cache: a missing figure (NaN) is None."""
    return None if isinstance(value, float) and value != value else value


@bulk()
def summaries(paths: Iterable[Path | str], tables: bool = False) -> list[Summary]:
    """Summaries of result files named directly and of every result file below named folders, oldest
    first (by created time, then path); with ``tables``, every cell column too (``Summary.table``).
    Raises ``ResultFileError`` like ``frames.collect``."""
    found: list[Summary] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ResultFileError(f"{path}: no such file or folder")
        if path.is_dir():
            members = _folder(path, tables)
            if not members:
                raise ResultFileError(f"{path}: no result files in this folder")
            found.extend(members)
        else:
            found.append(summarize(store.load(path), path))
    unique = {
        summary.path.resolve(): summary for summary in reversed(found)
    }  # a file named twice counts once
    return sorted(unique.values(), key=lambda summary: (summary.created, str(summary.path)))


def _folder(folder: Path, tables: bool) -> list[Summary]:
    files = [(file, file.relative_to(folder).as_posix()) for file in store.find_results([folder])]
    with _Cache.open(folder, tables) as cache:
        found = cache.summaries(files)
    return [summary for summary in found if summary is not None]


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def _parse_member(data: bytes, file: Path) -> dict[str, Any] | None:
    """A folder member as a result document, or None when it is some other JSON file living there."""
    if len(data) > store.MAX_FILE_BYTES:
        store.load(file)  # raises the one-line error about the size
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        store.load(file)  # raises the one-line error
        raise
    document = store.decode_json(text, str(file))
    if not isinstance(document, dict) or "schema_version" not in document:
        return None  # a list (a github-action-benchmark export) or another object: not ours, as in frames
    return store.accept(document, str(file), decode_histograms=False)


class _Cache:
    """One folder's cache: reads entries, collects new ones, writes them in one transaction at the end."""

    def __init__(self, folder: Path, connection: sqlite3.Connection | None, tables: bool) -> None:
        self.folder = folder
        self.connection = connection
        self.tables = tables  # whether entries are read whole (else their head only: far less to decode)
        self.entries: dict[str, tuple[int, int, str, str]] = {}
        self.fresh: list[tuple[str, int, int, str, str]] = []
        self.touched: list[tuple[int, int, str]] = []  # (size, mtime_ns, path): same content, new time

    @classmethod
    def open(cls, folder: Path, tables: bool) -> _CacheContext:
        return _CacheContext(cls(folder, _connect(folder), tables))

    def load_entries(self) -> None:
        if self.connection is None:
            return
        try:
            if self.tables:
                rows = self.connection.execute("SELECT path, size, mtime_ns, digest, summary FROM entries")
                self.entries = {path: (size, mtime, digest, text) for path, size, mtime, digest, text in rows}
            else:
                self.entries = _heads(self.connection)
        except sqlite3.Error:
            self.entries = {}

    def summaries(self, files: list[tuple[Path, str]]) -> list[Summary | None]:
        """Each (file, key)'s summary (None: not a result file), from the cache where it is fresh."""
        found: dict[str, Summary | None] = {}
        pending = []
        for file, key in files:
            info = file.stat()
            entry = self.entries.get(key)
            if entry is not None and entry[:2] == (info.st_size, info.st_mtime_ns):
                intact, cached = _decode(entry[3], file)
                if intact:
                    found[key] = cached
                    continue
            if entry is not None:  # the same content under a new time (a copy, a touch) keeps its entry
                digest = _digest(_read(file))
                intact, cached = _decode(entry[3], file)
                if intact and entry[2] == digest:
                    self.touched.append((info.st_size, info.st_mtime_ns, key))
                    found[key] = cached
                    continue
            pending.append((file, key, info))
        built = _build_all([file for file, _, _ in pending])
        for (file, key, info), (digest, text) in zip(pending, built, strict=True):
            self.fresh.append((key, info.st_size, info.st_mtime_ns, digest, text))
            found[key] = _decode(text, file)[1]
        return [found[key] for _, key in files]

    def save(self) -> None:
        if self.connection is None or not (self.fresh or self.touched):
            return
        with suppress(sqlite3.Error):
            with self.connection:
                self.connection.executemany(
                    "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", self.fresh
                )
                self.connection.executemany(
                    "UPDATE entries SET size = ?, mtime_ns = ? WHERE path = ?", self.touched
                )


def _heads(connection: sqlite3.Connection) -> dict[str, tuple[int, int, str, str]]:
    """Every entry with the head of its summary only: its text read from the start to the end of the first
    line (SQLite's incremental I/O), not whole (a default file's table is several times its head; cutting
    it off in SQL read it whole). An entry that cannot be read so is left out: rebuilt from its file."""
    entries = {}
    rows = connection.execute("SELECT rowid, path, size, mtime_ns, digest FROM entries").fetchall()
    for rowid, path, size, mtime, digest in rows:
        try:
            with connection.blobopen("entries", "summary", rowid, readonly=True) as blob:
                data = blob.read(HEAD_READ)
                while b"\n" not in data and (more := blob.read(HEAD_READ)):
                    data += more
        except sqlite3.Error:
            continue
        head = data.partition(b"\n")[0].decode("utf-8", errors="replace")  # damaged: rebuilt by _decode
        entries[path] = (size, mtime, digest, head)
    return entries


class _CacheContext:
    def __init__(self, cache: _Cache) -> None:
        self.cache = cache

    def __enter__(self) -> _Cache:
        self.cache.load_entries()
        return self.cache

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.cache.save()
        if self.cache.connection is not None:
            self.cache.connection.close()


@bulk()
def _build(file: Path) -> tuple[str, str]:
    """A file's digest and its encoded summary (``"null"``: not a result file)."""
    data = _read(file)
    document = _parse_member(data, file)
    return _digest(data), _encode(None if document is None else summarize(document, file))


def _build_all(files: list[Path]) -> list[tuple[str, str]]:
    """``_build`` over many files, on every core when there are enough to pay for the processes (parsing
    and validating a default-profile file costs tens of milliseconds, all of it in Python)."""
    cores = len(os.sched_getaffinity(0))
    if len(files) < PARALLEL_FROM or cores < 2:
        return [_build(file) for file in files]
    context = multiprocessing.get_context("fork")  # the workers need nothing but what is loaded here
    with ProcessPoolExecutor(max_workers=min(cores, 4), mp_context=context) as pool:
        return list(pool.map(_build, files, chunksize=8))


def _read(file: Path) -> bytes:
    try:
        with file.open("rb") as source:
            return source.read(store.MAX_FILE_BYTES + 1)
    except OSError:
        store.load(file)  # raises the one-line ResultFileError that says why
        raise


def _encode(summary: Summary | None) -> str:
    if summary is None:
        return "null"
    head = store.encode_json({"run": summary.run, "heads": summary.heads})
    return f"{head}\n{summary.table_text}"  # compact JSON text never holds a raw newline


def _decode(text: str, file: Path) -> tuple[bool, Summary | None]:
    """(intact, summary): the cached summary, None for a cached "not a result file"; not intact when the
    entry is damaged (then the file is read again). Only the head is decoded here."""
    if text == "null":
        return True, None
    if not isinstance(text, str):  # an entry that is not text at all (NULL, a number)
        return False, None
    head_text, _, table_text = text.partition("\n")
    try:
        head = _loads(head_text)
        run, heads = head["run"], head["heads"]
        if isinstance(run, dict) and isinstance(heads, list) and isinstance(run.get("created"), str):
            # Every row a list of the head's length (tested in C: a thousand files hold ~300,000 rows).
            if set(map(type, heads)) <= {list} and set(map(len, heads)) <= {len(HEAD_COLUMNS)}:
                return True, Summary(file, run, heads, table_text or None)
    except (ValueError, TypeError, KeyError, RecursionError):
        pass
    return False, None


def _connect(folder: Path) -> sqlite3.Connection | None:
    """The folder's cache, created or rebuilt if need be; None when there is none to use."""
    if os.environ.get("IPCBENCH_CACHE", "1") == "0":
        return None
    path = folder / CACHE_NAME
    writable = os.access(folder, os.W_OK)
    if not writable and not path.exists():
        return None
    for _ in range(2):
        connection = _try_connect(path, writable)
        if connection is not None or not writable:
            return connection
        with suppress(OSError):
            path.unlink()  # corrupt or of another format: start afresh
    return None


def _try_connect(path: Path, writable: bool) -> sqlite3.Connection | None:
    uri = f"{path.resolve().as_uri()}?mode={'rwc' if writable else 'ro'}"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=2.0)
    except sqlite3.Error:
        return None
    try:
        if writable:
            _create_tables(connection)
        rows = connection.execute("SELECT value FROM meta WHERE key = 'format'").fetchall()
        if rows == [(FORMAT,)]:
            return connection
    except sqlite3.Error:
        pass
    connection.close()
    return None


def _create_tables(connection: sqlite3.Connection) -> None:
    with connection:
        connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS entries (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
            "digest TEXT, summary TEXT)"
        )
        connection.execute("CREATE TABLE IF NOT EXISTS detections (key TEXT PRIMARY KEY, changes TEXT)")
        connection.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (FORMAT,))


class Memo:
    """Results worked out from the files of the folders given, kept in their caches by a key that says
    everything they depend on (``history`` keeps each series' change points by the series' content and
    the settings). Never required: a folder without a usable cache, read-only or broken, remembers
    nothing, and the results are worked out again."""

    def __init__(self, paths: Iterable[Path | str]) -> None:
        self.folders = [Path(path) for path in paths if Path(path).is_dir()]

    def recall(self) -> dict[str, str]:
        """Every result kept (key -> its text)."""
        kept: dict[str, str] = {}
        self._each(lambda connection: kept.update(connection.execute("SELECT key, changes FROM detections")))
        return kept

    def keep(self, results: dict[str, str]) -> None:
        """``results`` kept in place of what was kept (only what the last reader used stays)."""

        def replace(connection: sqlite3.Connection) -> None:
            with connection:
                connection.execute("DELETE FROM detections")
                connection.executemany("INSERT INTO detections VALUES (?, ?)", results.items())

        self._each(replace)

    def _each(self, use: Callable[[sqlite3.Connection], object]) -> None:
        """``use`` on each folder's usable cache, closed after; an SQLite error passes that folder over."""
        for folder in self.folders:
            connection = _connect(folder)
            if connection is None:
                continue
            try:
                with suppress(sqlite3.Error):
                    use(connection)
            finally:
                connection.close()


@bulk()
def frame_columns(found: list[Summary]) -> dict[str, list[Any] | np.ndarray]:
    """``ipcbench.load``'s columns: run columns (with ``file``) repeated on each cell's row, and the cell
    columns, built column by column (a row dict per cell costs seconds over a thousand files): figures as
    float64 arrays, the others as lists."""
    chunks: dict[str, list[Any]] = {}
    for summary in found:
        table = summary.table()
        count = len(next(iter(table.values()), []))
        for name, value in {"file": str(summary.path), **summary.run}.items():
            chunks.setdefault(name, []).append([value] * count)
        for name, column in table.items():
            chunks.setdefault(name, []).append(column)
    return {
        name: np.concatenate(parts) if isinstance(parts[0], np.ndarray) else list(itertools.chain(*parts))
        for name, parts in chunks.items()
    }
