"""The cost ladder and the verdicts per tier, on hand-made runs measured in both tiers."""

from __future__ import annotations

import json

import pytest
from report_docs import around, document, pingpong, run_of, stream

from ipcbench.report import verdict_output
from ipcbench.report import verdicts as v
from ipcbench.report.ladder import rungs
from ipcbench.report.page import render
from ipcbench.report.tables import ladder_rows
from ipcbench.report.tiers import tier_views


def both_tiers() -> list[dict]:
    """Native: spin 0.5 us against a 60 us pipe; Python adds ~20 us to every round trip."""
    return [
        pingpong("pipe", 64, around(60_000), impl="native"),
        pingpong("posix-shm/spin", 64, around(500), impl="native"),
        pingpong("posix-shm/sem", 64, around(20_000), impl="native"),
        pingpong("pipe", 64, around(80_000)),
        pingpong("posix-shm/spin", 64, around(20_500)),
        pingpong("posix-shm/sem", 64, around(78_000)),
        stream("pipe", 1 << 20, around(2e9), impl="native"),
        stream("pipe", 1 << 20, around(1e9)),
    ]


def test_a_rung_is_the_native_floor_the_python_figure_and_the_gap() -> None:
    run = run_of(document(both_tiers()))
    found = {(r.mechanism, r.workload): r for r in rungs(run)}
    spin = found[("posix-shm/spin", "pingpong")]
    assert spin.native_ns == pytest.approx(500, rel=0.02) and spin.python_ns == pytest.approx(
        20_500, rel=0.02
    )
    assert spin.extra_ns == pytest.approx(20_000, rel=0.02)
    assert spin.extra_per_message_ns == pytest.approx(10_000, rel=0.02)  # a round trip is two messages
    assert spin.ratio.speedup == pytest.approx(41, rel=0.05) and spin.ratio.outcome == "faster"
    assert spin.python_share == pytest.approx(20_000 / 20_500, rel=0.02)
    pipe = found[("pipe", "stream")]  # a stream rung: time per message from messages/s
    assert pipe.native_ns == pytest.approx(1e9 / (2e9 / (1 << 20)), rel=0.02)
    assert pipe.ratio.speedup == pytest.approx(2, rel=0.05)
    rows = ladder_rows(run)
    assert [row.mechanism for row in rows][:3] == ["pipe", "posix-shm/sem", "posix-shm/spin"]
    assert rows[0].ratio.text.endswith("faster")


def test_each_claim_is_judged_per_tier_and_a_disagreement_says_why() -> None:
    run = run_of(document(both_tiers()))
    native, python = tier_views(run)
    assert (native.tier, python.tier) == ("native", "python")
    # Native: spin is 120x faster than a pipe and sem 3x, so claim 1 holds for the mechanism.
    assert v.claim_faster(native).status == v.HOLDS
    html = render([run])
    assert 'id="ladder"' in html and "native tier (C loops" in html and "Python tier (the same loops" in html
    assert "Both tiers agree" in html or "The tiers disagree" in html


def test_python_cost_that_hides_a_difference_is_named_as_the_reason() -> None:
    cells = [
        pingpong("posix-shm/sem", 64, around(40_000), impl="native"),
        pingpong("pipe", 64, around(60_000), impl="native"),
        pingpong("posix-shm/sem", 64, around(100_000)),  # Python's cost hides the gap in noise
        pingpong("pipe", 64, [90_000, 125_000, 100_000]),
    ]
    html = render([run_of(document(cells))])
    assert "The tiers disagree" in html
    assert "Python adds a median" in html and "pulls it towards 1" in html


def test_the_mutex_variant_is_judged_in_claim_3_beside_sem_and_spin() -> None:
    cells = [
        pingpong("sysv-shm/spin", 64, around(500), impl="native"),
        pingpong("sysv-shm/sem", 64, around(40_000), impl="native"),
        pingpong("sysv-shm/mutex", 64, around(45_000), impl="native"),
    ]
    verdict = v.claim_sync_cost(run_of(document(cells)).in_tier("native"))
    assert verdict.status == v.HOLDS
    assert [f.subject for f in verdict.findings] == ["sysv-shm", "sysv-shm (mutex)"]
    assert "mutex" in verdict.headline


def test_a_run_with_one_tier_has_no_ladder_and_says_so() -> None:
    html = render([run_of(document([pingpong("pipe", 64, around(60_000))]))])
    assert "no cell measured in both tiers" in html


def test_the_verdicts_command_gives_every_case_its_tier() -> None:
    """``ipcbench verdicts``: each tier's claims (native first, as the report), every case with its impl,
    and the Python claims saying whether the tiers agree."""
    run = run_of(document(both_tiers()))
    record = json.loads(verdict_output.render([run], "json"))
    assert record["tiers"] == ["native", "python"]
    assert [(c["claim"], c["impl"]) for c in record["claims"]][:5] == [
        (1, "native"),
        (2, "native"),
        (3, "native"),
        (4, "native"),
        (1, "python"),
    ]
    cases = [case for claim in record["claims"] for case in claim["cases"]]
    assert cases and all(case["impl"] in ("native", "python") for case in cases)
    assert all(case["impl"] == claim["impl"] for claim in record["claims"] for case in claim["cases"])
    assert {claim["impl"] for claim in record["claims"] if claim["agreement"]} == {"python"}
    table = verdict_output.render([run], "table")
    assert "claim 1 [native]" in table and "claim 1 [python]" in table
    assert any(line.lstrip().startswith("native  posix-shm/spin vs") for line in table.splitlines())
    markdown = verdict_output.render([run], "markdown")
    assert "| impl | case |" in markdown and "| python | posix-shm/spin vs pipe |" in markdown
