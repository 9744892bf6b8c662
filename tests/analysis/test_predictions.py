"""Base-vs-model comparisons, checked on hand-made arrays and against brute-force loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from compresslens.analysis import group_change, predictions
from compresslens.analysis.predictions import (
    EXCESS_MEANING,
    agreement_rate,
    calibration_change,
    flip_counts,
    flip_masks,
    pairwise_agreement,
    per_group_accuracy_change,
    top_transitions,
    transition_matrix,
)
from compresslens.errors import IncompatibleDatasetError, InvalidOutputError
from compresslens.evaluate.metrics import expected_calibration_error, reliability_bins


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few dozen elements, so every chunked path runs over many blocks."""
    for module in (predictions, group_change):
        monkeypatch.setattr(module, "BLOCK_ELEMENTS", 48)


def random_predictions(seed: int, models: int, instances: int, classes: int) -> np.ndarray:
    """Models that mostly agree with a reference, some of them identical (ties, camps)."""
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, classes, instances)
    noisy = rng.random((models, instances)) < 0.3
    preds = np.where(noisy, rng.integers(0, classes, (models, instances)), reference)
    preds[: models // 2 : 2] = preds[0]  # a camp of identical models
    return preds


# ------------------------------------------------------------------------- agreement


def test_agreement_rate_is_the_share_of_instances_predicted_like_the_base() -> None:
    base = np.array([0, 1, 2, 1])
    preds = np.array([[0, 1, 2, 1], [0, 0, 2, 2], [1, 0, 0, 0]])
    np.testing.assert_array_equal(agreement_rate(base, preds), [1.0, 0.5, 0.0])


def test_agreement_rate_of_one_model_keeps_the_model_axis() -> None:
    assert agreement_rate(np.array([1, 2]), np.array([1, 0])).tolist() == [0.5]


def test_pairwise_agreement_of_a_hand_made_trio() -> None:
    preds = np.array([[0, 1, 2], [0, 1, 1], [2, 2, 2]])
    expected = np.array([[3, 2, 1], [2, 3, 0], [1, 0, 3]]) / 3
    np.testing.assert_allclose(pairwise_agreement(preds), expected)


@pytest.mark.parametrize(
    ("models", "instances", "classes"), [(6, 40, 3), (9, 120, 2), (12, 200, 30)]
)
def test_pairwise_agreement_matches_a_pairwise_loop(
    models: int, instances: int, classes: int, small_blocks: None
) -> None:
    preds = random_predictions(models, models, instances, classes)
    loop = np.array([[np.mean(preds[i] == preds[j]) for j in range(models)] for i in range(models)])
    np.testing.assert_allclose(pairwise_agreement(preds), loop)


def test_pairwise_agreement_when_two_camps_split_every_instance(small_blocks: None) -> None:
    preds = np.array([[0, 0, 1, 1], [1, 1, 0, 0]] * 3)
    agree = pairwise_agreement(preds)
    assert agree[0, 2] == 1.0 and agree[0, 1] == 0.0 and agree[1, 3] == 1.0


# ----------------------------------------------------------------------------- flips


def test_flip_masks_on_one_instance_of_each_kind() -> None:
    labels = np.array([0, 1, 2, 3, 4])
    base = np.array([0, 1, 0, 0, 4])
    pred = np.array([1, 1, 2, 1, 4])
    masks = flip_masks(labels, base, pred)
    assert masks["correct_to_incorrect"].tolist() == [[True, False, False, False, False]]
    assert masks["incorrect_to_correct"].tolist() == [[False, False, True, False, False]]
    assert masks["incorrect_to_other_incorrect"].tolist() == [[False, False, False, True, False]]
    counts = flip_counts(labels, base, pred)
    assert {k: v.tolist() for k, v in counts.items()} == {
        "correct_to_incorrect": [1],
        "incorrect_to_correct": [1],
        "incorrect_to_other_incorrect": [1],
    }


def test_flip_masks_match_a_loop_and_partition_the_changed_predictions() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 60)
    base = np.where(rng.random(60) < 0.6, labels, rng.integers(0, 4, 60))
    preds = random_predictions(4, 5, 60, 4)
    masks = flip_masks(labels, base, preds)
    for m in range(5):
        for n in range(60):
            b, p, y = base[n], preds[m, n], labels[n]
            assert masks["correct_to_incorrect"][m, n] == (b == y and p != y)
            assert masks["incorrect_to_correct"][m, n] == (b != y and p == y)
            assert masks["incorrect_to_other_incorrect"][m, n] == (b != y and p != y and p != b)
    stacked = np.stack(list(masks.values())).astype(int)
    np.testing.assert_array_equal(stacked.sum(axis=0), (preds != base).astype(int))


