"""Task metrics over the per-instance output columns (see outputs.OUTPUT_COLUMNS).

Pure numpy, vectorised with np.bincount: fast for 100k instances and more. A metric that
is undefined (no instances, a class never seen or never predicted, an empty bin) is NaN in
the array functions and None in the JSON-friendly `classification_metrics` dict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from compresslens.errors import CompressLensError, IncompatibleDatasetError, InvalidOutputError
from compresslens.evaluate.outputs import first_indices

_REQUIRED_COLUMNS = ("label", "prediction", "confidence", "loss", "top_classes")


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Fraction of instances whose prediction is the label: the headline task metric."""
    _check_same_length(labels=labels, predictions=predictions)
    return _mean_or_nan(np.asarray(labels) == np.asarray(predictions))


def top_k_accuracy(labels: np.ndarray, top_classes: np.ndarray) -> float:
    """Fraction of instances whose label is among their top-k classes ([N, k])."""
    top_classes = np.asarray(top_classes)
    if top_classes.ndim != 2:
        raise InvalidOutputError(f"expected top_classes of shape [N, k], got {top_classes.shape}")
    _check_same_length(labels=labels, top_classes=top_classes)
    hits = (top_classes == np.asarray(labels)[:, None]).any(axis=1)
    return _mean_or_nan(hits)


def per_class_recall(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Per class, the fraction of its instances predicted correctly; NaN for an absent class."""
    labels, predictions = _class_ids(labels, predictions, num_classes)
    correct_labels = labels[labels == predictions]
    return ratio_or_nan(
        np.bincount(correct_labels, minlength=num_classes),
        np.bincount(labels, minlength=num_classes),
    )


def per_class_precision(
    labels: np.ndarray, predictions: np.ndarray, num_classes: int
) -> np.ndarray:
    """Per class, the fraction of its predictions that are right; NaN if never predicted."""
    labels, predictions = _class_ids(labels, predictions, num_classes)
    correct_predictions = predictions[labels == predictions]
    return ratio_or_nan(
        np.bincount(correct_predictions, minlength=num_classes),
        np.bincount(predictions, minlength=num_classes),
    )


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15
) -> float:
    """Σ_b (n_b/N)·|acc_b − conf_b| over equal-width (lo, hi] bins: how over/under-confident.

    Compression often changes calibration even when accuracy holds; NaN with no instances.
    """
    _, count, correct_sum, confidence_sum = _bin_sums(confidence, correct, n_bins)
    total = int(count.sum())
    if total == 0:
        return math.nan
    return float(np.abs(correct_sum - confidence_sum).sum() / total)


def reliability_bins(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15
) -> dict[str, list[float] | list[int]]:
    """Per confidence bin: count, accuracy and mean confidence, for a reliability diagram.

    Bins are equal-width and right-closed (lo, hi] over [0, 1]; empty bins hold NaN.
    """
    edges, count, correct_sum, confidence_sum = _bin_sums(confidence, correct, n_bins)
    return {
        "edges": edges.tolist(),
        "count": count.tolist(),
        "accuracy": ratio_or_nan(correct_sum, count).tolist(),
        "mean_confidence": ratio_or_nan(confidence_sum, count).tolist(),
    }


def per_subgroup_accuracy(
    labels: np.ndarray, predictions: np.ndarray, attributes: Mapping[str, np.ndarray]
) -> dict[str, dict[str, dict[str, Any]]]:
    """For each attribute and each of its values (as str): accuracy and instance count.

    Compression can hurt a subgroup while the overall accuracy barely moves.
    """
    _check_same_length(labels=labels, predictions=predictions)
    correct = np.asarray(labels) == np.asarray(predictions)
    return {
        name: _accuracy_by_value(name, np.asarray(values), correct)
        for name, values in attributes.items()
    }


def classification_metrics(
    outputs: Mapping[str, np.ndarray],
    num_classes: int,
    attributes: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """All task metrics of one evaluation as a JSON-friendly dict (NaN becomes None).

    This is what the workspace stores per (model, dataset) and the UI plots.
    """
    missing = [name for name in _REQUIRED_COLUMNS if name not in outputs]
    if missing:
        raise InvalidOutputError(f"per-instance outputs lack the columns {missing}")
    labels, predictions = outputs["label"], outputs["prediction"]
    correct = np.asarray(labels) == np.asarray(predictions)
    top_classes = np.asarray(outputs["top_classes"])
    return {
        "num_instances": int(np.asarray(labels).shape[0]),
        "accuracy": _json_float(accuracy(labels, predictions)),
        "top5_accuracy": _json_float(top_k_accuracy(labels, top_classes)),
        "top_k": int(top_classes.shape[1]) if top_classes.ndim == 2 else 0,
        "loss": _json_float(_mean_or_nan(np.asarray(outputs["loss"], dtype=np.float64))),
        "ece": _json_float(expected_calibration_error(outputs["confidence"], correct)),
        "per_class_recall": _json_list(per_class_recall(labels, predictions, num_classes)),
        "per_class_precision": _json_list(per_class_precision(labels, predictions, num_classes)),
        "per_subgroup_accuracy": per_subgroup_accuracy(labels, predictions, attributes or {}),
        "reliability": {
            key: _json_list(np.asarray(values))
            for key, values in reliability_bins(outputs["confidence"], correct).items()
        },
    }


def _bin_sums(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges, then per-bin count, sum of correctness and sum of confidence."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    _check_same_length(confidence=confidence, correct=correct)
    _check_probabilities(confidence)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = bin_index(confidence, edges)
    return (
        edges,
        np.bincount(bins, minlength=n_bins),
        np.bincount(bins, weights=correct, minlength=n_bins),
        np.bincount(bins, weights=confidence, minlength=n_bins),
    )


def bin_index(confidence: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin b holds edges[b] < c <= edges[b+1]; a confidence of exactly 0 joins bin 0."""
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, edges.size - 2)


