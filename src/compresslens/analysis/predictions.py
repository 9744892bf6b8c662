"""Compare a base model with one or many compressed models, instance by instance.

Inputs are the per-instance columns evaluate stores (see evaluate.outputs.OUTPUT_COLUMNS):
predictions [N] or [M, N] (integer class ids), labels [N], and optionally float16/float32
logits [N, C] or [M, N, C]. One model given as [N] counts as M = 1, so results always keep
the model axis M. Everything is vectorised over models and instances, in blocks of bounded
size. Per-group accuracy change lives in analysis.group_change and output divergence in
analysis.divergence; both are importable from here too, as they always were.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from compresslens.analysis.divergence import DIVERGENCE_MEASURES, output_divergence
from compresslens.analysis.group_change import (
    EXCESS_MEANING,
    excess_direction,
    group_change_from_counts,
    per_group_accuracy_change,
)
from compresslens.analysis.inputs import (
    as_ids,
    as_mask,
    as_mask_rows,
    as_model_rows,
    as_scores,
    budget_slices,
    check_ids_in_range,
    check_length,
    fraction,
    id_count,
    slices,
)
from compresslens.errors import IncompatibleDatasetError, InvalidOutputError
from compresslens.evaluate.metrics import expected_calibration_error, reliability_bins

__all__ = [
    "DIVERGENCE_MEASURES",
    "EXCESS_MEANING",
    "agreement_rate",
    "calibration_change",
    "excess_direction",
    "flip_counts",
    "flip_masks",
    "group_change_from_counts",
    "output_divergence",
    "pairwise_agreement",
    "per_group_accuracy_change",
    "top_transitions",
    "transition_matrix",
]

BLOCK_ELEMENTS = 1 << 21
"""Elements per work block (8 MiB of float32): the bound on every temporary array here."""

# ---------------------------------------------------------------- prediction agreement


def agreement_rate(base_pred: ArrayLike, preds: ArrayLike) -> np.ndarray:
    """Per model, the fraction of instances predicted as the base predicts: [M] float64."""
    base_pred = as_ids("base_pred", base_pred)
    preds = as_model_rows("preds", preds, base_pred.size)
    return fraction(np.count_nonzero(preds == base_pred, axis=1), base_pred.size)


def pairwise_agreement(preds_all: ArrayLike) -> np.ndarray:
    """Agreement rate of every pair of models, [M, M] float64 with 1 on the diagonal.

    A one-hot product Σ_c X_c X_cᵀ, split for speed: per instance the most voted class
    goes through one dense matrix product, the few other votes through pair counting.
    """
    preds_all = as_model_rows("preds_all", preds_all)
    models, instances = preds_all.shape
    if instances == 0:
        return np.full((models, models), math.nan)
    num_ids = id_count("preds_all", preds_all)
    shared = np.zeros((models, models), dtype=np.int64)
    for block in slices(instances, max(1, BLOCK_ELEMENTS // max(models, num_ids))):
        shared += _shared_prediction_counts(preds_all[:, block], num_ids)
    np.fill_diagonal(shared, instances)
    return shared / instances


def _shared_prediction_counts(block: np.ndarray, num_ids: int) -> np.ndarray:
    """For a block [M, n] of predictions, how many instances each pair of models shares."""
    models, instances = block.shape
    codes = np.arange(instances, dtype=np.int64) * num_ids + block  # (instance, class)
    votes = np.bincount(codes.ravel(), minlength=instances * num_ids)
    modal = votes.reshape(instances, num_ids).argmax(axis=1)
    on_modal = block == modal
    dense = on_modal.astype(np.float32)  # 0/1 sums stay exact below 2**24 instances
    shared = np.rint(dense @ dense.T).astype(np.int64)
    model_ids, instance_ids = np.nonzero(~on_modal)
    return shared + _minority_pair_counts(codes[model_ids, instance_ids], model_ids, models)


def _minority_pair_counts(codes: np.ndarray, model_ids: np.ndarray, models: int) -> np.ndarray:
    """How often each pair of models casts the same minority (instance, class) vote: [M, M].

    Only the off-diagonal is meaningful; the caller sets the diagonal.
    """
    order = np.argsort(codes, kind="stable")
    codes, model_ids = codes[order], model_ids[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, codes.size])
    shared_vote = sizes > 1  # a vote cast by one model pairs it only with itself
    starts, sizes = starts[shared_vote], sizes[shared_vote]
    counts = np.zeros(models * models, dtype=np.int64)
    for part in budget_slices(np.cumsum(sizes * sizes), BLOCK_ELEMENTS):
        rows, cols = _pairs_within_runs(model_ids, starts[part], sizes[part])
        counts += np.bincount(rows * models + cols, minlength=models * models)
    return counts.reshape(models, models)


def _pairs_within_runs(
    members: np.ndarray, starts: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (a, b) of members within each run members[start : start + size]."""
    partners = np.repeat(sizes, sizes)  # one entry per run member: its run's size
    run_start = np.repeat(starts, sizes)
    member = run_start + (np.arange(partners.size) - np.repeat(np.cumsum(sizes) - sizes, sizes))
    first = np.repeat(run_start, partners)
    offset = np.arange(first.size) - np.repeat(np.cumsum(partners) - partners, partners)
    return np.repeat(members[member], partners), members[first + offset]