# ------------------------------------------------------------------------ transitions


def test_transition_matrix_counts_base_class_rows_against_model_class_columns() -> None:
    matrix = transition_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 0]])


def test_transition_matrix_matches_a_loop() -> None:
    rng = np.random.default_rng(5)
    base, pred = rng.integers(0, 6, 300), rng.integers(0, 6, 300)
    loop = np.zeros((6, 6), dtype=int)
    for b, p in zip(base, pred, strict=True):
        loop[b, p] += 1
    np.testing.assert_array_equal(transition_matrix(base, pred, 6), loop)


def test_top_transitions_skip_the_diagonal_and_order_ties_by_class() -> None:
    matrix = np.array([[5, 3, 0], [1, 7, 3], [0, 0, 2]])
    top = top_transitions(matrix, ["a", "b", "c"], k=10)
    assert [(t["transition"], t["count"]) for t in top] == [
        ("a ▸ b", 3),
        ("b ▸ c", 3),
        ("b ▸ a", 1),
    ]
    assert [t["share"] for t in top] == pytest.approx([3 / 7, 3 / 7, 1 / 7])
    assert [t["transition"] for t in top_transitions(matrix, ["a", "b", "c"], k=1)] == ["a ▸ b"]
    assert top_transitions(np.eye(3, dtype=int), k=5) == []


def test_transition_matrix_refuses_a_prediction_outside_the_classes() -> None:
    with pytest.raises(InvalidOutputError, match=r"pred must lie in \[0, 3\)"):
        transition_matrix(np.array([0, 1]), np.array([0, 3]), 3)


# ------------------------------------------------------------ per-group accuracy change


def test_per_group_accuracy_change_point_estimates_by_hand() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1])
    base_correct = np.array([True, True, False, False, True, False])
    correct = np.array([[True, False, True, False, True, True]])
    result = per_group_accuracy_change(labels, base_correct, correct, n_boot=50)
    np.testing.assert_allclose(result["base_accuracy"], [[0.5, 0.5]])
    np.testing.assert_allclose(result["accuracy"], [[0.5, 1.0]])
    np.testing.assert_allclose(result["delta"], [[0.0, 0.5]])
    np.testing.assert_allclose(result["overall_delta"], [1 / 6])
    np.testing.assert_allclose(result["excess_delta"], [[-1 / 6, 1 / 3]])
    assert result["count"].tolist() == [4, 2]


def test_an_empty_group_is_nan_with_no_excess() -> None:
    groups = np.array([0, 0, 2, 2])
    base_correct = np.array([True, False, True, True])
    correct = np.array([[False, False, False, False]])
    result = per_group_accuracy_change(
        np.zeros(4, dtype=int), base_correct, correct, groups, num_groups=3, n_boot=20
    )
    for key in ("base_accuracy", "delta", "delta_low", "delta_high", "p_value"):
        assert math.isnan(result[key][0, 1]), key
    assert result["excess"][0, 1] is None
    assert result["count"].tolist() == [2, 0, 2]


