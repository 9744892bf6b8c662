"""Flip metrics against a reference, on hand-made predictions."""

from __future__ import annotations

import numpy as np
import pytest

from compresslens.analysis.behaviour_change import flip_metrics


def test_flip_rates_and_worst_class_change_match_a_direct_count() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    reference = np.array([0, 0, 0, 1, 1, 1, 0, 0, 2, 2])  # right: 0,1,2 | 4,5 | 8,9
    model = np.array([0, 2, 2, 0, 1, 1, 1, 0, 2, 1])  # right: 0,3 | 4,5,6 | 8
    metrics = flip_metrics(labels, reference, model, num_classes=3)
    # right → wrong: 1, 2, 9; wrong → right: 3, 6
    assert metrics["negative_flip_rate"] == pytest.approx(3 / 10)
    assert metrics["positive_flip_rate"] == pytest.approx(2 / 10)
    # class 0: 3/4 → 2/4 (−0.25); class 1: 2/4 → 3/4; class 2: 2/2 → 1/2 (−0.5)
    assert metrics["worst_class_change"] == pytest.approx(-0.5)


def test_a_model_identical_to_its_reference_changes_nothing() -> None:
    labels = np.array([0, 1, 2, 1])
    predictions = np.array([0, 2, 2, 1])
    assert flip_metrics(labels, predictions, predictions, 3) == {
        "negative_flip_rate": 0.0,
        "positive_flip_rate": 0.0,
        "worst_class_change": 0.0,
    }


def test_a_class_without_instances_is_not_the_worst() -> None:
    labels = np.array([0, 0, 1, 1])
    reference = np.array([0, 0, 1, 1])
    model = np.array([0, 1, 1, 1])  # class 2 has no instance: its change is undefined
    assert flip_metrics(labels, reference, model, 3)["worst_class_change"] == -0.5


def test_predictions_of_other_instances_are_refused() -> None:
    with pytest.raises(ValueError, match="same instances"):
        flip_metrics([0, 1], [0, 1], [0, 1, 1], 2)
    with pytest.raises(ValueError, match="class ids"):
        flip_metrics([0, 5], [0, 1], [0, 1], 2)
