"""End to end in a real browser: the report opens offline in headless Chromium, draws every figure, logs
no error, asks for nothing but itself, fits a laptop screen, and shows hostile labels as text.

The full-page screenshot is kept (``tmp_path`` and ``/tmp/report-screenshot.png``) for a human to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Browser, Page, chromium_binary
from report_docs import around, document, full_run, pingpong, save, small_run, stream
from under_load_docs import under_load_cells

from ipcbench.cli import main

pytestmark = pytest.mark.browser
BINARY = chromium_binary()
LABEL = "<script>alert(1)</script>"
MACHINE = "<img src=x onerror=alert(2)>"
SCREENSHOT_COPY = Path("/tmp/report-screenshot.png")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    if BINARY is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("browser")
    # The full run is the newest, so sections 2 to 8 (and the screenshot) show every mechanism; the older,
    # partial run of another machine brings the comparison section, the banner and the hostile strings.
    newest = full_run(machine="laptop", created="2026-01-02T00:00:00Z")
    newest = document(newest["cells"] + under_load_cells(), machine="laptop", created="2026-01-02T00:00:00Z")
    save(newest, folder / "results" / "laptop" / "a.json")
    partial = small_run(machine=MACHINE, created="2026-01-01T00:00:00Z", label=LABEL, status="running")
    save(partial, folder / "results" / "other" / "b.json")
    for index in range(20):  # a month of nightly runs of the laptop: the Trends section, with one change
        save(nightly(index), folder / "results" / "laptop" / f"night-{index:02d}.json")
    assert main(["report", str(folder / "results"), "-o", str(folder / "index.html")]) == 0
    browser = Browser(BINARY, folder / "profile")
    try:
        yield Page(browser, (folder / "index.html").as_uri(), width=1280)
    finally:
        browser.close()


def nightly(index: int) -> dict:
    """Three mechanisms at two sizes, moving 1-2% from night to night; pipe's round trip 1.5x slower from
    night 12 on."""
    cells = []
    for size in (64, 4096):
        for label, factor in (("pipe", 1.0), ("posix-shm/sem", 1.0), ("posix-shm/spin", 5.0)):
            slow = 1.5 if label == "pipe" and index >= 12 else 1.0
            cells.append(pingpong(label, size, around(10_000.0 / factor * slow * (1 + index % 3 / 100))))
            cells.append(stream(label, size, around(1e8 * factor * (1 + index % 2 / 50))))
    return document(cells, machine="laptop", created=f"2025-12-{index + 1:02d}T03:00:00Z")


def test_every_figure_is_drawn(page: Page) -> None:
    sizes = page.evaluate(
        "[...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().width)"
    )
    # One run's six figures and two under load, three comparing the two machines, the laptop's two trends.
    assert len(sizes) == 6 + 2 + 3 + 2
    assert all(width > 600 for width in sizes), sizes
    sections = page.evaluate("[...document.querySelectorAll('h2[id]')].map(h => h.id)")
    expected = [
        "verdicts",
        "ladder",  # always there: without native cells it says how to get them
        "latency",
        "throughput",
        "distributions",
        "relative",
        "sync",
        "under-load",
        "choices",
        "problems",
        "method",
    ]
    assert sections == [*expected, "comparison", "trends"]


def test_trends_mark_and_list_the_change(page: Page) -> None:
    text = page.evaluate("document.querySelector('#trends').parentElement.innerText")
    assert "laptop: 21 files" in text
    assert "slower p50 +50" in text and "2025-12-13T03:00:00Z" in text
    folded = page.evaluate("[...document.querySelectorAll('details.files')].map(d => d.open)")
    assert folded == [False]  # the list of all 22 files stays folded


def test_no_errors_and_no_requests_beyond_the_file(page: Page) -> None:
    assert page.problems() == []
    assert page.evaluate("document.scripts.length") == 0
    dialogs = [e for e in page.browser.events if e.get("method") == "Page.javascriptDialogOpening"]
    assert dialogs == []
    foreign = [url for url in page.requests() if not url.startswith(("file://", "data:"))]
    assert foreign == []


def test_hostile_strings_show_as_text(page: Page) -> None:
    text = page.evaluate("document.body.innerText")
    assert LABEL in text and MACHINE in text
    assert page.evaluate("document.querySelectorAll('main img').length") == 0


def test_partial_run_is_flagged(page: Page) -> None:
    assert "Partial result file" in page.evaluate("document.querySelector('.banner.partial').innerText")


def test_fits_a_laptop_screen_and_keeps_a_screenshot(page: Page, tmp_path: Path) -> None:
    width, height = page.screenshot(tmp_path / "report.png")
    assert width <= 1280, "the page scrolls sideways at laptop width"
    assert height > 3000
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shutil.copyfile(tmp_path / "report.png", SCREENSHOT_COPY)
