"""Aggregates over a selection of models at once, for the Behaviours view (up to 50 models):
the pairwise prediction-agreement matrix and each model's reliability bins and ECE.

Both answer exactly what the per-model functions answer (`pairwise_agreement` in
analysis.predictions; `expected_calibration_error` and `reliability_bins` in
evaluate.metrics), computed over stacked [M, N] arrays. Pure numpy: the caller loads the
prediction, confidence and label columns.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from compresslens.analysis.inputs import as_ids, as_model_rows, check_length
from compresslens.errors import IncompatibleDatasetError, InvalidOutputError
from compresslens.evaluate.metrics import ratio_or_nan
from compresslens.evaluate.outputs import first_indices

BLOCK_ELEMENTS = 1 << 21
"""Elements per work block: bounds every temporary array here."""


# ---------------------------------------------------------------- prediction agreement


def equality_agreement(preds_all: ArrayLike) -> np.ndarray:
    """Agreement rate of every pair of models, [M, M] float64 with 1 on the diagonal: what
    `pairwise_agreement` answers (the same integer counts over N), by comparing the rows
    pairwise in blocks of instances.

    It costs M²/2 · N byte comparisons whatever the classes and however much the models
    disagree, so it suits a selection of tens of models (`pairwise_agreement`'s dense matrix
    product scales better to hundreds of models that mostly agree).
    """
    preds_all = as_model_rows("preds_all", preds_all)
    models, instances = preds_all.shape
    if instances == 0:
        return np.full((models, models), math.nan)
    shared = np.zeros((models, models), dtype=np.int64)
    step = max(1, BLOCK_ELEMENTS // max(models, 1))
    for start in range(0, instances, step):
        block = preds_all[:, start : start + step]
        for row in range(models - 1):
            shared[row, row + 1 :] += np.count_nonzero(block[row] == block[row + 1 :], axis=1)
    shared += shared.T
    np.fill_diagonal(shared, instances)
    return shared / instances


# ---------------------------------------------------------------------- calibration


def reliability_batch(
    confidence: ArrayLike,
    prediction: ArrayLike,
    labels: ArrayLike,
    n_bins: int = 15,
) -> dict[str, Any]:
    """Per model: ECE and reliability bins of confidence [M, N] with correct = prediction
    [M, N] == labels ([N], or [M, N] when each model carries its own label column).

    Returns `edges` [n_bins + 1], `count` [M, n_bins] int64, `accuracy` and
    `mean_confidence` [M, n_bins] (NaN in empty bins) and `ece` [M] (NaN with no instances):
    row m equals `expected_calibration_error` and `reliability_bins` of row m bit for bit
    (the same equal-width, right-closed (lo, hi] bins, 0 joining bin 0; one bincount over
    (model, bin) keys adds each model's confidences in the same order as one per model).
    One model's [N] counts as M = 1.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    confidence = np.asarray(confidence)
    confidence = confidence[None, :] if confidence.ndim == 1 else confidence
    if confidence.ndim != 2 or confidence.dtype.kind != "f":
        raise InvalidOutputError(
            f"expected confidence as floats of shape [M, N] or [N], "
            f"got {confidence.dtype} {confidence.shape}"
        )
    models, instances = confidence.shape
    prediction = as_model_rows("prediction", prediction, instances)
    if prediction.shape[0] != models:
        raise InvalidOutputError(
            f"prediction has {prediction.shape[0]} models but confidence has {models}"
        )
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = as_ids("labels", labels, IncompatibleDatasetError)
        check_length("labels", labels, instances)
    else:
        labels = as_model_rows("labels", labels, instances)
        if labels.shape != prediction.shape:
            raise InvalidOutputError(
                f"labels have shape {labels.shape} but prediction has {prediction.shape}"
            )
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    size = models * n_bins
    count = np.zeros(size, dtype=np.int64)
    hits = np.zeros(size, dtype=np.int64)
    confidence_sum = np.zeros(size)
    rows_per_block = max(1, BLOCK_ELEMENTS // max(instances, 1))
    for start in range(0, models, rows_per_block):
        rows = slice(start, min(models, start + rows_per_block))
        conf = confidence[rows]
        _check_probabilities(conf)
        right = prediction[rows] == (labels if labels.ndim == 1 else labels[rows])
        offsets = np.arange(rows.start, rows.stop, dtype=np.intp) * n_bins
        keys = (_bin_index(conf, edges) + offsets[:, None]).ravel()  # (model, bin)
        tallies = np.bincount((keys << 1) | right.ravel(), minlength=2 * size)  # (key, right)
        count += tallies[0::2] + tallies[1::2]
        hits += tallies[1::2]
        # float32 weights become float64 exactly; each key's sum runs in instance order
        confidence_sum += np.bincount(keys, weights=conf.ravel(), minlength=size)
    count = count.reshape(models, n_bins)
    correct_sum = hits.reshape(models, n_bins).astype(np.float64)  # 0/1 sums are exact
    confidence_sum = confidence_sum.reshape(models, n_bins)
    gap = np.abs(correct_sum - confidence_sum)
    ece = np.array(
        [float(row.sum() / instances) if instances else math.nan for row in gap],
        dtype=np.float64,
    )
    return {
        "edges": edges,
        "count": count,
        "accuracy": ratio_or_nan(correct_sum, count),
        "mean_confidence": ratio_or_nan(confidence_sum, count),
        "ece": ece,
    }


def reliability_dicts(batch: dict[str, Any]) -> list[dict[str, list]]:
    """Per model, the dict `reliability_bins` returns (edges, count, accuracy, mean_confidence)."""
    edges = batch["edges"].tolist()
    count = batch["count"].tolist()
    accuracy = batch["accuracy"].tolist()
    mean_confidence = batch["mean_confidence"].tolist()
    return [
        {
            "edges": list(edges),
            "count": count[m],
            "accuracy": accuracy[m],
            "mean_confidence": mean_confidence[m],
        }
        for m in range(len(count))
    ]


def _bin_index(confidence: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin b holds edges[b] < c <= edges[b+1], 0 joining bin 0 (`evaluate.metrics.bin_index`):
    for c in [0, 1] that is the number of inner edges below c.

    The comparisons run in the confidences' own dtype against each edge rounded down to that
    dtype (for float32 c: c > e exactly when c > the largest float32 <= e), so float32
    columns are never widened.
    """
    inner = edges[1:-1]
    thresholds = inner.astype(confidence.dtype)
    above = thresholds.astype(np.float64) > inner
    thresholds[above] = np.nextafter(thresholds[above], confidence.dtype.type(-np.inf))
    bins = np.zeros(confidence.shape, dtype=np.min_scalar_type(edges.size))
    for threshold in thresholds:
        bins += confidence > threshold
    return bins


def _check_probabilities(confidence: np.ndarray) -> None:
    """Refuse confidences that are not finite numbers in [0, 1] (NaN included)."""
    bad = ~((confidence >= 0.0) & (confidence <= 1.0))
    if bad.any():
        instances = np.flatnonzero(bad.any(axis=0))
        raise InvalidOutputError(
            f"confidence must lie in [0, 1]; {instances.size} of {confidence.shape[1]} "
            f"instances do not ({first_indices(instances)})"
        )
