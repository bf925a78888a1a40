"""Mechanisms from other packages: a distribution that declares a ``Transport`` subclass in the
``ipcbench.transports`` entry point group is listed with its name and version, measured under the same
payload contract, and recorded in the result file; a broken one (its import fails, it is not a
``Transport``, its name is taken by a built-in) is listed as unavailable with the error and breaks nothing.

The plugins are real installed distributions: a module and its ``.dist-info`` folder on ``PYTHONPATH``, as
``pip install --target`` would leave them, seen by a fresh ``python -m ipcbench``."""

from __future__ import annotations

from pathlib import Path

from ipcbench import store
from tests.conftest import ROOT, run_cli


def readme_example() -> str:
    """The complete plugin the README shows, taken from the README itself so the two cannot drift."""
    text = (ROOT / "README.md").read_text()
    start = text.index("# my_package/socketpair.py")
    return text[start : text.index("```", start)]


SOCKETPAIR = readme_example()


def install(
    site: Path, distribution: str, version: str, module: str, code: str, points: dict[str, str]
) -> None:
    """A distribution as an installer leaves it: the module, and its metadata with the entry points."""
    (site / f"{module}.py").write_text(code)
    info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"  # as wheels name it
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{module}\n")
    lines = "".join(f"{name} = {target}\n" for name, target in points.items())
    (info / "entry_points.txt").write_text(f"[ipcbench.transports]\n{lines}")


def plugin_site(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    install(site, "ipcbench-socketpair", "1.2.3", "ipcbench_socketpair", SOCKETPAIR,
            {"socketpair": "ipcbench_socketpair:SocketpairTransport"})  # fmt: skip
    install(site, "broken-import", "0.1", "broken_import", "raise ImportError('libfoo.so missing')\n",
            {"broken": "broken_import:Transport"})  # fmt: skip
    install(site, "not-a-transport", "0.1", "not_a_transport", "Thing = object\n",
            {"thing": "not_a_transport:Thing"})  # fmt: skip
    install(site, "clash", "0.1", "clash", SOCKETPAIR.replace('name = "socketpair"', 'name = "pipe"'),
            {"pipe": "clash:SocketpairTransport"})  # fmt: skip
    return {"PYTHONPATH": str(site), "COLUMNS": "500"}


def rows(listing: str) -> dict[str, str]:
    """``ipcbench list``'s mechanism rows by their first column, each column's wrapped lines joined again
    (a name listed twice, as in a clash, gets both rows, separated by ``||``)."""
    table: list[list[str]] = []
    for line in listing.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0]:
            table.append(cells)
        elif cells and table:
            table[-1] = [f"{old} {new}".strip() for old, new in zip(table[-1], cells, strict=False)]
    found: dict[str, str] = {}
    for cells in table:
        found[cells[0]] = found.get(cells[0], "") + "|| " + " | ".join(cells) + " |"
    return found


def test_a_plugin_is_listed_measured_and_recorded_and_broken_ones_break_nothing(tmp_path: Path) -> None:
    env = plugin_site(tmp_path)
    listed = run_cli("list", env=env)
    assert listed.returncode == 0, listed.stderr
    found = rows(listed.stdout)
    assert "| yes |" in found["socketpair"] and "ipcbench-socketpair 1.2.3" in found["socketpair"]
    assert "library" in found["socketpair"]
    assert "no: cannot load" in found["broken"] and "libfoo.so missing" in found["broken"]
    assert "broken-import 0.1" in found["broken"]  # the distribution at fault is named
    assert "not a Transport" in found["thing"]
    assert "taken by" in found["pipe"] and "| yes |" in found["pipe"]  # the built-in keeps its name
    assert "| yes |" in found["posix-shm/sem"]

    output = tmp_path / "out"
    result = run_cli(
        "run", "--transports", "socketpair,pipe,broken", "--sizes", "16,4109", "--repeats", "2",
        "--budget", "0.005", "--output", str(output), "--quiet", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = store.load(next(output.glob("*/*.json")))
    status = {(c["transport"], c["workload"], c["size"]): c["status"] for c in document["cells"]}
    assert all(status[("socketpair", w, s)] == "ok" for w in ("pingpong", "stream") for s in (16, 4109))
    assert all(status[("pipe", w, s)] == "ok" for w in ("pingpong", "stream") for s in (16, 4109))
    assert {v for (name, _, _), v in status.items() if name == "broken"} == {"skipped"}
    recorded = document["config"]["mechanisms"]["socketpair"]
    assert (recorded["distribution"], recorded["version"], recorded["layer"]) == (
        "ipcbench-socketpair",
        "1.2.3",
        "library",
    )
