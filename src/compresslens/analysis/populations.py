"""Populations of models: Pruning Identified Exemplars and class-level disparate impact.

After Hooker et al., "What Do Compressed Deep Neural Networks Forget?" (2019): train K
models per compression level (seeds), compare the population's modal labels (PIE; CIE for
quantization, the rule is the same) and each class's recall relative to the model's own
accuracy (a Welch t-test between the two populations). Predictions are [K, N] integer
arrays, one row per model of the population; nothing here loops over instances or models.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import stdtr

from compresslens.analysis.group_change import BLOCK_ELEMENTS, count_by_group
from compresslens.analysis.inputs import (
    as_ids,
    as_mask,
    as_model_rows,
    check_ids_in_range,
    check_length,
    slices,
)
from compresslens.analysis.multiple_testing import benjamini_hochberg
from compresslens.errors import CompressLensError, IncompatibleDatasetError, InvalidOutputError

TieBreak = Literal["largest", "smallest"]
Correction = Literal["none", "bh"]
Untestable = Literal["raise", "nan"]


class PopulationSizeError(CompressLensError, ValueError):
    """A population too small for the statistic asked of it (e.g. one model for a t-test)."""


# ------------------------------------------------------------------------ modal labels


def modal_label(preds: ArrayLike, num_classes: int, tie_break: TieBreak = "largest") -> np.ndarray:
    """The class most models of the population predict per instance: [N] int64.

    Ties go to the largest class id by default, as in the paper's reference code.
    """
    if tie_break not in ("largest", "smallest"):
        raise ValueError(f"tie_break must be 'largest' or 'smallest', got {tie_break!r}")
    preds = _population("preds", preds, num_classes)
    modal = np.empty(preds.shape[1], dtype=np.int64)
    for rows in _vote_blocks(preds.shape, num_classes):
        votes = _vote_counts(preds[:, rows], num_classes)
        if tie_break == "largest":
            modal[rows] = num_classes - 1 - votes[:, ::-1].argmax(axis=1)
        else:
            modal[rows] = votes.argmax(axis=1)
    return modal


def vote_fractions(preds: ArrayLike, num_classes: int) -> np.ndarray:
    """Per instance, the share of the population voting for each class: [N, C] float32."""
    preds = _population("preds", preds, num_classes)
    fractions = np.empty((preds.shape[1], num_classes), dtype=np.float32)
    for rows in _vote_blocks(preds.shape, num_classes):
        fractions[rows] = _vote_counts(preds[:, rows], num_classes) / np.float32(preds.shape[0])
    return fractions


def _vote_counts(block: np.ndarray, num_classes: int) -> np.ndarray:
    """Votes per (instance, class) of a block [K, n] of predictions: [n, C] int64."""
    instances = block.shape[1]
    codes = np.arange(instances, dtype=np.int64) * num_classes + block
    votes = np.bincount(codes.ravel(), minlength=instances * num_classes)
    return votes.reshape(instances, num_classes)


def _vote_blocks(shape: tuple[int, int], num_classes: int) -> list[slice]:
    """Instance slices whose [n, C] vote table and [K, n] codes stay within the block budget."""
    return list(slices(shape[1], max(1, BLOCK_ELEMENTS // max(num_classes, shape[0]))))


# ----------------------------------------------------------------------------- PIE


def pruning_identified_exemplars(
    baseline_preds: ArrayLike,
    compressed_preds: ArrayLike,
    num_classes: int,
    tie_break: TieBreak = "largest",
) -> np.ndarray:
    """PIE mask [N]: the compressed population's modal label differs from the baseline's.

    The true label plays no part. Any compression works the same way (CIE for quantization).
    """
    baseline = _population("baseline_preds", baseline_preds, num_classes)
    compressed = _population("compressed_preds", compressed_preds, num_classes)
    check_length("compressed_preds", compressed, baseline.shape[1], axis=1)
    return modal_label(baseline, num_classes, tie_break) != modal_label(
        compressed, num_classes, tie_break
    )


def pie_summary(
    labels: ArrayLike,
    baseline_preds: ArrayLike,
    compressed_preds: ArrayLike,
    pie_mask: ArrayLike,
) -> dict[str, Any]:
    """How many PIEs there are and how both populations fare on them and on the rest.

    For each population and each of all / pie / non_pie instances: the mean and sample sd
    (ddof 1; NaN for one model) of per-model accuracy; `non_pie` is the accuracy with PIEs
    removed. `gap` = compressed mean − baseline mean. An empty subset gives NaN.
    """
    labels = as_ids("labels", labels, IncompatibleDatasetError)
    baseline = as_model_rows("baseline_preds", baseline_preds, labels.size)
    compressed = as_model_rows("compressed_preds", compressed_preds, labels.size)
    pie = as_mask("pie_mask", pie_mask, labels.size)
    subsets = {"all": np.ones_like(pie), "pie": pie, "non_pie": ~pie}
    summary: dict[str, Any] = {
        "num_instances": int(labels.size),
        "pie_count": int(np.count_nonzero(pie)),
        "pie_share": float(np.count_nonzero(pie) / labels.size) if labels.size else math.nan,
    }
    for name, preds in (("baseline", baseline), ("compressed", compressed)):
        correct = preds == labels
        summary[name] = {
            key: _mean_sd(_accuracy_on(correct, mask)) for key, mask in subsets.items()
        }
    summary["gap"] = {
        key: summary["compressed"][key]["mean"] - summary["baseline"][key]["mean"]
        for key in subsets
    }
    return summary


def _accuracy_on(correct: np.ndarray, subset: np.ndarray) -> np.ndarray:
    """Each model's accuracy over the instances in subset: [K]; NaN for an empty subset."""
    size = int(np.count_nonzero(subset))
    if size == 0:
        return np.full(correct.shape[0], math.nan)
    return np.count_nonzero(correct & subset, axis=1) / size