def test_an_unchanged_model_has_a_zero_ci_and_p_value_one() -> None:
    labels = np.array([0, 1, 1, 0, 1])
    base_correct = np.array([True, False, True, True, False])
    result = per_group_accuracy_change(labels, base_correct, base_correct[None], n_boot=30)
    np.testing.assert_array_equal(result["delta_low"], [[0.0, 0.0]])
    np.testing.assert_array_equal(result["delta_high"], [[0.0, 0.0]])
    np.testing.assert_array_equal(result["p_value"], [[1.0, 1.0]])
    assert result["excess"].tolist() == [[None, None]]


def test_a_group_that_lost_much_more_than_the_model_is_an_excess_loss() -> None:
    groups = np.repeat([0, 1, 2], 400)
    base_correct = np.ones(1200, dtype=bool)
    correct = base_correct.copy()
    correct[800:960] = False  # group 2 loses 40%, the model overall 13%
    correct[:20] = False  # group 0 loses 5%
    result = per_group_accuracy_change(groups, base_correct, correct, n_boot=500, seed=1)
    assert result["excess_delta"][0, 2] < 0 and result["excess"][0, 2] == "loss"
    assert result["p_value"][0, 2] == pytest.approx(2 / 501)
    assert result["delta_low"][0, 2] <= -0.4 <= result["delta_high"][0, 2]


def test_a_group_that_did_not_change_while_the_model_lost_fared_better_never_a_loss() -> None:
    """Δ = 0 [0, 0] is a significant excess *gain* when the model overall lost accuracy."""
    groups = np.repeat([0, 1], 400)
    base_correct = np.ones(800, dtype=bool)
    correct = base_correct.copy()
    correct[400:560] = False  # group 1 loses 40%, the model overall 20%; group 0 is unchanged
    result = per_group_accuracy_change(groups, base_correct, correct, n_boot=500, seed=1)
    assert result["delta"][0, 0] == 0.0
    assert result["delta_low"][0, 0] == 0.0 and result["delta_high"][0, 0] == 0.0
    assert result["excess_delta"][0, 0] == pytest.approx(0.2)
    assert result["p_value"][0, 0] == pytest.approx(2 / 501)
    assert result["excess"].tolist() == [["gain", "loss"]]
    assert EXCESS_MEANING == {
        "loss": "lost more than the model overall",
        "gain": "fared better than the model overall",
    }


def test_bootstrap_is_reproducible_given_the_seed() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 200)
    base_correct = rng.random(200) < 0.7
    correct = rng.random((2, 200)) < 0.65
    first = per_group_accuracy_change(labels, base_correct, correct, n_boot=100, seed=7)
    again = per_group_accuracy_change(labels, base_correct, correct, n_boot=100, seed=7)
    other = per_group_accuracy_change(labels, base_correct, correct, n_boot=100, seed=8)
    for key in ("delta_low", "delta_high", "p_value"):
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["delta_low"], other["delta_low"])


