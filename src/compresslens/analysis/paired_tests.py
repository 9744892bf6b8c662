"""Paired tests of a base model against a compressed one on the same instances.

Both models answer the same instances, so their outcomes are paired: the unpaired tests
one would use for two independent samples waste that (lm-evaluation-harness #3831). Here:
McNemar's exact test on the discordant pairs, the negative flip rate (Yan et al., CVPR
2021), a paired bootstrap interval of the accuracy difference, and the one-sided bounds an
equivalence (TOST-style) verdict needs, per instance or per seed of a population. Inputs are
boolean `correct` masks [N]; outputs are plain floats and ints.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import stdtr, stdtrit
from scipy.stats import binom

from compresslens.analysis.group_change import check_bootstrap_parameters
from compresslens.analysis.inputs import as_mask
from compresslens.analysis.populations import PopulationSizeError


def flip_counts(base_correct: ArrayLike, correct: ArrayLike) -> tuple[int, int]:
    """(b, c): instances the base got right and the model wrong (lost), and the reverse."""
    base = as_mask("base_correct", base_correct)
    model = as_mask("correct", correct, base.size)
    return int(np.count_nonzero(base & ~model)), int(np.count_nonzero(~base & model))


def negative_flip_rate(base_correct: ArrayLike, correct: ArrayLike) -> float:
    """Yan et al.'s NFR: the share of all instances the base got right and the model gets
    wrong (a regression a user notices even when accuracy rises). NaN for no instances."""
    lost, _ = flip_counts(base_correct, correct)
    size = np.asarray(base_correct).size
    return lost / size if size else math.nan


def mcnemar_exact(lost: int, gained: int) -> dict[str, float | int]:
    """McNemar's exact test: two-sided binomial p of `lost` of lost + gained at 0.5.

    Only the discordant pairs carry information on a difference. `p_value` is the exact
    p (as scipy.stats.binomtest(lost, lost + gained).pvalue), `mid_p` the less conservative
    mid-p variant (the exact p minus the probability of the observed count); no discordant
    pair gives p = 1.
    """
    if lost < 0 or gained < 0:
        raise ValueError(f"flip counts must not be negative, got {lost} and {gained}")
    discordant = lost + gained
    if discordant == 0:
        return {"lost": 0, "gained": 0, "p_value": 1.0, "mid_p": 1.0}
    smaller = min(lost, gained)
    tail = float(binom.cdf(smaller, discordant, 0.5))
    point = float(binom.pmf(smaller, discordant, 0.5))
    exact = min(1.0, 2.0 * tail)
    mid = min(1.0, 2.0 * (tail - 0.5 * point))
    return {"lost": lost, "gained": gained, "p_value": exact, "mid_p": mid}


def flip_statistics(lost: int, gained: int, total: int) -> dict[str, float]:
    """The flip metrics every comparison carries: `nfr` (lost / all instances, NaN for
    none) and `mcnemar_p` (the exact two-sided p of lost vs gained)."""
    return {
        "nfr": lost / total if total else math.nan,
        "mcnemar_p": float(mcnemar_exact(lost, gained)["p_value"]),
    }


def paired_bootstrap_difference(
    base_correct: ArrayLike,
    correct: ArrayLike,
    n_boot: int = 2000,
    seed: int = 0,
    ci: float = 0.95,
) -> dict[str, float]:
    """Accuracy difference (model − base) with a percentile interval from resampling
    instances, both models' outcomes together (the pairing kept).

    A resample of N instances draws the counts of (gained, lost, unchanged) pairs from
    Multinomial(N, observed shares): exactly what resampling indices gives, at B numbers
    instead of B × N. Reproducible given the seed.
    """
    check_bootstrap_parameters(n_boot, ci)
    lost, gained = flip_counts(base_correct, correct)
    size = np.asarray(base_correct).size
    if size == 0:
        return {"difference": math.nan, "low": math.nan, "high": math.nan}
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(
        size, [gained / size, lost / size, 1.0 - (gained + lost) / size], n_boot
    )
    replicates = (draws[:, 0] - draws[:, 1]) / size
    low, high = np.quantile(replicates, [(1.0 - ci) / 2.0, (1.0 + ci) / 2.0])
    return {"difference": (gained - lost) / size, "low": float(low), "high": float(high)}


def paired_instance_bound(lost: int, gained: int, size: int, margin: float, alpha: float) -> dict:
    """One-sided bounds of the accuracy difference from per-instance paired differences.

    d_i = correct_model − correct_base ∈ {−1, 0, 1}: a one-sample t on them (as
    scipy.stats.ttest_1samp(d, −margin, alternative="greater")) gives `p_no_worse`, the p of
    "the model loses `margin` or more", and `lower`/`upper`, the (1 − alpha) one-sided bounds.
    No flip at all makes d constant and the t meaningless (a class of 5 would pass any
    margin): then each side's flip rate gets its exact one-sided Clopper–Pearson bound for
    0 of `size`, 1 − alpha^(1/size), and `p_no_worse` is the chance of no loss at all were
    the loss rate `margin`, (1 − margin)^size.
    """
    _check_alpha(alpha)
    if size < 2:
        return _bounds(math.nan, math.nan, math.nan, math.nan, math.nan)
    if lost + gained == 0:
        rate = 1.0 - alpha ** (1.0 / size)
        return _bounds(0.0, -rate, rate, (1.0 - min(margin, 1.0)) ** size, math.nan)
    mean = (gained - lost) / size
    variance = max(0.0, ((gained + lost) - size * mean**2) / (size - 1))
    return _t_bounds(mean, math.sqrt(variance / size), size - 1, margin, alpha)


def seed_bounds(
    base_values: ArrayLike, values: ArrayLike, margin: float, alpha: float, paired: bool
) -> dict:
    """The same bounds across a population of seeds: per-seed accuracies [K] of each side.

    `paired` (each compressed model derives from the base model at the same position): a
    one-sample t on the K differences, df K − 1 (scipy.stats.ttest_1samp). Else Welch's
    unequal-variance t (scipy.stats.ttest_ind(values, base_values + (−margin),
    equal_var=False, alternative="greater")) — the per-class Welch test of Hooker et al.
    stays in analysis.populations as published.
    """
    _check_alpha(alpha)
    base = np.asarray(base_values, dtype=np.float64)
    model = np.asarray(values, dtype=np.float64)
    if paired:
        if base.shape != model.shape:
            raise ValueError(f"paired seeds need equal shapes, got {base.shape} and {model.shape}")
        if base.size < 2:
            raise PopulationSizeError("a paired bound across seeds needs at least 2 pairs")
        difference = model - base
        spread = float(difference.std(ddof=1)) / math.sqrt(difference.size)
        return _t_bounds(float(difference.mean()), spread, difference.size - 1, margin, alpha)
    if min(base.size, model.size) < 2:
        raise PopulationSizeError(
            f"a Welch bound needs at least 2 models per population, got {base.size} and "
            f"{model.size}: train more seeds"
        )
    var_b, var_m = base.var(ddof=1) / base.size, model.var(ddof=1) / model.size
    spread2 = var_b + var_m
    df = spread2**2 / (var_b**2 / (base.size - 1) + var_m**2 / (model.size - 1)) if spread2 else 1
    mean = float(model.mean() - base.mean())
    return _t_bounds(mean, math.sqrt(spread2), float(df), margin, alpha)


def _t_bounds(mean: float, spread: float, df: float, margin: float, alpha: float) -> dict:
    """Bounds mean ∓ t_{1−α, df}·spread and the one-sided p of "mean ≤ −margin"."""
    if spread == 0.0:
        p = 0.0 if mean > -margin else 1.0
        return _bounds(mean, mean, mean, p, df)
    quantile = float(stdtrit(df, 1.0 - alpha))
    t = (mean + margin) / spread
    return _bounds(
        mean, mean - quantile * spread, mean + quantile * spread, float(stdtr(df, -t)), df
    )


def _bounds(difference: float, lower: float, upper: float, p_no_worse: float, df: float) -> dict:
    return {
        "difference": difference,
        "lower": lower,
        "upper": upper,
        "p_no_worse": p_no_worse,
        "df": df,
    }


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must lie strictly between 0 and 0.5, got {alpha}")


def judge(lower: float, upper: float, margin: float) -> str:
    """One row's call against a tolerated drop `margin` (same units as the bounds):
    "pass" when the lower bound clears −margin (a larger drop is excluded), "regression"
    when the upper bound lies below −margin (a larger drop is established), else
    "inconclusive" (also for NaN bounds: an empty group proves nothing)."""
    if lower > -margin:
        return "pass"
    if upper < -margin:
        return "regression"
    return "inconclusive"


def overall_verdict(calls: list[str]) -> str:
    """All rows pass → "equivalent" (intersection–union: each at alpha keeps the whole claim
    at alpha, no correction needed); any regression → "regression"; else "inconclusive"."""
    if calls and all(call == "pass" for call in calls):
        return "equivalent"
    if "regression" in calls:
        return "regression"
    return "inconclusive"


VERDICT_MEANING: dict[str, str] = {
    "equivalent": "a drop beyond the tolerated one is excluded at confidence 1 − alpha, "
    "overall and in every class and subgroup",
    "regression": "a drop beyond the tolerated one is established at confidence 1 − alpha "
    "(overall or in some class or subgroup)",
    "inconclusive": "the data cannot exclude a drop beyond the tolerated one: more data "
    "(instances or seeds) or a larger tolerance",
}
