"""The paired statistics of the verdict, each against scipy on the same numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from compresslens.analysis.multiple_testing import benjamini_hochberg, benjamini_hochberg_rows
from compresslens.analysis.paired_tests import (
    flip_counts,
    flip_statistics,
    judge,
    mcnemar_exact,
    negative_flip_rate,
    overall_verdict,
    paired_bootstrap_difference,
    paired_instance_bound,
    seed_bounds,
)
from compresslens.analysis.populations import PopulationSizeError
from compresslens.errors import InvalidOutputError


def outcomes(size: int, lost: int, gained: int, base_right: int) -> tuple[np.ndarray, np.ndarray]:
    """Correct masks with exactly `lost` and `gained` discordant pairs; `base_right` ≥ lost."""
    base = np.zeros(size, dtype=bool)
    base[:base_right] = True
    model = base.copy()
    model[:lost] = False
    model[base_right : base_right + gained] = True
    return base, model


@pytest.mark.parametrize(("lost", "gained"), [(3, 11), (11, 3), (7, 7), (0, 5), (40, 25), (1, 0)])
def test_mcnemar_exact_is_scipys_two_sided_binomial_test(lost: int, gained: int) -> None:
    result = mcnemar_exact(lost, gained)
    expected = stats.binomtest(lost, lost + gained, 0.5).pvalue
    assert result["p_value"] == pytest.approx(expected, rel=1e-12)
    smaller, n = min(lost, gained), lost + gained
    mid = 2 * (stats.binom.cdf(smaller, n, 0.5) - 0.5 * stats.binom.pmf(smaller, n, 0.5))
    assert result["mid_p"] == pytest.approx(min(1.0, mid), rel=1e-12)
    assert result["mid_p"] <= result["p_value"]


def test_mcnemar_without_discordant_pairs_finds_nothing() -> None:
    assert mcnemar_exact(0, 0)["p_value"] == 1.0
    with pytest.raises(ValueError, match="negative"):
        mcnemar_exact(-1, 2)


def test_flip_counts_and_negative_flip_rate_count_by_hand() -> None:
    base, model = outcomes(200, lost=9, gained=4, base_right=150)
    assert flip_counts(base, model) == (9, 4)
    assert negative_flip_rate(base, model) == pytest.approx(9 / 200)
    assert flip_statistics(9, 4, 200) == {
        "nfr": pytest.approx(0.045),
        "mcnemar_p": pytest.approx(stats.binomtest(9, 13).pvalue),
    }
    assert math.isnan(flip_statistics(0, 0, 0)["nfr"])


def test_flip_counts_refuse_integer_masks() -> None:
    with pytest.raises(InvalidOutputError, match="boolean"):
        flip_counts(np.ones(3, dtype=int), np.ones(3, dtype=bool))


def test_paired_bootstrap_matches_scipys_paired_percentile_bootstrap() -> None:
    base, model = outcomes(600, lost=30, gained=12, base_right=500)
    ours = paired_bootstrap_difference(base, model, n_boot=2000, seed=1, ci=0.9)
    theirs = stats.bootstrap(
        (model.astype(float), base.astype(float)),
        lambda m, b, axis: m.mean(axis=axis) - b.mean(axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=2000,
        confidence_level=0.9,
        method="percentile",
        random_state=np.random.default_rng(2),
    ).confidence_interval
    assert ours["difference"] == pytest.approx(-18 / 600)
    # Monte Carlo: two independent streams of 2000 replicates agree to about 1/N
    assert ours["low"] == pytest.approx(theirs.low, abs=2.5 / 600)
    assert ours["high"] == pytest.approx(theirs.high, abs=2.5 / 600)
    assert paired_bootstrap_difference(base, model, n_boot=500, seed=3) == (
        paired_bootstrap_difference(base, model, n_boot=500, seed=3)
    )


@pytest.mark.parametrize(
    ("lost", "gained", "margin"), [(30, 12, 0.05), (5, 9, 0.005), (2, 0, 0.02)]
)
def test_instance_bound_is_a_one_sample_t_on_the_paired_differences(
    lost: int, gained: int, margin: float
) -> None:
    base, model = outcomes(900, lost, gained, base_right=800)
    difference = model.astype(float) - base.astype(float)
    bound = paired_instance_bound(lost, gained, 900, margin, alpha=0.05)
    test = stats.ttest_1samp(difference, -margin, alternative="greater")
    interval = stats.ttest_1samp(difference, 0.0, alternative="greater").confidence_interval(0.95)
    upper = stats.ttest_1samp(difference, 0.0, alternative="less").confidence_interval(0.95)
    assert bound["difference"] == pytest.approx(difference.mean())
    assert bound["p_no_worse"] == pytest.approx(test.pvalue, rel=1e-9)
    assert bound["lower"] == pytest.approx(interval.low, rel=1e-9)
    assert bound["upper"] == pytest.approx(upper.high, rel=1e-9)


@pytest.mark.parametrize("size", [5, 50, 2000])
def test_instance_bound_without_flips_is_the_exact_bound_on_an_unseen_loss(size: int) -> None:
    bound = paired_instance_bound(0, 0, size, 0.02, alpha=0.05)
    exact = stats.binomtest(0, size).proportion_ci(confidence_level=0.9, method="exact")
    assert bound["difference"] == 0.0
    assert bound["lower"] == pytest.approx(-exact.high, rel=1e-9)
    assert bound["upper"] == pytest.approx(exact.high, rel=1e-9)
    no_loss = stats.binomtest(0, size, 0.02, alternative="less").pvalue
    assert bound["p_no_worse"] == pytest.approx(no_loss, rel=1e-9)
    # five unchanged instances prove little; two thousand exclude a 2-point loss
    assert judge(bound["lower"], bound["upper"], 0.02) == (
        "pass" if size == 2000 else "inconclusive"
    )


def test_seed_bounds_paired_are_a_t_on_the_per_seed_differences() -> None:
    base = np.array([0.871, 0.874, 0.869, 0.880, 0.872])
    model = np.array([0.860, 0.871, 0.861, 0.866, 0.869])
    bound = seed_bounds(base, model, margin=0.005, alpha=0.05, paired=True)
    test = stats.ttest_1samp(model - base, -0.005, alternative="greater")
    interval = stats.ttest_1samp(model - base, 0.0, alternative="greater").confidence_interval(0.95)
    assert bound["p_no_worse"] == pytest.approx(test.pvalue, rel=1e-9)
    assert bound["lower"] == pytest.approx(interval.low, rel=1e-9)
    assert bound["df"] == 4


def test_seed_bounds_unpaired_are_welchs_one_sided_test() -> None:
    base = np.array([0.871, 0.874, 0.869, 0.880])
    model = np.array([0.860, 0.871, 0.861, 0.866, 0.869, 0.858])
    bound = seed_bounds(base, model, margin=0.005, alpha=0.1, paired=False)
    test = stats.ttest_ind(model, base - 0.005, equal_var=False, alternative="greater")
    interval = stats.ttest_ind(
        model, base, equal_var=False, alternative="greater"
    ).confidence_interval(0.9)
    assert bound["p_no_worse"] == pytest.approx(test.pvalue, rel=1e-9)
    assert bound["df"] == pytest.approx(test.df, rel=1e-9)
    assert bound["lower"] == pytest.approx(interval.low, rel=1e-9)


def test_seed_bounds_need_two_seeds_per_side() -> None:
    with pytest.raises(PopulationSizeError, match="at least 2"):
        seed_bounds([0.9], [0.8, 0.85], margin=0.01, alpha=0.05, paired=False)
    with pytest.raises(PopulationSizeError, match="at least 2"):
        seed_bounds([0.9], [0.8], margin=0.01, alpha=0.05, paired=True)


def test_benjamini_hochberg_matches_scipy_per_row() -> None:
    p = np.random.default_rng(0).uniform(0, 0.2, size=(3, 12))
    adjusted = benjamini_hochberg_rows(p)
    for row, ours in zip(p, adjusted, strict=True):
        np.testing.assert_allclose(ours, stats.false_discovery_control(row), rtol=1e-12)
    np.testing.assert_allclose(benjamini_hochberg(p[0]), stats.false_discovery_control(p[0]))


@pytest.mark.parametrize(
    ("lower", "upper", "call"),
    [(-0.4, 0.3, "pass"), (-0.6, 0.3, "inconclusive"), (-1.2, -0.6, "regression")],
)
def test_judge_compares_the_bounds_with_the_tolerated_drop(
    lower: float, upper: float, call: str
) -> None:
    assert judge(lower, upper, 0.5) == call


def test_judge_calls_nan_bounds_inconclusive() -> None:
    assert judge(math.nan, math.nan, 0.5) == "inconclusive"


def test_the_verdict_passes_only_when_every_row_passes() -> None:
    assert overall_verdict(["pass", "pass"]) == "equivalent"
    assert overall_verdict(["pass", "inconclusive"]) == "inconclusive"
    assert overall_verdict(["regression", "inconclusive", "pass"]) == "regression"
    assert overall_verdict([]) == "inconclusive"


@pytest.mark.parametrize(
    ("dropped", "call"), [(10, "pass"), (40, "inconclusive"), (100, "regression")]
)
def test_a_planted_class_regression_flips_the_call_when_it_crosses_the_tolerance(
    dropped: int, call: str
) -> None:
    """One class of 2000 instances, all right for the base; the model drops exactly
    `dropped` of them. δ_c = 2 points = 40 instances: below passes, at it is undecidable,
    far beyond it is an established regression."""
    base = np.ones(2000, dtype=bool)
    model = base.copy()
    model[:dropped] = False
    lost, gained = flip_counts(base, model)
    bound = paired_instance_bound(lost, gained, 2000, 0.02, alpha=0.05)
    assert judge(bound["lower"], bound["upper"], 0.02) == call
