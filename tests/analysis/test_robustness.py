"""Robustness from predictions: accuracy per condition and the drop against the base model."""

from __future__ import annotations

import math

import pytest
import torch

from compresslens.analysis.robustness import condition_accuracy, robustness_table
from compresslens.data.corruptions import CorruptionError


def test_robustness_table_reports_the_drop_against_the_base() -> None:
    accuracy = {
        ("pruned", "clean", 0): 0.88,
        ("base", "clean", 0): 0.90,
        ("base", "jpeg", 1): 0.80,
        ("pruned", "jpeg", 1): 0.60,
    }
    rows = robustness_table(accuracy, base="base")
    assert [(r["model"], r["corruption"]) for r in rows] == [
        ("base", "clean"),
        ("base", "jpeg"),
        ("pruned", "clean"),
        ("pruned", "jpeg"),
    ]
    assert rows[0]["drop"] == 0.0
    assert rows[3]["drop"] == pytest.approx(0.20)
    assert rows[3]["relative_drop"] == pytest.approx(0.25)
    with pytest.raises(CorruptionError, match="base model 'base' has no accuracy"):
        robustness_table({("pruned", "jpeg", 2): 0.5, ("base", "jpeg", 1): 0.8}, base="base")


def test_condition_accuracy_scores_each_conditions_predictions() -> None:
    labels = torch.tensor([0, 1, 1, 0])
    predictions = {
        ("clean", 0): torch.tensor([0, 1, 1, 0]),
        ("jpeg", 1): torch.tensor([0, 0, 1, 1]),
    }
    assert condition_accuracy(predictions, labels) == {("clean", 0): 1.0, ("jpeg", 1): 0.5}
    assert math.isnan(condition_accuracy({"c": torch.empty(0)}, torch.empty(0))["c"])
