"""Verdicts on hand-made runs whose answers are known: the verdicts follow the data, not a script."""

from __future__ import annotations

import pytest
from report_docs import around, document, full_run, pingpong, run_of, stream

from ipcbench.report import verdicts as v
from ipcbench.report.ratios import Speedup, compare


def by_claim(doc: dict) -> dict[int, v.Verdict]:
    return {verdict.claim: verdict for verdict in v.verdicts(run_of(doc))}


# ---- comparisons ----------------------------------------------------------------------------------------


def test_ten_times_faster_reads_as_a_ratio_with_its_interval() -> None:
    run = run_of(
        document([pingpong("pipe", 64, [990, 1000, 1010]), pingpong("posix-shm/spin", 64, [99, 100, 101])])
    )
    comparison = compare(run, "posix-shm/spin", "pipe", "latency", 64)
    assert comparison is not None
    assert comparison.speedup == pytest.approx(10.0)
    assert comparison.ci is not None and 9.7 < comparison.ci[0] <= 10.0 <= comparison.ci[1] < 10.3
    assert comparison.outcome == "faster"
    assert comparison.sentence().startswith("posix-shm/spin round trip at 64 B is 10.0x lower than pipe [9.")


def test_slower_is_said_as_higher_with_the_interval_turned_round() -> None:
    comparison = Speedup("posix-shm/sem", "pipe", "latency", 64, 0.5, (0.4, 0.625))
    assert comparison.outcome == "slower"
    assert (
        comparison.sentence() == "posix-shm/sem round trip at 64 B is 2.00x higher than pipe [1.60x, 2.50x]"
    )


def test_an_interval_straddling_one_is_no_significant_difference() -> None:
    run = run_of(
        document(
            [
                stream("pipe", 4096, [1e9, 1.2e9, 0.8e9]),
                stream("posix-shm/spin", 4096, [1.3e9, 0.9e9, 1.05e9]),
            ]
        )
    )
    comparison = compare(run, "posix-shm/spin", "pipe", "throughput", 4096)
    assert comparison is not None and comparison.ci is not None
    assert comparison.ci[0] < 1 < comparison.ci[1]
    assert comparison.outcome == "no significant difference"
    assert "no significant difference from pipe" in comparison.sentence()


def test_a_single_run_has_no_interval() -> None:
    run = run_of(document([pingpong("pipe", 64, [1000]), pingpong("posix-shm/spin", 64, [100])]))
    comparison = compare(run, "posix-shm/spin", "pipe", "latency", 64)
    assert comparison is not None and comparison.ci is None
    assert comparison.outcome == "no interval"
    assert "one run: no confidence interval" in comparison.sentence()
    assert by_claim(run.document)[1].status == v.INCONCLUSIVE


def test_missing_cells_give_no_comparison() -> None:
    run = run_of(document([pingpong("pipe", 64, around(1000))]))
    assert compare(run, "posix-shm/spin", "pipe", "latency", 64) is None


# ---- claim 1 --------------------------------------------------------------------------------------------


def test_claim_1_holds_when_every_shared_memory_variant_beats_everything() -> None:
    verdict = by_claim(full_run(shm_speedup=10.0, sem_speedup=3.0))[1]
    assert verdict.status == v.HOLDS
    assert len(verdict.findings) == 4 * 3
    assert all(finding.holds for finding in verdict.findings)
    clearest = v.highlights(verdict)[0]
    assert clearest[0] == "clearest case" and "x lower than pipe" in clearest[1]


def test_claim_1_holds_only_for_spinning_when_semaphores_match_a_pipe() -> None:
    verdict = by_claim(full_run(shm_speedup=5.0, sem_speedup=1.0))[1]
    assert verdict.status == v.PARTLY
    assert verdict.headline == (
        "holds only for sysv-shm/spin at every size (64 B to 1M); posix-shm/spin at every size (64 B to 1M)"
    )
    sem_note = next(note for note in verdict.notes if note.startswith("With semaphores"))
    assert "posix-shm/sem at 64 B, 4K" in sem_note and "two wake-ups" in sem_note
    failing = [f for f in verdict.findings if not f.holds]
    assert {f.subject for f in failing} == {"sysv-shm/sem", "posix-shm/sem"}
    assert "no significant difference from pipe" in failing[0].evidence[0].sentence()


def test_claim_1_does_not_hold_when_shared_memory_is_slower() -> None:
    verdict = by_claim(full_run(shm_speedup=0.5, sem_speedup=0.5))[1]
    assert verdict.status == v.REFUTED
    kind, sentence = v.highlights(verdict)[0]
    assert kind == "where it fails" and "x higher than pipe" in sentence


