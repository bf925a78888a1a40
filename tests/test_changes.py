"""The change-point test's p-values: the bridge approximation and the permutation test it stands in for."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

from ipcbench import changes, rank_cusum


def test_centred_ranks_are_scipys_average_ranks_minus_their_mean() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        values = rng.integers(0, int(rng.integers(1, 20)), int(rng.integers(1, 50))).astype(float)
        expected = rankdata(values) - (len(values) + 1) / 2
        assert np.allclose(rank_cusum.centred_ranks(values), expected)


@pytest.mark.parametrize("levels", [0, 5])
def test_the_bridge_p_value_is_conservative_when_nothing_changes(levels: int) -> None:
    """Under no change P(p <= a) <= a (here for 60 values, with and without ties; the full table over
    lengths, min_size and alpha is bench/bridge_coverage.py)."""
    rng = np.random.default_rng(4)
    values = rng.integers(0, levels, 60).astype(float) if levels else rng.random(60)
    p_values = np.array([rank_cusum.bridge_p(rng.permutation(values), 3) for _ in range(2000)])
    for level in (0.01, 0.05, 0.2):
        assert np.mean(p_values <= level) <= level


def test_where_the_approximation_decides_the_permutation_test_agrees() -> None:
    """Below alpha the permutations find the change too; above SURE_ABOVE alphas they do not."""
    rng = np.random.default_rng(5)
    alpha = 0.005
    decided = 0
    for shift in (0.0, 0.3, 0.6, 1.5):
        for _ in range(15):
            values = rng.normal(size=80)
            values[40:] += shift
            approximate = rank_cusum.bridge_p(values, 3)
            if approximate < alpha or approximate >= changes.SURE_ABOVE * alpha:
                decided += 1
                shuffled = rank_cusum.permutation_p(values, 3)
                assert (shuffled < alpha) == (approximate < alpha)
    assert decided >= 40


def test_a_clear_step_is_found_with_its_p_value_and_a_flat_series_has_none() -> None:
    rng = np.random.default_rng(6)
    values = np.exp(rng.normal(0, 0.05, 200))
    values[120:] *= 1.3
    found = changes.detect(list(values), [True] * 200, changes.Settings())
    assert [change.index for change in found] == [120]
    assert found[0].p_value == pytest.approx(1 / (1 + rank_cusum.PERMUTATIONS))  # stated no smaller
    assert 1.25 < found[0].ratio < 1.35
    flat = np.exp(rng.normal(0, 0.05, 200))
    assert changes.detect(list(flat), [True] * 200, changes.Settings()) == []


def test_workers_started_before_the_files_are_read_find_what_one_process_finds() -> None:
    rng = np.random.default_rng(7)
    series = []
    for step in (1.0, 1.0, 1.2, 1.5):
        values = np.exp(rng.normal(0, 0.05, 90))
        values[50:] *= step
        series.append((list(values), [True] * 90))
    alone = changes.detect_many(series, changes.Settings())
    assert [len(found) for found in alone] == [0, 0, 1, 1]
    with changes.Workers(start=True) as workers:
        assert changes.detect_many(series, changes.Settings(), workers) == alone


def test_the_compiled_pelt_loaded_alone_finds_what_ruptures_kernelcpd_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ruptures

    assert changes.linear_pelt() is not None  # ruptures as installed: its compiled core loads alone
    rng = np.random.default_rng(8)
    for _ in range(200):
        length, min_size = int(rng.integers(2, 150)), int(rng.integers(1, 6))
        if length < 2 * min_size:
            continue
        logs = rng.normal(0, 0.05, length)
        logs[int(rng.integers(0, length)) :] += rng.choice([0.0, 0.1, 0.5])
        found = changes._candidates(logs, min_size)
        scaled = np.clip((logs - np.median(logs)) / changes.noise_scale(logs), -changes.CLIP, changes.CLIP)
        bounds = ruptures.KernelCPD(kernel="linear", min_size=min_size).fit(scaled)
        assert found == bounds.predict(pen=changes.PENALTY * np.log(length))[:-1]
        monkeypatch.setattr(changes, "linear_pelt", lambda: None)  # another layout: the package's own API
        assert changes._candidates(logs, min_size) == found
        monkeypatch.undo()


def test_a_compiled_pelt_that_answers_otherwise_is_not_used() -> None:
    """A ruptures version whose private function takes or returns something else: the public API instead."""

    def other_signature(signal: np.ndarray, penalty: float) -> np.ndarray:
        return np.zeros(len(signal) + 1)

    def other_answer(signal: np.ndarray, penalty: float, min_size: int) -> np.ndarray:
        return np.zeros(len(signal) + 1, dtype=int)  # no boundary at all

    assert changes._answers_as_expected(changes.linear_pelt())  # type: ignore[arg-type]
    assert not changes._answers_as_expected(other_signature)  # type: ignore[arg-type]
    assert not changes._answers_as_expected(other_answer)
