"""The summary cache beside result folders: used when fresh, rebuilt when stale or corrupt, never needed."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from ipcbench import cache, store
from ipcbench.cache import CACHE_NAME, summaries
from tests.compare_docs import document, grid, write


def folder_of_two(folder: Path) -> Path:
    write(document(grid(), created="2026-11-20T10:00:00Z"), folder / "m1" / "a.json")
    write(document(grid(base_ns=20_000.0), created="2026-11-21T10:00:00Z"), folder / "m1" / "b.json")
    (folder / "pytest-benchmark.json").write_text(json.dumps({"benchmarks": []}))  # not ours: passed over
    return folder


def p50s(folder: Path) -> list[float]:
    return [next(s.head_dicts())["p50_ns"] for s in summaries([folder])]


def test_the_second_read_comes_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = folder_of_two(tmp_path)
    assert p50s(folder) == [10_000.0, 20_000.0]
    assert (folder / CACHE_NAME).exists()
    monkeypatch.setattr(store, "accept", lambda *args, **kwargs: pytest.fail("parsed a cached file"))
    assert p50s(folder) == [10_000.0, 20_000.0]
    whole = summaries([folder], tables=True)  # every cell column, for ipcbench.load
    assert [s.cells[0]["p50_ns"] for s in whole] == [10_000.0, 20_000.0]
    assert len(whole[0].cells[0]) > 30


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    folder = folder_of_two(tmp_path)
    p50s(folder)
    write(document(grid(base_ns=30_000.0), created="2026-11-21T10:00:00Z"), folder / "m1" / "b.json")
    assert p50s(folder) == [10_000.0, 30_000.0]


def test_a_touched_file_keeps_its_entry_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = folder_of_two(tmp_path)
    p50s(folder)
    os.utime(folder / "m1" / "a.json", ns=(1, 1))
    monkeypatch.setattr(store, "accept", lambda *args, **kwargs: pytest.fail("parsed an unchanged file"))
    assert p50s(folder) == [10_000.0, 20_000.0]


@pytest.mark.parametrize(
    "damage",
    ["'{\"run\": 1'", "NULL", "42", "x'ff00fe0a7b7d'", '\'{"run": {}, "heads": [[1]]}\''],
    ids=["cut", "null", "number", "not-utf8", "short-row"],
)
def test_a_corrupt_entry_is_rebuilt(tmp_path: Path, damage: str) -> None:
    folder = folder_of_two(tmp_path)
    p50s(folder)
    with sqlite3.connect(folder / CACHE_NAME) as connection:
        connection.execute(f"UPDATE entries SET summary = {damage}")
    assert p50s(folder) == [10_000.0, 20_000.0]
    with sqlite3.connect(folder / CACHE_NAME) as connection:
        texts = [row[0] for row in connection.execute("SELECT summary FROM entries")]
    assert len(texts) == 3  # two results, and the file that is not one
    assert all(cache._decode(text, folder)[0] for text in texts)  # every entry whole again


def test_a_stale_entry_is_rebuilt(tmp_path: Path) -> None:
    """An entry whose size and time match but whose summary is of another file's content."""
    folder = folder_of_two(tmp_path)
    p50s(folder)
    with sqlite3.connect(folder / CACHE_NAME) as connection:
        connection.execute("UPDATE entries SET mtime_ns = 0, digest = 'stale'")
    write(document(grid(base_ns=40_000.0), created="2026-11-20T10:00:00Z"), folder / "m1" / "a.json")
    assert p50s(folder) == [40_000.0, 20_000.0]


@pytest.mark.parametrize("garbage", [b"not a database at all", b"SQLite format 3\x00" + b"\xff" * 200])
def test_a_corrupt_cache_file_is_replaced(tmp_path: Path, garbage: bytes) -> None:
    folder = folder_of_two(tmp_path)
    (folder / CACHE_NAME).write_bytes(garbage)
    assert p50s(folder) == [10_000.0, 20_000.0]
    assert p50s(folder) == [10_000.0, 20_000.0]


def test_no_cache_is_never_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = folder_of_two(tmp_path)
    monkeypatch.setenv("IPCBENCH_CACHE", "0")
    assert p50s(folder) == [10_000.0, 20_000.0]
    assert not (folder / CACHE_NAME).exists()


def test_a_read_only_folder_is_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = folder_of_two(tmp_path)
    monkeypatch.setattr(cache.os, "access", lambda path, mode: False)
    assert p50s(folder) == [10_000.0, 20_000.0]
    assert not (folder / CACHE_NAME).exists()


def test_a_broken_file_is_still_an_error_and_never_cached(tmp_path: Path) -> None:
    folder = folder_of_two(tmp_path)
    (folder / "m1" / "c.json").write_text('{"schema_version": 1, "cells": [')
    with pytest.raises(store.ResultFileError, match=r"c\.json: not valid JSON"):
        summaries([folder])
    with pytest.raises(store.ResultFileError, match=r"c\.json"):
        summaries([folder])


def test_many_files_are_summarised_by_worker_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = folder_of_two(tmp_path)
    monkeypatch.setattr(cache, "PARALLEL_FROM", 1)
    assert p50s(folder) == [10_000.0, 20_000.0]
    (folder / "m1" / "c.json").write_text("[1, 2")
    with pytest.raises(store.ResultFileError, match=r"c\.json: not valid JSON"):
        summaries([folder])
