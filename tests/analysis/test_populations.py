"""Populations (Hooker et al.): modal labels, PIE, Welch per class, BH, population distance."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy.stats import false_discovery_control, ttest_ind

from compresslens.analysis import populations
from compresslens.analysis.populations import (
    PopulationSizeError,
    benjamini_hochberg,
    class_disparate_impact,
    modal_label,
    pie_summary,
    population_distance_ranking,
    population_size_warnings,
    pruning_identified_exemplars,
    vote_fractions,
    welch_t_test,
)
from compresslens.errors import InvalidOutputError


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few dozen elements, so every chunked path runs over many blocks."""
    monkeypatch.setattr(populations, "BLOCK_ELEMENTS", 40)


def modal_by_loop(preds: np.ndarray, largest: bool = True) -> list[int]:
    """Most common class per column; ties to the largest (or smallest) class id."""
    result = []
    for column in preds.T:
        counts = Counter(column.tolist())
        best = max(counts.values())
        tied = [c for c, n in counts.items() if n == best]
        result.append(max(tied) if largest else min(tied))
    return result


# ------------------------------------------------------------------------ modal labels


def test_modal_label_breaks_ties_towards_the_largest_class_by_default() -> None:
    preds = np.array([[0, 1, 2, 0], [1, 1, 0, 2], [1, 0, 2, 1]])
    assert modal_label(preds, 3).tolist() == [1, 1, 2, 2]
    assert modal_label(preds, 3, tie_break="smallest").tolist() == [1, 1, 2, 0]
    pair = np.array([[0, 3], [2, 1]])
    assert modal_label(pair, 4).tolist() == [2, 3]
    assert modal_label(pair, 4, tie_break="smallest").tolist() == [0, 1]


@pytest.mark.parametrize("tie_break", ["largest", "smallest"])
def test_modal_label_matches_a_counting_loop(tie_break: str, small_blocks: None) -> None:
    preds = np.random.default_rng(0).integers(0, 4, (4, 120))
    expected = modal_by_loop(preds, largest=tie_break == "largest")
    assert modal_label(preds, 4, tie_break=tie_break).tolist() == expected


def test_vote_fractions_are_shares_of_the_population() -> None:
    fractions = vote_fractions(np.array([[0, 2], [0, 1], [1, 1], [0, 1]]), 3)
    assert fractions.dtype == np.float32
    np.testing.assert_allclose(fractions, [[0.75, 0.25, 0.0], [0.0, 0.75, 0.25]])


def test_modal_label_refuses_ids_outside_the_classes_and_bad_tie_rules() -> None:
    with pytest.raises(InvalidOutputError, match=r"preds must lie in \[0, 2\)"):
        modal_label(np.array([[0, 2]]), 2)
    with pytest.raises(ValueError, match="tie_break"):
        modal_label(np.array([[0, 1]]), 2, tie_break="first")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- PIE


def test_pie_compares_modal_labels_and_ignores_the_true_label() -> None:
    # 0: both populations say 1 → not PIE, whatever the label.
    # 1: baseline says 0, compressed says 2 → PIE, though both may be wrong.
    # 2: compressed splits 1/2 → tie to 2, baseline says 2 → not PIE.
    # 3: compressed split ties to the largest id 3 ≠ baseline's 1 → PIE.
    baseline = np.array([[1, 0, 2, 1], [1, 0, 2, 1], [0, 1, 2, 3]])
    compressed = np.array([[1, 2, 1, 1], [1, 2, 2, 3]])
    assert pruning_identified_exemplars(baseline, compressed, 4).tolist() == [
        False,
        True,
        False,
        True,
    ]
    smallest = pruning_identified_exemplars(baseline, compressed, 4, tie_break="smallest")
    assert smallest.tolist() == [False, True, True, False]


def test_pie_matches_its_definition_on_random_populations(small_blocks: None) -> None:
    rng = np.random.default_rng(1)
    baseline, compressed = rng.integers(0, 3, (5, 90)), rng.integers(0, 3, (3, 90))
    expected = np.array(modal_by_loop(baseline)) != np.array(modal_by_loop(compressed))
    np.testing.assert_array_equal(pruning_identified_exemplars(baseline, compressed, 3), expected)


