"""Two runs at once (parallel CI jobs on one machine): no name or key collides, each removes only its own
objects, and both result files are valid, even when both runs ask for the same file name."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from ipcbench import store
from ipcbench.plan import build_options
from ipcbench.runner import Runner
from tests.hardening.helpers import new_marker, start_run
from tests.seams import MOCK_REGISTRY

DOCUMENT = {
    "schema_version": 1,
    "ipcbench_version": "0",
    "created": "2026-11-26T14:00:00Z",
    "label": None,
    "status": "running",
    "machine": {"name": "box"},
    "config": {},
    "cells": [],
}


def test_racing_creators_of_one_name_all_get_their_own_file(tmp_path: Path) -> None:
    wanted = tmp_path / "box" / "20261126T140000Z-ci.json"
    barrier = threading.Barrier(8)
    claimed: list[Path] = []

    def claim(index: int) -> None:
        barrier.wait()
        claimed.append(store.create({**DOCUMENT, "label": str(index)}, wanted))

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(claimed)) == 8 and wanted in claimed
    assert {path.name for path in claimed} == {wanted.name} | {f"{wanted.stem}-{n}.json" for n in range(2, 9)}
    labels = {store.load(path)["label"] for path in claimed}  # each file whole, and nobody's overwritten
    assert labels == {str(index) for index in range(8)}
    assert sorted(wanted.parent.iterdir()) == sorted(claimed)  # and no temporary file left


def test_a_run_never_overwrites_a_file_of_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = tmp_path / "box" / "20261126T140000Z-ci.json"
    monkeypatch.setattr(store, "result_path", lambda *args, **kwargs: fixed)
    options = build_options(
        profile="quick",
        transports="mock/fast",
        sizes="64",
        workloads="pingpong",
        repeats=1,
        budget_s=0.001,
        output=tmp_path,
        label="ci",
        registry=MOCK_REGISTRY,
    )
    _, first = Runner(options, registry=MOCK_REGISTRY).run()
    _, second = Runner(options, registry=MOCK_REGISTRY).run()
    assert (first, second) == (fixed, fixed.with_name("20261126T140000Z-ci-2.json"))
    assert store.load(first)["run_id"] != store.load(second)["run_id"]


@pytest.mark.slow
def test_two_runs_at_once_share_nothing(tmp_path: Path, state_dir: Path) -> None:
    same = (
        "--transports",
        "sysv-shm/sem,posix-shm/sem,posix-mq,fifo",
        "--sizes",
        "64",
        "--workloads",
        "pingpong",
        "--profile",
        "quick",
        "--repeats",
        "2",
        "--impl",
        "python",
        "--label",
        "ci",
        "--machine-name",
        "box",
    )
    runs = [start_run(*same, output=tmp_path, marker=new_marker()) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    paths = [Path(out.strip().splitlines()[-1].removeprefix("results: ")) for out, _ in outputs]
    assert paths[0] != paths[1] and all(path.parent == tmp_path / "box" for path in paths)
    for path in paths:
        document = store.load(path)
        assert document["status"] == "complete"
        assert [cell["status"] for cell in document["cells"]] == ["ok"] * 4, json.dumps(document["cells"])
        assert document["objects_cleaned_at_start"] == []  # neither took the other's objects for orphans
    assert not list(state_dir.glob("*.ledger"))
