"""Result files written by every schema version still load (asv's ``test_backward_compat_load``).

``tests/golden/result-v<N>-*.json`` are real files, kept as written: a quick run of two real mechanisms, a
run with a failed cell (an injected crash), and a mock run with skipped cells; from version 2 on, both
tiers (``impl``). Version-1 files are upgraded by the real migrator (their cells become ``impl: python``);
a migrator meeting a malformed file is exercised with a synthetic version 3.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ipcbench import cli, store
from ipcbench.errors import ResultFileError

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
OURS = sorted(GOLDEN.glob("result-v*-*.json"))


def version_of(path: Path) -> int:
    match = re.match(r"result-v(\d+)-", path.name)
    assert match, path
    return int(match.group(1))


def test_every_schema_version_has_golden_files() -> None:
    assert {version_of(path) for path in OURS} == set(range(1, store.SCHEMA_VERSION + 1))


@pytest.mark.parametrize("path", OURS, ids=lambda path: path.name)
def test_golden_files_load_and_show(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = store.load(path)
    assert document["schema_version"] == store.SCHEMA_VERSION
    assert json.loads(path.read_text())["schema_version"] == version_of(path)
    assert document["cells"] and store.incomplete_reason(document) is None
    assert cli.main(["show", str(path)]) == 0
    assert "golden" in capsys.readouterr().out


def test_golden_files_cover_every_cell_status() -> None:
    statuses = {cell["status"] for path in OURS for cell in store.load(path)["cells"]}
    assert statuses == set(store.CELL_STATUSES)


def _to_v3(document: dict[str, Any]) -> dict[str, Any]:
    """A made-up version 3: ``label`` moves into ``config``."""
    document = dict(document)
    document["config"] = {**document["config"], "label": document.pop("label")}
    return document


@pytest.mark.parametrize("path", [p for p in OURS if version_of(p) == 1], ids=lambda path: path.name)
def test_a_schema_1_file_is_read_as_the_python_tier(path: Path) -> None:
    document = store.load(path)
    assert document["schema_version"] == 2
    assert {cell["impl"] for cell in document["cells"]} == {"python"}
    assert document["config"]["impls"] == ["python"]


def test_an_older_file_is_upgraded_by_every_migrator_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(store, "MIGRATIONS", {**store.MIGRATIONS, 2: _to_v3})
    document = store.load(GOLDEN / "result-v1-mock.json")
    assert document["schema_version"] == 3
    assert "label" not in document and document["config"]["label"] == "golden-mock"
    assert {cell["impl"] for cell in document["cells"]} == {"python"}


def test_a_migrator_that_meets_a_malformed_file_gives_a_result_file_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(store, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(store, "MIGRATIONS", {**store.MIGRATIONS, 2: _to_v3})
    broken = json.loads((GOLDEN / "result-v1-mock.json").read_text())
    del broken["label"]  # optional in version 1, but this migrator needs it
    path = tmp_path / "old.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(ResultFileError, match=r"cannot upgrade from schema_version 2: KeyError"):
        store.load(path)


def test_a_newer_file_is_refused_by_its_version(tmp_path: Path) -> None:
    newer = json.loads((GOLDEN / "result-v1-real.json").read_text())
    newer["schema_version"] = store.SCHEMA_VERSION + 1
    path = tmp_path / "new.json"
    path.write_text(json.dumps(newer))
    with pytest.raises(ResultFileError, match=rf"schema_version {store.SCHEMA_VERSION + 1} is newer"):
        store.load(path)
