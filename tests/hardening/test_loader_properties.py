"""Property: whatever a result file contains, the loader returns a document every reader can use, or raises
``ResultFileError`` (the one documented error) - never any other exception, and never a document that
makes ``show`` crash.

Inputs are mutations of the golden files: a key deleted, a value replaced by any JSON value (NaN,
infinities, huge and negative numbers, bools, strings, nested lists and objects), a figure made absurd,
or the text cut short.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from ipcbench import store
from ipcbench.console import header_lines, result_table
from ipcbench.errors import ResultFileError

GOLDEN = sorted((Path(__file__).resolve().parent.parent / "golden").glob("result-v*-*.json"))
BASES = [json.loads(path.read_text()) for path in GOLDEN]
Path_ = tuple[str | int, ...]
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=8,
)
absurd_numbers = st.sampled_from([float("nan"), float("inf"), float("-inf"), -1, -1e-9, 10**400, 1e308, True])


def paths(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path to a value inside a JSON document."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(paths(child, (*prefix, index)))
    return found


def parent_of(document: Any, path: Path_) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    document = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        candidates = paths(document)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent, last = parent_of(document, path), path[-1]
        action = draw(st.sampled_from(["delete", "replace", "absurd"]))
        if action == "delete":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(json_values)
        else:
            parent[last] = draw(absurd_numbers)
    return json.dumps(document, allow_nan=True)


def check_total(text: str) -> None:
    try:
        document = store.parse(text)
    except ResultFileError as exc:
        assert "\n" not in str(exc)  # one line
        return
    assert isinstance(document, dict)
    # Accepted: then every reader's view of it must work, starting with `show`.
    out = Console(file=io.StringIO(), width=200)
    out.print(result_table(document))
    for line in header_lines(document):
        out.print(line, markup=False)
    list(store.iter_ok_cells(document))
    store.incomplete_reason(document)


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.name)
def test_the_unchanged_golden_files_are_accepted(path: Path) -> None:
    check_total(path.read_text())
    assert store.parse(path.read_text())["cells"]


@SETTINGS
@given(mutated_documents())
def test_a_mutated_file_is_accepted_whole_or_refused_cleanly(text: str) -> None:
    check_total(text)


def test_a_key_with_a_line_break_is_named_on_one_line() -> None:
    """Found by the property above: a bad figure under a key holding a line break."""
    document = json.loads(json.dumps(BASES[0]))
    document["config"]["harness_overhead_ns"] = {"\n": False}
    with pytest.raises(ResultFileError) as refused:
        store.parse(json.dumps(document))
    assert "\n" not in str(refused.value) and "harness_overhead_ns.\\x0a" in str(refused.value)


@SETTINGS
@given(st.sampled_from(GOLDEN), st.floats(min_value=0, max_value=1, exclude_max=True))
def test_a_truncated_file_is_refused_cleanly(path: Path, fraction: float) -> None:
    text = path.read_text()
    with pytest.raises(ResultFileError):
        store.parse(text[: int(len(text) * fraction)])


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_cleanly(data: bytes) -> None:
    try:
        check_total(data.decode("utf-8"))
    except UnicodeDecodeError:
        return