def _mean_sd(values: np.ndarray) -> dict[str, float]:
    """Mean and sample sd (ddof 1) of per-model values; sd is NaN for a single model."""
    mean = float(values.mean()) if values.size else math.nan
    sd = float(values.std(ddof=1)) if values.size > 1 else math.nan
    return {"mean": mean, "sd": sd}


# -------------------------------------------------------------- class disparate impact


def class_disparate_impact(
    labels: ArrayLike,
    baseline_preds: ArrayLike,
    compressed_preds: ArrayLike,
    num_classes: int,
    alpha: float = 0.05,
    correction: Correction = "none",
    untestable: Untestable = "raise",
) -> dict[str, Any]:
    """Per class: did compression change its recall relative to the model's own accuracy?

    As in the paper, per model k the normalized recall r_k,c − acc_k; a two-sided Welch
    t-test per class compares the compressed population with the baseline (t > 0: the
    class fares better after compression); `impacted` = p ≤ alpha. `correction="bh"`
    (Benjamini–Hochberg over classes) goes beyond the paper, which tests each class
    at 0.05 unadjusted. Arrays are [C], the two mean accuracies floats; a class absent
    from labels is NaN and never impacted. Zero-variance classes: see welch_t_test.
    A population of one model cannot be tested: PopulationSizeError, or with
    `untestable="nan"` NaN t, df and p (never impacted) beside the recall changes.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    if correction not in ("none", "bh"):
        raise ValueError(f"correction must be 'none' or 'bh', got {correction!r}")
    if untestable not in ("raise", "nan"):
        raise ValueError(f"untestable must be 'raise' or 'nan', got {untestable!r}")
    labels = as_ids("labels", labels, IncompatibleDatasetError)
    check_ids_in_range("labels", labels, num_classes, IncompatibleDatasetError)
    baseline = _normalized_recall(labels, baseline_preds, num_classes, "baseline_preds")
    compressed = _normalized_recall(labels, compressed_preds, num_classes, "compressed_preds")
    single = [
        (name, population["accuracy"].size)
        for name, population in (("baseline_preds", baseline), ("compressed_preds", compressed))
        if population["accuracy"].size < 2
    ]
    if single and untestable == "raise":
        name, size = single[0]
        raise PopulationSizeError(
            f"{name} holds {size} model; the per-class Welch test "
            "needs at least 2 per population: train more seeds"
        )
    if single:
        t = df = p_value = np.full(num_classes, math.nan)
    else:
        t, df, p_value = welch_t_test(compressed["normalized"], baseline["normalized"])
    p_adjusted = benjamini_hochberg(p_value) if correction == "bh" else p_value
    return {
        "t": t,
        "df": df,
        "p_value": p_value,
        "p_adjusted": p_adjusted,
        "impacted": p_adjusted <= alpha,
        "normalized_recall_change": compressed["normalized"].mean(axis=0)
        - baseline["normalized"].mean(axis=0),
        "baseline_recall": baseline["recall"].mean(axis=0),
        "compressed_recall": compressed["recall"].mean(axis=0),
        "baseline_accuracy": float(baseline["accuracy"].mean()),
        "compressed_accuracy": float(compressed["accuracy"].mean()),
    }


def _normalized_recall(
    labels: np.ndarray, preds: ArrayLike, num_classes: int, name: str
) -> dict[str, np.ndarray]:
    """Per model: recall [K, C], accuracy [K] and normalized recall = recall − accuracy."""
    preds = _population(name, preds, num_classes)
    check_length(name, preds, labels.size, axis=1)
    correct = preds == labels
    class_size = np.bincount(labels, minlength=num_classes).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = count_by_group(correct, labels, num_classes) / class_size
        accuracy = np.count_nonzero(correct, axis=1) / labels.size
    return {"recall": recall, "accuracy": accuracy, "normalized": recall - accuracy[:, None]}


def welch_t_test(
    sample_a: ArrayLike, sample_b: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sided Welch t-test of mean(a) vs mean(b) per column of a [Ka, C] and b [Kb, C].

    Returns t, Welch–Satterthwaite df and p, each [C], as scipy.stats.ttest_ind(a, b,
    equal_var=False) per column. Where both columns are constant (scipy gives NaN): equal
    means give t = 0, p = 1 (nothing differs); different means give t = ±inf, p = 0 (the
    populations separate perfectly); df is NaN in both. A NaN column gives NaN.
    """
    a = np.asarray(sample_a, dtype=np.float64)
    b = np.asarray(sample_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise InvalidOutputError(
            f"expected samples of shape [Ka, C] and [Kb, C], got {a.shape} and {b.shape}"
        )
    if min(a.shape[0], b.shape[0]) < 2:
        raise PopulationSizeError(
            f"a Welch t-test needs at least 2 models per population, got {a.shape[0]} "
            f"and {b.shape[0]}: train more seeds"
        )
    mean_a, var_a = _mean_and_variance_of_mean(a)
    mean_b, var_b = _mean_and_variance_of_mean(b)
    spread = var_a + var_b
    difference = mean_a - mean_b
    with np.errstate(invalid="ignore", divide="ignore"):
        t = difference / np.sqrt(spread)
        df = spread**2 / (var_a**2 / (a.shape[0] - 1) + var_b**2 / (b.shape[0] - 1))
    p = 2.0 * stdtr(df, -np.abs(t))
    constant = spread == 0.0
    t = np.where(constant, np.where(difference == 0.0, 0.0, np.copysign(np.inf, difference)), t)
    p = np.where(constant, np.where(difference == 0.0, 1.0, 0.0), p)
    return t, np.where(constant, math.nan, df), np.minimum(p, 1.0)


def _mean_and_variance_of_mean(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and var/K (ddof 1); exactly the value and 0 where a column is constant.

    Rounding would otherwise make three copies of 0.1 look spread out (mean 0.10000000000000002).
    """
    constant = sample.max(axis=0) == sample.min(axis=0)
    mean = np.where(constant, sample[0], sample.mean(axis=0))
    variance = np.where(constant, 0.0, sample.var(axis=0, ddof=1))
    return mean, variance / sample.shape[0]


def population_size_warnings(baseline_size: int, compressed_size: int) -> list[str]:
    """What to warn of when populations are not the paper's equal K ≥ 2 models (else none).

    A larger population's modal label is steadier, so unequal sizes bias the PIE count; one
    model's modal label is its own prediction, and the Welch test needs two per side.
    """
    messages = []
    if baseline_size != compressed_size:
        messages.append(
            f"populations of different sizes: {baseline_size} baseline and {compressed_size} "
            "compressed models; Hooker et al. compare populations of equal size K (the larger "
            "population's modal labels are steadier, so the PIE count mixes compression with "
            "population size)"
        )
    for name, size in (("baseline", baseline_size), ("compressed", compressed_size)):
        if size == 1:
            messages.append(
                f"the {name} population is a single model: its modal label is that model's "
                "prediction and the per-class Welch test is not computed (t and p are null); "
                "train more seeds"
            )
    return messages


# ------------------------------------------------------------ population distance


def population_distance_ranking(
    baseline_probs: ArrayLike, compressed_probs: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Instances ranked by how far the populations' mean output distributions lie apart.

    distance [N] float32 = L1 between the mean over models of the probabilities [K, N, C]
    of each population (0 to 2); order [N] lists instances from most to least different
    (ties by index). Computed in float32 blocks over instances, so float16 inputs stay small.
    """
    baseline = _as_probs("baseline_probs", baseline_probs)
    compressed = _as_probs("compressed_probs", compressed_probs)
    if baseline.shape[1:] != compressed.shape[1:]:
        raise InvalidOutputError(
            f"baseline_probs {baseline.shape} and compressed_probs {compressed.shape} "
            "must share [N, C]"
        )
    instances, classes = baseline.shape[1:]
    models = baseline.shape[0] + compressed.shape[0]
    distance = np.empty(instances, dtype=np.float32)
    for rows in slices(instances, max(1, BLOCK_ELEMENTS // (models * classes))):
        gap = _mean_probs("baseline_probs", baseline, rows)
        gap -= _mean_probs("compressed_probs", compressed, rows)
        distance[rows] = np.abs(gap).sum(axis=1)
    return np.argsort(-distance, kind="stable"), distance


def _mean_probs(name: str, probs: np.ndarray, rows: slice) -> np.ndarray:
    """Mean over models of probs[:, rows] as float32 [n, C], refusing NaN or infinity."""
    mean = probs[:, rows].mean(axis=0, dtype=np.float32)
    if not np.isfinite(mean).all():
        raise InvalidOutputError(f"{name} holds NaN or infinite values")
    return mean


def _as_probs(name: str, values: ArrayLike) -> np.ndarray:
    """Float probabilities of shape [K, N, C] with at least one model; not copied."""
    array = np.asarray(values)
    if array.ndim != 3 or array.dtype.kind != "f" or array.shape[0] == 0:
        raise InvalidOutputError(
            f"expected {name} as float probabilities of shape [K, N, C] with K ≥ 1, "
            f"got {array.dtype} {array.shape}"
        )
    return array


def _population(name: str, preds: ArrayLike, num_classes: int) -> np.ndarray:
    """A population's predictions as [K, N] (one model's [N] is K = 1), ids in range."""
    preds = as_model_rows(name, preds)
    if preds.shape[0] == 0:
        raise PopulationSizeError(f"{name} holds no models")
    check_ids_in_range(name, preds, num_classes, InvalidOutputError)
    return preds