def _check_probabilities(confidence: np.ndarray) -> None:
    """Refuse confidences that are not finite numbers in [0, 1]."""
    bad = np.flatnonzero(~((confidence >= 0.0) & (confidence <= 1.0)))
    if bad.size:
        raise InvalidOutputError(
            f"confidence must lie in [0, 1]; {bad.size} of {confidence.size} values do not "
            f"({first_indices(bad)})"
        )


def _accuracy_by_value(
    name: str, values: np.ndarray, correct: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Accuracy and count for each distinct value of one attribute."""
    if values.shape != correct.shape:
        raise IncompatibleDatasetError(
            f"attribute {name!r} has shape {values.shape} but there are {correct.size} instances"
        )
    distinct, group = np.unique(values, return_inverse=True)
    group = group.reshape(-1)
    count = np.bincount(group, minlength=distinct.size)
    hits = np.bincount(group, weights=correct.astype(np.float64), minlength=distinct.size)
    return {
        str(value): {"accuracy": float(hits[i] / count[i]), "n": int(count[i])}
        for i, value in enumerate(distinct.tolist())
    }


def _class_ids(
    labels: np.ndarray, predictions: np.ndarray, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions as int64 arrays, checked to lie in [0, num_classes)."""
    _check_same_length(labels=labels, predictions=predictions)
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    _check_in_range(labels, num_classes, "dataset labels", IncompatibleDatasetError)
    _check_in_range(predictions, num_classes, "predictions", InvalidOutputError)
    return labels, predictions


def _check_in_range(
    ids: np.ndarray, num_classes: int, what: str, error: type[CompressLensError]
) -> None:
    """Refuse class ids outside [0, num_classes), naming the first offending instances."""
    bad = np.flatnonzero((ids < 0) | (ids >= num_classes))
    if bad.size:
        raise error(
            f"{what} must lie in [0, {num_classes}) for {num_classes} classes; "
            f"{bad.size} of {ids.size} instances do not ({first_indices(bad)})"
        )


def _check_same_length(**arrays: np.ndarray) -> None:
    """Refuse per-instance arrays that do not describe the same instances."""
    lengths = {name: np.asarray(values).shape[0] for name, values in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise InvalidOutputError(f"per-instance arrays differ in length: {described}")


def ratio_or_nan(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator elementwise as float64, NaN where the denominator is zero.

    An empty bin or class has no accuracy: NaN says "undefined" without a numpy warning.
    """
    result = np.full(denominator.shape, np.nan, dtype=np.float64)
    np.divide(numerator, denominator, out=result, where=denominator > 0)
    return result


def _mean_or_nan(values: np.ndarray) -> float:
    """Mean as a Python float; NaN for no values rather than a numpy warning."""
    return float(values.mean()) if values.size else math.nan


def _json_float(value: float) -> float | None:
    """A float for JSON: NaN (undefined) becomes None."""
    return None if math.isnan(value) else float(value)


def _json_list(values: np.ndarray) -> list[Any]:
    """A 1-D array as a JSON list, NaN entries as None."""
    if values.dtype.kind != "f":
        return values.tolist()
    return [None if math.isnan(v) else v for v in values.tolist()]