def brute_force_bootstrap(
    groups: np.ndarray, base_correct: np.ndarray, correct: np.ndarray, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resample instances within each group, B times, by index: deltas [B, G] and overall."""
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(groups == g) for g in range(groups.max() + 1)]
    deltas = np.empty((n_boot, len(members)))
    overall = np.empty(n_boot)
    diff = correct.astype(int) - base_correct.astype(int)
    for b in range(n_boot):
        drawn = [rng.choice(index, size=index.size, replace=True) for index in members]
        deltas[b] = [diff[index].mean() for index in drawn]
        overall[b] = diff[np.concatenate(drawn)].mean()
    return deltas, overall, deltas - overall[:, None]


def test_bootstrap_agrees_with_an_instance_resampling_loop() -> None:
    rng = np.random.default_rng(11)
    groups = np.repeat([0, 1], [120, 80])
    base_correct = rng.random(200) < 0.7
    correct = np.where(rng.random(200) < 0.25, ~base_correct, base_correct)
    correct[120:150] = False  # group 1 loses more
    result = per_group_accuracy_change(groups, base_correct, correct, n_boot=4000, seed=0)
    deltas, _, excess = brute_force_bootstrap(groups, base_correct, correct, 2000, seed=1)
    low, high = np.quantile(deltas, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(result["delta_low"][0], low, atol=0.02)
    np.testing.assert_allclose(result["delta_high"][0], high, atol=0.02)
    loop_p = np.minimum(1, 2 * np.minimum((excess <= 0).mean(0), (excess >= 0).mean(0)))
    np.testing.assert_allclose(result["p_value"][0], loop_p, atol=0.03)


def test_bootstrap_ci_covers_the_true_delta_on_synthetic_data() -> None:
    """Base right with p 0.7; a right answer is lost with p 0.1, a wrong one gained with p 0.2."""
    true_delta = 0.3 * 0.2 - 0.7 * 0.1
    covered = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        base_correct = rng.random(400) < 0.7
        flip = rng.random(400) < np.where(base_correct, 0.1, 0.2)
        result = per_group_accuracy_change(
            rng.integers(0, 2, 400), base_correct, base_correct ^ flip, n_boot=300, seed=seed
        )
        covered.extend((result["delta_low"] <= true_delta) & (true_delta <= result["delta_high"]))
    assert 0.88 <= np.mean(covered) <= 1.0


def test_per_group_accuracy_change_refuses_bad_inputs() -> None:
    labels = np.array([0, 1])
    with pytest.raises(InvalidOutputError, match="boolean"):
        per_group_accuracy_change(labels, np.array([1, 0]), np.array([[True, False]]))
    with pytest.raises(InvalidOutputError, match="covers 3 instances"):
        per_group_accuracy_change(labels, np.array([True, False]), np.ones((1, 3), dtype=bool))
    with pytest.raises(IncompatibleDatasetError, match="groups must lie in"):
        per_group_accuracy_change(
            labels, np.array([True, False]), np.ones((1, 2), dtype=bool), labels, num_groups=1
        )
    with pytest.raises(ValueError, match="ci must lie"):
        per_group_accuracy_change(labels, np.array([True, False]), np.ones(2, dtype=bool), ci=1.0)


# ------------------------------------------------------------------------ calibration


def test_calibration_change_reuses_the_evaluate_metrics() -> None:
    rng = np.random.default_rng(4)
    base_conf, conf = rng.random(100), rng.random((2, 100))
    base_correct, correct = rng.random(100) < 0.6, rng.random((2, 100)) < 0.5
    result = calibration_change(base_conf, base_correct, conf, correct, n_bins=10)
    base_ece = expected_calibration_error(base_conf, base_correct, 10)
    assert result["base_ece"] == base_ece
    for m in range(2):
        ece = expected_calibration_error(conf[m], correct[m], 10)
        assert result["ece"][m] == ece and result["ece_change"][m] == ece - base_ece
        assert result["reliability"][m] == reliability_bins(conf[m], correct[m], 10)
    assert result["base_reliability"] == reliability_bins(base_conf, base_correct, 10)


# ---------------------------------------------------------------------- input checks


def test_inputs_of_the_wrong_kind_are_refused_with_their_name() -> None:
    with pytest.raises(InvalidOutputError, match="preds must hold integer ids"):
        agreement_rate(np.array([0, 1]), np.array([0.0, 1.0]))
    with pytest.raises(InvalidOutputError, match=r"preds covers 3 instances"):
        agreement_rate(np.array([0, 1]), np.array([[0, 1, 1]]))
    with pytest.raises(InvalidOutputError, match=r"shape \[M, N\] or \[N\]"):
        pairwise_agreement(np.zeros((2, 2, 2), dtype=int))
    with pytest.raises(IncompatibleDatasetError, match=r"labels of shape \[N\]"):
        flip_masks(np.zeros((2, 2), dtype=int), np.array([0, 1]), np.array([0, 1]))