def test_claim_1_compares_against_the_closest_rival_not_only_pipe() -> None:
    cells = [
        pingpong("pipe", 64, around(10_000)),
        pingpong("unix", 64, around(1_000)),
        pingpong("posix-shm/spin", 64, around(2_000)),
    ]
    verdict = by_claim(document(cells))[1]
    finding = verdict.findings[0]
    assert finding.holds is False and finding.note == "closest rival: unix"
    assert [c.baseline for c in finding.evidence] == ["pipe", "unix"]


def test_verdicts_change_when_the_data_changes() -> None:
    before = by_claim(full_run(shm_speedup=5.0, sem_speedup=5.0))
    after = by_claim(full_run(shm_speedup=1.0, sem_speedup=1.0))
    assert before[1].status == v.HOLDS and after[1].status == v.REFUTED
    assert before[2].status == v.HOLDS and after[2].status == v.REFUTED


# ---- claim 2 --------------------------------------------------------------------------------------------


def test_claim_2_splits_large_transfers_from_frequent_small_ones() -> None:
    cells = []
    for size, shm_factor in ((64, 0.8), (1 << 20, 3.0)):
        cells += [
            stream("pipe", size, around(1e9)),
            stream("unix", size, around(1e9)),
            stream("posix-shm/spin", size, around(1e9 * shm_factor)),
        ]
    verdict = by_claim(document(cells))[2]
    assert verdict.status == v.PARTLY
    assert verdict.headline == "holds only for posix-shm/spin at 1M"
    assert any(
        note.startswith("Large transfers (64K and more") and "1 of 1" in note for note in verdict.notes
    )
    assert any(note.startswith("Frequent small messages") and "0 of 1" in note for note in verdict.notes)
    small = next(f for f in verdict.findings if f.size == 64)
    assert small.evidence[0].metric == "msgs" and "fewer messages/s than pipe" in small.evidence[0].sentence()


def test_claim_2_says_so_when_no_large_size_was_measured() -> None:
    cells = [stream("pipe", 64, around(1e8)), stream("posix-shm/spin", 64, around(3e8))]
    verdict = by_claim(document(cells))[2]
    assert verdict.status == v.HOLDS
    assert any("No size of 64K or more was measured" in note for note in verdict.notes)


def test_claim_2_names_mechanisms_skipped_at_large_sizes() -> None:
    verdict = by_claim(full_run())[2]
    assert any(note.startswith("sysv-mq, posix-mq could not carry") for note in verdict.notes)


# ---- claim 3 --------------------------------------------------------------------------------------------


def test_claim_3_measures_the_cost_of_semaphores_and_the_cpu_of_spinning() -> None:
    cells = [
        pingpong(f"{api}/{variant}", 64, around(1_000 if variant == "spin" else 8_000))
        for api in ("sysv-shm", "posix-shm")
        for variant in ("sem", "spin")
    ]
    verdict = by_claim(document(cells))[3]
    assert verdict.status == v.HOLDS
    assert [f.subject for f in verdict.findings] == ["sysv-shm", "posix-shm"]
    sentence = verdict.findings[1].evidence[0].sentence()
    assert sentence.startswith("posix-shm/sem round trip at 64 B is 8.00x higher than posix-shm/spin [")
    cpu_note = verdict.notes[0]
    assert "burns a core on each side" in cpu_note
    assert "posix-shm/spin kept 2.00 CPUs busy at 64 B against 0.80 for posix-shm/sem" in cpu_note
    assert "CPUs kept busy: sem 0.80, spin 2.00" in verdict.findings[1].note
    assert any("Placement was cross-core" in note for note in verdict.notes)


def test_claim_3_does_not_hold_when_semaphores_cost_nothing() -> None:
    cells = [pingpong(f"posix-shm/{variant}", 64, around(1_000)) for variant in ("sem", "spin")]
    assert by_claim(document(cells))[3].status == v.REFUTED


def test_claim_3_mentions_a_shared_cpu() -> None:
    cells = [
        pingpong(f"posix-shm/{variant}", 64, around(1_000 * (1 + (variant == "sem"))))
        for variant in ("sem", "spin")
    ]
    notes = by_claim(document(cells, placement="same-core"))[3].notes
    assert any("shared one CPU" in note for note in notes)


# ---- claim 4 --------------------------------------------------------------------------------------------


def test_claim_4_holds_when_the_apis_are_alike() -> None:
    verdict = by_claim(full_run())[4]
    assert verdict.status == v.HOLDS
    assert all(finding.note.startswith("alike within") for finding in verdict.findings)


