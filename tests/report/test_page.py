"""The report page from hand-made runs: every section, escaping, partial files, several runs and machines."""

from __future__ import annotations

import re

import pytest
from report_docs import around, document, full_run, pingpong, run_of, skipped, small_run, stream

from ipcbench.report.page import render
from ipcbench.report.runs import Run

SECTIONS = ("verdicts", "latency", "throughput", "distributions", "relative", "sync", "problems", "method")
HOSTILE = "<script>alert(1)</script>"


def svgs(html: str) -> int:
    return len(re.findall(r"<svg\b", html))


@pytest.fixture(scope="module")
def one_run() -> str:
    """The page for one run of every mechanism at three sizes (rendered once: figures take a while)."""
    return render([run_of(full_run())])


def test_one_run_has_every_section_and_figure(one_run: str) -> None:
    html = one_run
    for section in SECTIONS:
        assert f'id="{section}"' in html
    assert 'id="comparison"' not in html
    assert svgs(html) == 6
    assert html.count('class="claim"') == 4
    assert "holds for every case decided" in html
    assert "sysctl -w kernel.msgmax=1048576" in html  # the remedy of a skipped cell
    assert "<script" not in html


def test_strings_from_result_files_are_escaped() -> None:
    doc = small_run(label=HOSTILE, machine="<img src=x onerror=alert(2)>")
    other = small_run(machine="$x^2$ _hidden", created="2026-02-01T00:00:00Z")
    other["config"]["profile"] = "<b>bold</b>"  # the newest run is the one whose method is shown
    html = render([run_of(doc), run_of(other)])
    assert "<script" not in html and "<img" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_the_figures_have_titles_labelled_axes_and_legends(one_run: str) -> None:
    html = one_run
    for text in (
        "Round-trip latency by message size",
        "round-trip time (log scale)",
        "message size (bytes",
        "throughput (bytes/s",
        "messages per second",
        "percentile (%",
        "Speed-up over pipe",
        "CPUs kept busy",
        "mechanism",
    ):
        assert text in html, text


def test_a_partial_run_is_reported_and_flagged() -> None:
    doc = document([pingpong("pipe", 64, [1000, 1010, 990])], status="interrupted")
    html = render([run_of(doc)])
    assert "Partial result file" in html and "<code>interrupted</code>" in html
    assert "not tested" in html


def test_several_runs_of_one_machine_are_compared_over_time() -> None:
    runs = [run_of(small_run(created=f"2026-0{m}-01T00:00:00Z"), f"run{m}.json") for m in (1, 2, 3)]
    html = render(runs)
    assert 'id="comparison"' in html
    assert "2 runs side by side: the first and the newest run of this machine" in html
    assert "All 3 result files" in html  # the list of every file, folded
    assert 'id="trends"' in html and "box: 3 files" in html
    assert svgs(html) == 6 + 3 + 2  # one run, the comparison, the trends of round trip and stream
    assert html.count('class="result"') == 4  # one machine: one verdict per claim


@pytest.mark.parametrize(
    "dates",
    [
        ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"),  # two hours
        ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-04T00:00:00Z"),  # three days
        ("2024-01-01T00:00:00Z", "2025-03-01T00:00:00Z", "2026-09-27T00:00:00Z"),  # a thousand days
    ],
)
def test_trends_get_date_ticks_at_any_span(dates: tuple[str, ...]) -> None:
    """One time axis shared by the panels, its ticks chosen once (matplotlib warns, an error here, where
    its date locator finds no interval)."""
    runs = [run_of(small_run(created=created), f"run{i}.json") for i, created in enumerate(dates)]
    html = render(runs)
    trend = html[html.index('id="trends"') :]
    assert svgs(trend) == 2


def test_several_machines_get_a_verdict_each_and_a_ratio_table() -> None:
    fast = small_run(machine="fast", created="2026-01-01T00:00:00Z")
    slow = document(
        [pingpong("pipe", 64, around(20_000)), pingpong("posix-shm/spin", 64, around(4_000))],
        machine="slow",
        created="2026-01-02T00:00:00Z",
    )
    html = render([run_of(fast), run_of(slow)])
    assert "the newest run of each machine" in html
    assert html.count('class="result"') == 8
    # pipe at 64 B is twice as slow on "slow" (20 us against 10 us): the ratio table says so.
    row = re.search(
        r"pipe</td><td>round trip</td>\s*<td class=\"num\">64 B</td>\s*<td class=\"num slower\">([^<]*)", html
    )
    assert row is not None and row.group(1).startswith("2.0")


def test_the_same_files_give_the_same_page() -> None:
    runs: list[Run] = [
        run_of(document([pingpong("pipe", 64, around(1000)), stream("pipe", 64, around(1e8))]))
    ]
    assert render(runs) == render(runs)


def failed(label: str, size: int) -> dict:
    cell = skipped(label, "pingpong", size, reason="payload mismatch at message 17", remedy=None)
    return {**cell, "status": "failed"}


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([skipped("sysv-mq", "pingpong", 1 << 20), failed("pipe", 64)], "payload mismatch at message 17"),
        ([stream("pipe", 64, around(1e8)), stream("posix-shm/spin", 64, around(3e8))], "No ping-pong cells"),
        ([pingpong("pipe", 64, [1000.0]), pingpong("posix-shm/spin", 64, [200.0])], "one run"),
    ],
    ids=["nothing-measured", "stream-only", "single-repeat"],
)
def test_thin_runs_still_make_a_page(cells: list[dict], expected: str) -> None:
    html = render([run_of(document(cells))])
    assert expected in html
    assert html.count('class="claim"') == 4


def test_the_header_and_machine_section_say_the_cpu_idle_policy(one_run: str) -> None:
    assert "<p>CPU idle: os (idle states not recorded)</p>" in one_run  # a file from before the option
    doc = small_run()
    doc["config"]["cpu_idle"] = "poll"
    html = render([run_of(doc)])
    assert html.count("CPU idle: poll (PM QoS 0 us held)") == 1  # the header
    assert "<td>CPU idle</td><td>poll (PM QoS 0 us held)</td>" in html  # the machine section