# ------------------------------------------------------------------------------- flips


def flip_masks(labels: ArrayLike, base_pred: ArrayLike, preds: ArrayLike) -> dict[str, np.ndarray]:
    """Which instances each model flipped relative to the base, as boolean [M, N] masks.

    `incorrect_to_other_incorrect` is wrong in both but with a different class; the three
    masks are disjoint and together are exactly the changed predictions.
    """
    labels = as_ids("labels", labels, IncompatibleDatasetError)
    base_pred = as_ids("base_pred", base_pred)
    check_length("base_pred", base_pred, labels.size)
    preds = as_model_rows("preds", preds, labels.size)
    base_correct = base_pred == labels
    correct = preds == labels
    return {
        "correct_to_incorrect": base_correct & ~correct,
        "incorrect_to_correct": ~base_correct & correct,
        "incorrect_to_other_incorrect": ~base_correct & ~correct & (preds != base_pred),
    }


def flip_counts(labels: ArrayLike, base_pred: ArrayLike, preds: ArrayLike) -> dict[str, np.ndarray]:
    """Per model, how many instances fall in each flip_masks category: [M] int64 each."""
    return {
        name: np.count_nonzero(mask, axis=1).astype(np.int64)
        for name, mask in flip_masks(labels, base_pred, preds).items()
    }


# ------------------------------------------------------------------ class transitions


def transition_matrix(base_pred: ArrayLike, pred: ArrayLike, num_classes: int) -> np.ndarray:
    """Counts [C, C]: row = the base's predicted class, column = the model's predicted class."""
    base_pred = as_ids("base_pred", base_pred)
    pred = as_ids("pred", pred)
    check_length("pred", pred, base_pred.size)
    check_ids_in_range("base_pred", base_pred, num_classes, InvalidOutputError)
    check_ids_in_range("pred", pred, num_classes, InvalidOutputError)
    codes = base_pred.astype(np.int64) * num_classes + pred
    return np.bincount(codes, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def top_transitions(
    matrix: ArrayLike, class_names: Sequence[str] | None = None, k: int = 10
) -> list[dict[str, Any]]:
    """The k most frequent changes "A ▸ B" (diagonal excluded), largest count first.

    `share` is the fraction of all changed predictions; count ties go to the lower (A, B).
    """
    if k < 0:
        raise ValueError(f"k must be at least 0, got {k}")
    counts = np.array(matrix, dtype=np.int64)  # a copy: the diagonal is zeroed below
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise InvalidOutputError(f"expected a square [C, C] matrix, got shape {counts.shape}")
    names = _class_names(class_names, counts.shape[0])
    np.fill_diagonal(counts, 0)
    changed = int(counts.sum())
    flat = np.argsort(-counts.ravel(), kind="stable")[:k]
    flat = flat[counts.ravel()[flat] > 0]
    sources, targets = np.divmod(flat, counts.shape[0])
    return [
        {
            "transition": f"{names[a]} ▸ {names[b]}",
            "from_class": int(a),
            "to_class": int(b),
            "count": int(counts[a, b]),
            "share": float(counts[a, b] / changed),
        }
        for a, b in zip(sources.tolist(), targets.tolist(), strict=True)
    ]


def _class_names(class_names: Sequence[str] | None, num_classes: int) -> list[str]:
    """The given names, checked to be one per class; class ids as text when none are given."""
    if class_names is None:
        return [str(c) for c in range(num_classes)]
    if len(class_names) != num_classes:
        raise IncompatibleDatasetError(
            f"got {len(class_names)} class names for a {num_classes}-class matrix"
        )
    return [str(name) for name in class_names]


# ------------------------------------------------------------------------- calibration


def calibration_change(
    base_conf: ArrayLike,
    base_correct: ArrayLike,
    conf: ArrayLike,
    correct: ArrayLike,
    n_bins: int = 15,
) -> dict[str, Any]:
    """ECE and reliability bins of the base and each model: compression often shifts both.

    `ece` and `ece_change` (model − base) are [M]; `reliability` is one dict per model.
    """
    base_correct = as_mask("base_correct", base_correct)
    instances = base_correct.size
    base_conf = as_scores("base_conf", base_conf, instances)[0]
    conf = as_scores("conf", conf, instances)
    correct = as_mask_rows("correct", correct, instances)
    if correct.shape != conf.shape:
        raise InvalidOutputError(f"conf has shape {conf.shape} but correct has {correct.shape}")
    base_ece = expected_calibration_error(base_conf, base_correct, n_bins)
    ece = np.array(
        [expected_calibration_error(c, k, n_bins) for c, k in zip(conf, correct, strict=True)]
    )
    return {
        "base_ece": base_ece,
        "ece": ece,
        "ece_change": ece - base_ece,
        "base_reliability": reliability_bins(base_conf, base_correct, n_bins),
        "reliability": [reliability_bins(c, k, n_bins) for c, k in zip(conf, correct, strict=True)],
    }
