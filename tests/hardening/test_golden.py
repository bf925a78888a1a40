"""Result files written by every schema version still load (asv's ``test_backward_compat_load``).

``tests/golden/result-v<N>-*.json`` are real files, kept as written: a quick run of two real mechanisms, a
run with a failed cell (an injected crash), and a mock run with skipped cells. Schema 1 is the only
version so far, so the upgrade path is exercised with a synthetic version 2 and its migrator.
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


def _to_v2(document: dict[str, Any]) -> dict[str, Any]:
    """A made-up version 2: ``label`` moves into ``config``."""
    document = dict(document)
    document["config"] = {**document["config"], "label": document.pop("label")}
    return document


def test_an_older_file_is_upgraded_by_the_migrators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(store, "MIGRATIONS", {1: _to_v2})
    document = store.load(GOLDEN / "result-v1-mock.json")
    assert document["schema_version"] == 2
    assert "label" not in document and document["config"]["label"] == "golden-mock"


def test_a_migrator_that_meets_a_malformed_file_gives_a_result_file_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(store, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(store, "MIGRATIONS", {1: _to_v2})
    broken = json.loads((GOLDEN / "result-v1-mock.json").read_text())
    del broken["label"]  # optional in version 1, but this migrator needs it
    path = tmp_path / "old.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(ResultFileError, match=r"cannot upgrade from schema_version 1: KeyError"):
        store.load(path)


def test_a_newer_file_is_refused_by_its_version(tmp_path: Path) -> None:
    newer = json.loads((GOLDEN / "result-v1-real.json").read_text())
    newer["schema_version"] = store.SCHEMA_VERSION + 1
    path = tmp_path / "new.json"
    path.write_text(json.dumps(newer))
    with pytest.raises(ResultFileError, match=rf"schema_version {store.SCHEMA_VERSION + 1} is newer"):
        store.load(path)