def test_pie_summary_by_hand() -> None:
    labels = np.array([0, 1, 2, 3])
    baseline = np.array([[0, 1, 2, 0], [0, 1, 0, 3]])
    compressed = np.array([[0, 2, 2, 3], [1, 1, 2, 3]])
    summary = pie_summary(labels, baseline, compressed, np.array([False, True, False, False]))
    assert (summary["pie_count"], summary["pie_share"]) == (1, 0.25)
    assert summary["baseline"]["all"] == {"mean": 0.75, "sd": 0.0}
    assert summary["baseline"]["pie"] == {"mean": 1.0, "sd": 0.0}
    assert summary["compressed"]["pie"]["mean"] == 0.5
    assert summary["compressed"]["pie"]["sd"] == pytest.approx(math.sqrt(0.5))
    assert summary["baseline"]["non_pie"]["mean"] == pytest.approx(2 / 3)
    assert summary["compressed"]["non_pie"]["mean"] == pytest.approx(5 / 6)
    assert summary["compressed"]["non_pie"]["sd"] == pytest.approx((1 / 3) / math.sqrt(2))
    assert summary["gap"]["pie"] == pytest.approx(-0.5)
    assert summary["gap"]["non_pie"] == pytest.approx(1 / 6)


def test_pie_summary_without_pies_and_with_one_model() -> None:
    labels = np.array([0, 1])
    summary = pie_summary(labels, np.array([0, 1]), np.array([0, 0]), np.array([False, False]))
    assert summary["pie_count"] == 0
    assert math.isnan(summary["baseline"]["pie"]["mean"])
    assert math.isnan(summary["compressed"]["all"]["sd"])  # one model: no spread


# -------------------------------------------------------------------------- Welch test


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, constant column
def test_welch_t_test_matches_scipy_per_column() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0.0, 1.0, (7, 5))
    b = rng.normal(0.5, 2.0, (4, 5))
    b[:, 3] = 0.25  # one constant side
    t, df, p = welch_t_test(a, b)
    for c in range(5):
        reference = ttest_ind(a[:, c], b[:, c], equal_var=False)
        assert t[c] == pytest.approx(reference.statistic, rel=1e-12)
        assert p[c] == pytest.approx(reference.pvalue, rel=1e-9)
        assert df[c] == pytest.approx(reference.df, rel=1e-12)


def test_welch_t_test_when_both_populations_are_constant() -> None:
    a = np.array([[0.1, 0.3], [0.1, 0.3]])
    b = np.array([[0.1, 0.2], [0.1, 0.2], [0.1, 0.2]])
    t, df, p = welch_t_test(a, b)
    assert t.tolist() == [0.0, math.inf] and p.tolist() == [1.0, 0.0]
    assert np.isnan(df).all()


def test_welch_t_test_needs_two_models_per_population() -> None:
    with pytest.raises(PopulationSizeError, match="at least 2 models"):
        welch_t_test(np.zeros((1, 3)), np.zeros((4, 3)))
    with pytest.raises(PopulationSizeError, match="baseline_preds holds 1 model"):
        class_disparate_impact(np.array([0, 1]), np.array([0, 1]), np.zeros((2, 2), int), 2)


def test_a_single_model_population_can_leave_the_welch_test_empty_instead_of_raising() -> None:
    labels = np.array([0, 0, 1, 1])
    baseline = np.array([[0, 0, 1, 1]])  # one model, every instance right
    compressed = np.array([[0, 1, 1, 1], [0, 0, 1, 1]])
    result = class_disparate_impact(labels, baseline, compressed, 2, untestable="nan")
    assert np.isnan(result["t"]).all() and np.isnan(result["p_value"]).all()
    assert np.isnan(result["p_adjusted"]).all() and not result["impacted"].any()
    # normalized recall r − acc: baseline [0, 0]; compressed [−0.25, +0.25] and [0, 0]
    np.testing.assert_allclose(result["normalized_recall_change"], [-0.125, 0.125])
    assert result["baseline_accuracy"] == 1.0 and result["compressed_accuracy"] == 0.875


# ------------------------------------------------------------- population sizes


def test_populations_of_equal_size_get_no_warning() -> None:
    assert population_size_warnings(3, 3) == []
    assert population_size_warnings(2, 2) == []


def test_populations_of_different_sizes_get_a_warning_naming_both_sizes() -> None:
    (message,) = population_size_warnings(3, 4)
    assert "3 baseline" in message and "4 compressed" in message
    assert "equal size" in message


def test_a_population_of_one_model_gets_a_warning_per_side() -> None:
    one_each = population_size_warnings(1, 1)
    assert len(one_each) == 2
    assert "baseline population is a single model" in one_each[0]
    assert "compressed population is a single model" in one_each[1]
    unequal_and_single = population_size_warnings(1, 3)
    assert len(unequal_and_single) == 2 and "1 baseline" in unequal_and_single[0]


# ------------------------------------------------------------- class disparate impact


def population(rng: np.random.Generator, labels: np.ndarray, hit_rate: np.ndarray, k: int):
    """k models predicting each instance right with its class's hit rate, else class + 1."""
    right = rng.random((k, labels.size)) < hit_rate[labels]
    return np.where(right, labels, (labels + 1) % hit_rate.size)