def test_claim_4_pins_a_difference_on_the_semaphores() -> None:
    cells = [
        pingpong("sysv-shm/sem", 64, around(10_000)),
        pingpong("posix-shm/sem", 64, around(15_000)),
        pingpong("sysv-shm/spin", 64, around(1_000)),
        pingpong("posix-shm/spin", 64, around(1_010)),
    ]
    verdict = by_claim(document(cells))[4]
    assert verdict.status == v.PARTLY
    assert verdict.headline == "holds only for spin, round trip at 64 B"
    sem = next(f for f in verdict.findings if f.subject.startswith("sem"))
    assert sem.holds is False and sem.note == "differ by more than 10%"
    spin = next(f for f in verdict.findings if f.subject.startswith("spin"))
    assert spin.note.startswith("alike within") and spin.holds
    assert any("lies in the semaphores" in note for note in verdict.notes)


def test_claim_4_calls_a_wide_straddling_interval_inconclusive_not_alike() -> None:
    cells = [
        pingpong("sysv-shm/spin", 64, [1000, 1500, 700]),
        pingpong("posix-shm/spin", 64, [1200, 800, 1400]),
    ]
    verdict = by_claim(document(cells))[4]
    finding = verdict.findings[0]
    assert finding.holds is None and finding.outcome == v.INCONCLUSIVE
    assert finding.reason == "interval too wide to tell within 10%"
    assert verdict.status == v.INCONCLUSIVE
    assert "runs per cell would decide the nearest case" in verdict.headline


# ---- known answers of issue 9 ---------------------------------------------------------------------------


def test_one_and_a_half_times_slower_is_never_alike() -> None:
    """posix-shm/sem 1.5x slower than sysv-shm/sem, 3 runs at about 30% spread: was "alike" [0.30, 1.50]."""
    cells = [
        pingpong("sysv-shm/sem", 64, [7000, 10000, 13000]),
        pingpong("posix-shm/sem", 64, [10500, 15000, 19500]),
    ]
    finding = by_claim(document(cells))[4].findings[0]
    assert finding.outcome == v.INCONCLUSIVE
    assert finding.deciding is not None and finding.deciding.level == pytest.approx(0.9)


def test_alike_only_when_the_whole_interval_is_inside_the_band() -> None:
    cells = [
        pingpong("sysv-shm/spin", 64, [1000, 1010, 990, 1005, 995]),
        pingpong("posix-shm/spin", 64, [1020, 1030, 1010, 1025, 1015]),
    ]
    finding = by_claim(document(cells))[4].findings[0]
    assert finding.outcome == v.HOLDS and finding.reason == "alike within 4%"


def test_a_clear_difference_refutes_alike() -> None:
    cells = [pingpong("sysv-shm/spin", 64, around(1000)), pingpong("posix-shm/spin", 64, around(1500))]
    finding = by_claim(document(cells))[4].findings[0]
    assert finding.outcome == v.REFUTED and finding.reason == "differ by more than 10%"


def test_an_unstable_cell_decides_nothing() -> None:
    doc = document([pingpong("pipe", 64, around(10000)), pingpong("posix-shm/spin", 64, around(1000))])
    doc["cells"][1].update(
        unstable=True, unstable_reason="machine busy: tasks waited for a CPU 95% of the time"
    )
    verdict = by_claim(doc)[1]
    assert verdict.findings[0].outcome == v.INCONCLUSIVE
    assert verdict.findings[0].reason.startswith("unstable cell (machine busy")
    assert verdict.status == v.INCONCLUSIVE


def test_one_run_is_too_few_runs() -> None:
    doc = document([pingpong("pipe", 64, [10000]), pingpong("posix-shm/spin", 64, [1000])])
    verdict = by_claim(doc)[1]
    assert verdict.findings[0].reason.startswith("too few runs")
    assert verdict.status == v.INCONCLUSIVE and "--repeats" in verdict.headline


def test_a_tie_refutes_faster() -> None:
    cells = [pingpong("pipe", 64, around(1000)), pingpong("posix-shm/sem", 64, around(1001))]
    finding = by_claim(document(cells))[1].findings[0]
    assert finding.outcome == v.REFUTED and finding.reason == "alike within 10%"


# ---- nothing to judge -----------------------------------------------------------------------------------


def test_a_run_without_shared_memory_tests_no_claim() -> None:
    found = by_claim(document([pingpong("pipe", 64, around(1000)), stream("pipe", 64, around(1e8))]))
    assert {verdict.status for verdict in found.values()} == {v.UNTESTED}
    assert all(verdict.headline.startswith("not tested") for verdict in found.values())


def test_size_ranges_group_consecutive_sizes() -> None:
    tested = [64, 512, 4096, 65536, 1 << 20]
    assert v._ranges([64, 512, 4096, 1 << 20], tested) == "64 B to 4K, 1M"
    assert v._ranges(tested, tested) == "every size (64 B to 1M)"
    assert v._ranges([512], tested) == "512 B"
