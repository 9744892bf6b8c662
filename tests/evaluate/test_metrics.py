"""Task metrics, checked against scikit-learn, hand-written loops and hand-made examples."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    precision_score,
    recall_score,
    top_k_accuracy_score,
)

from compresslens.errors import IncompatibleDatasetError, InvalidOutputError
from compresslens.evaluate.metrics import (
    accuracy,
    classification_metrics,
    expected_calibration_error,
    per_class_precision,
    per_class_recall,
    per_subgroup_accuracy,
    reliability_bins,
    top_k_accuracy,
)
from compresslens.evaluate.outputs import instance_outputs

NUM_CLASSES = 10
ABSENT_CLASS = 7  # never a label
NEVER_PREDICTED = 3  # never a prediction


@pytest.fixture
def predictions_and_scores() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, NUM_CLASSES, size=2000)
    labels[labels == ABSENT_CLASS] = 0
    scores = rng.normal(size=(2000, NUM_CLASSES))
    scores[np.arange(2000), labels] += 1.5
    scores[:, NEVER_PREDICTED] = -100.0
    return labels, scores.argmax(axis=1), scores


def ece_by_loop(confidence: np.ndarray, correct: np.ndarray, n_bins: int) -> float:
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        in_bin = (confidence > lo) & (confidence <= hi)
        if b == 0:
            in_bin |= confidence == 0.0
        if in_bin.any():
            gap = abs(correct[in_bin].mean() - confidence[in_bin].mean())
            total += in_bin.sum() / confidence.size * gap
    return total


def test_accuracy_matches_sklearn(predictions_and_scores):
    labels, predictions, _ = predictions_and_scores
    assert accuracy(labels, predictions) == pytest.approx(accuracy_score(labels, predictions))


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_accuracy_matches_sklearn(predictions_and_scores, k):
    labels, _, scores = predictions_and_scores
    top_classes = np.argsort(-scores, axis=1)[:, :k]
    expected = top_k_accuracy_score(labels, scores, k=k, labels=list(range(NUM_CLASSES)))
    assert top_k_accuracy(labels, top_classes) == pytest.approx(expected)


def test_per_class_recall_matches_sklearn_with_nan_for_an_absent_class(predictions_and_scores):
    labels, predictions, _ = predictions_and_scores
    expected = recall_score(
        labels, predictions, average=None, labels=range(NUM_CLASSES), zero_division=np.nan
    )
    recall = per_class_recall(labels, predictions, NUM_CLASSES)
    np.testing.assert_allclose(recall, expected)
    assert np.isnan(recall[ABSENT_CLASS])


def test_per_class_precision_matches_sklearn_with_nan_for_an_unpredicted_class(
    predictions_and_scores,
):
    labels, predictions, _ = predictions_and_scores
    expected = precision_score(
        labels, predictions, average=None, labels=range(NUM_CLASSES), zero_division=np.nan
    )
    precision = per_class_precision(labels, predictions, NUM_CLASSES)
    np.testing.assert_allclose(precision, expected)
    assert np.isnan(precision[NEVER_PREDICTED])


def test_per_class_metrics_refuse_labels_beyond_the_class_count():
    with pytest.raises(IncompatibleDatasetError, match="1 of 3 instances"):
        per_class_recall(np.array([0, 1, 4]), np.array([0, 1, 1]), num_classes=3)


def test_ece_matches_a_loop_over_bins_including_values_on_the_edges():
    rng = np.random.default_rng(1)
    on_edges = np.linspace(0.0, 1.0, 16)
    confidence = np.concatenate([rng.uniform(size=3000), on_edges, on_edges])
    correct = rng.uniform(size=confidence.size) < confidence
    for n_bins in (1, 10, 15):
        expected = ece_by_loop(confidence, correct, n_bins)
        assert expected_calibration_error(confidence, correct, n_bins) == pytest.approx(expected)


def test_ece_of_a_hand_made_example():
    # bins of width 0.25, right-closed: (0, .25] holds 0.0; (.25, .5] holds 0.5 and 0.3;
    # (.5, .75] holds 0.75; (.75, 1] holds 1.0 and 0.9.
    confidence = np.array([1.0, 0.75, 0.5, 0.0, 0.9, 0.3])
    correct = np.array([1, 1, 0, 0, 0, 1], dtype=bool)
    # (1·|0 − 0| + 2·|0.5 − 0.4| + 1·|1 − 0.75| + 2·|0.5 − 0.95|) / 6 = 1.35 / 6
    assert expected_calibration_error(confidence, correct, n_bins=4) == pytest.approx(0.225)
    bins = reliability_bins(confidence, correct, n_bins=4)
    assert bins["edges"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert bins["count"] == [1, 2, 1, 2]
    np.testing.assert_allclose(bins["accuracy"], [0.0, 0.5, 1.0, 0.5])
    np.testing.assert_allclose(bins["mean_confidence"], [0.0, 0.4, 0.75, 0.95])


def test_perfect_calibration_has_zero_ece():
    confidence = np.array([0.5, 0.5, 1.0])
    assert expected_calibration_error(confidence, np.array([1, 0, 1])) == 0.0


def test_empty_reliability_bins_hold_nan():
    bins = reliability_bins(np.array([0.95]), np.array([True]), n_bins=10)
    assert bins["count"] == [0] * 9 + [1]
    assert all(math.isnan(v) for v in bins["accuracy"][:9])
    assert bins["accuracy"][9] == 1.0


def test_confidence_outside_zero_one_is_refused():
    with pytest.raises(InvalidOutputError, match="1 of 2 values"):
        expected_calibration_error(np.array([0.5, 1.5]), np.array([1, 0]))


def test_subgroup_accuracy_on_a_hand_made_example():
    labels = np.array([0, 1, 2, 0, 1, 2])
    predictions = np.array([0, 1, 0, 0, 2, 2])  # correct: T T F T F T
    attributes = {
        "site": np.array(["a", "b", "a", "b", "a", "b"]),
        "age": np.array([30, 30, 30, 60, 60, 60]),
    }
    assert per_subgroup_accuracy(labels, predictions, attributes) == {
        "site": {"a": {"accuracy": 1 / 3, "n": 3}, "b": {"accuracy": 1.0, "n": 3}},
        "age": {"30": {"accuracy": 2 / 3, "n": 3}, "60": {"accuracy": 2 / 3, "n": 3}},
    }


def test_subgroup_attribute_of_the_wrong_length_is_refused():
    with pytest.raises(IncompatibleDatasetError, match="'site'"):
        per_subgroup_accuracy(np.zeros(3), np.zeros(3), {"site": np.array(["a", "b"])})


def test_classification_metrics_is_json_ready_with_none_for_undefined_values():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 0.5], [0.0, 2.0, 0.0]])
    labels = torch.tensor([0, 1, 1, 1])  # class 2 never a label nor a prediction
    outputs = instance_outputs(logits, labels)
    site = np.array(["x", "x", "y", "y"])
    metrics = classification_metrics(outputs, num_classes=3, attributes={"site": site})
    json.dumps(metrics, allow_nan=False)
    assert metrics["num_instances"] == 4
    assert metrics["accuracy"] == 0.75
    assert metrics["top_k"] == 3
    assert metrics["top5_accuracy"] == 1.0
    assert metrics["loss"] == pytest.approx(float(outputs["loss"].astype(np.float64).mean()))
    assert metrics["per_class_recall"] == [1.0, pytest.approx(2 / 3), None]
    assert metrics["per_class_precision"] == [0.5, 1.0, None]
    assert metrics["per_subgroup_accuracy"]["site"]["y"] == {"accuracy": 0.5, "n": 2}
    assert sum(metrics["reliability"]["count"]) == 4
    assert None in metrics["reliability"]["accuracy"]
    expected_ece = ece_by_loop(
        outputs["confidence"].astype(np.float64), labels.numpy() == outputs["prediction"], 15
    )
    assert metrics["ece"] == pytest.approx(expected_ece)


def test_classification_metrics_of_a_single_class_model():
    outputs = instance_outputs(torch.randn(5, 1), torch.zeros(5, dtype=torch.long))
    metrics = classification_metrics(outputs, num_classes=1)
    assert metrics["accuracy"] == 1.0
    assert metrics["top5_accuracy"] == 1.0
    assert metrics["top_k"] == 1
    assert metrics["loss"] == 0.0
    assert metrics["ece"] == 0.0
    assert metrics["per_class_recall"] == [1.0]
    assert metrics["per_class_precision"] == [1.0]


def test_classification_metrics_names_missing_columns():
    with pytest.raises(InvalidOutputError, match="confidence"):
        classification_metrics({"label": np.zeros(2), "prediction": np.zeros(2)}, num_classes=2)