def test_class_disparate_impact_is_welch_on_normalized_recall() -> None:
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(4), 100)
    baseline = population(rng, labels, np.array([0.9, 0.9, 0.8, 0.7]), 6)
    compressed = population(rng, labels, np.array([0.9, 0.5, 0.8, 0.7]), 5)
    result = class_disparate_impact(labels, baseline, compressed, 4)

    def normalized(preds: np.ndarray) -> np.ndarray:
        correct = preds == labels
        recall = np.stack([correct[:, labels == c].mean(axis=1) for c in range(4)], axis=1)
        return recall - correct.mean(axis=1, keepdims=True)

    for c in range(4):
        reference = ttest_ind(
            normalized(compressed)[:, c], normalized(baseline)[:, c], equal_var=False
        )
        assert result["t"][c] == pytest.approx(reference.statistic, rel=1e-9)
        assert result["p_value"][c] == pytest.approx(reference.pvalue, rel=1e-9)
    change = normalized(compressed).mean(axis=0) - normalized(baseline).mean(axis=0)
    np.testing.assert_allclose(result["normalized_recall_change"], change)
    assert result["impacted"][1] and result["t"][1] < 0
    np.testing.assert_array_equal(result["impacted"], result["p_value"] <= 0.05)


def test_identical_populations_impact_no_class_and_an_absent_class_is_nan() -> None:
    labels = np.array([0, 0, 1, 1])
    preds = np.array([[0, 1, 1, 1], [0, 1, 1, 1]])
    result = class_disparate_impact(labels, preds, preds, 3)
    assert result["p_value"][:2].tolist() == [1.0, 1.0]
    assert math.isnan(result["p_value"][2]) and not result["impacted"].any()


def test_bh_correction_adjusts_the_impacted_classes() -> None:
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(6), 60)
    rates = np.full(6, 0.8)
    baseline = population(rng, labels, rates, 5)
    compressed = population(rng, labels, np.array([0.8, 0.6, 0.8, 0.7, 0.8, 0.8]), 5)
    plain = class_disparate_impact(labels, baseline, compressed, 6)
    adjusted = class_disparate_impact(labels, baseline, compressed, 6, correction="bh")
    np.testing.assert_allclose(adjusted["p_adjusted"], benjamini_hochberg(plain["p_value"]))
    np.testing.assert_array_equal(adjusted["impacted"], adjusted["p_adjusted"] <= 0.05)
    np.testing.assert_array_equal(plain["p_adjusted"], plain["p_value"])


def test_benjamini_hochberg_by_hand() -> None:
    np.testing.assert_allclose(
        benjamini_hochberg([0.01, 0.04, 0.03, 0.005]), [0.02, 0.04, 0.04, 0.02]
    )
    np.testing.assert_allclose(benjamini_hochberg([0.04, 0.01, 0.9]), [0.06, 0.03, 0.9])
    adjusted = benjamini_hochberg([0.5, np.nan, 0.01])
    np.testing.assert_allclose(adjusted, [0.5, np.nan, 0.02])
    p = np.random.default_rng(5).random(20) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p))


# -------------------------------------------------------------- population distance


def test_population_distance_is_l1_between_mean_distributions(small_blocks: None) -> None:
    baseline = np.array(
        [[[1.0, 0.0], [0.5, 0.5], [0.2, 0.8]], [[1.0, 0.0], [0.5, 0.5], [0.4, 0.6]]]
    )
    compressed = np.array([[[0.0, 1.0], [0.5, 0.5], [0.1, 0.9]]])
    order, distance = population_distance_ranking(
        baseline.astype(np.float16), compressed.astype(np.float16)
    )
    np.testing.assert_allclose(distance, [2.0, 0.0, 0.4], atol=2e-3)
    assert order.tolist() == [0, 2, 1]


def test_population_distance_matches_a_loop(small_blocks: None) -> None:
    rng = np.random.default_rng(6)
    baseline = rng.dirichlet(np.ones(5), (3, 40)).astype(np.float32)
    compressed = rng.dirichlet(np.ones(5), (2, 40)).astype(np.float32)
    order, distance = population_distance_ranking(baseline, compressed)
    loop = [
        np.abs(baseline[:, n].mean(axis=0) - compressed[:, n].mean(axis=0)).sum() for n in range(40)
    ]
    np.testing.assert_allclose(distance, loop, rtol=1e-5)
    assert (np.diff(distance[order]) <= 0).all()


def test_population_distance_refuses_mismatched_or_broken_inputs() -> None:
    with pytest.raises(InvalidOutputError, match="must share"):
        population_distance_ranking(np.zeros((2, 3, 4)), np.zeros((2, 3, 5)))
    broken = np.zeros((1, 2, 2))
    broken[0, 1, 0] = np.nan
    with pytest.raises(InvalidOutputError, match="NaN"):
        population_distance_ranking(broken, np.zeros((1, 2, 2)))
