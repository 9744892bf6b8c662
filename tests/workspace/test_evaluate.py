"""Evaluation: figures checked against scikit-learn on the same arrays; bad runs store nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    log_loss,
    precision_score,
    recall_score,
    top_k_accuracy_score,
)
from torch import nn

import compresslens as cl
from compresslens.errors import IncompatibleDatasetError, InvalidOutputError
from snapshot import workspace_snapshot


@pytest.fixture
def evaluated(digits_workspace: cl.Workspace) -> cl.Workspace:
    digits_workspace.evaluate(
        "mlp", "digits", logits=True, features=True, latency=False, batch_size=500
    )
    return digits_workspace


def test_metrics_match_scikit_learn_on_the_models_own_logits(
    evaluated: cl.Workspace, trained_mlp: nn.Module, digits: tuple
) -> None:
    inputs, labels = digits
    with torch.inference_mode():
        probabilities = torch.softmax(trained_mlp(inputs).double(), dim=1).numpy()
    y = labels.numpy()
    predictions = probabilities.argmax(1)
    metrics = evaluated.evaluation("mlp", "digits").metrics
    assert 0.5 < metrics["accuracy"] < 1.0  # a real, imperfect model
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, predictions))
    assert metrics["top5_accuracy"] == pytest.approx(top_k_accuracy_score(y, probabilities, k=5))
    assert metrics["loss"] == pytest.approx(log_loss(y, probabilities), rel=1e-5)
    recall = recall_score(y, predictions, average=None, labels=range(10))
    precision = precision_score(y, predictions, average=None, labels=range(10), zero_division=0)
    np.testing.assert_allclose(metrics["per_class_recall"], recall, rtol=1e-9)
    np.testing.assert_allclose(metrics["per_class_precision"], precision, rtol=1e-9)
    stored = evaluated.model("mlp").metrics["digits"]
    assert stored["accuracy"] == pytest.approx(metrics["accuracy"])


def test_per_subgroup_accuracy_matches_a_direct_count(
    evaluated: cl.Workspace, trained_mlp: nn.Module, digits: tuple
) -> None:
    inputs, labels = digits
    with torch.inference_mode():
        correct = (trained_mlp(inputs).argmax(1) == labels).numpy()
    even = labels.numpy() % 2 == 0
    groups = evaluated.evaluation("mlp", "digits").metrics["per_subgroup_accuracy"]["parity"]
    assert groups["even"]["accuracy"] == pytest.approx(correct[even].mean())
    assert groups["odd"]["n"] == int((~even).sum())


def test_per_instance_outputs_are_stored_with_the_documented_columns(
    evaluated: cl.Workspace, trained_mlp: nn.Module, digits: tuple
) -> None:
    inputs, labels = digits
    outputs = evaluated.outputs("mlp", "digits")
    assert set(outputs) >= {
        "instance",
        "label",
        "prediction",
        "confidence",
        "true_prob",
        "loss",
        "margin",
        "top_classes",
        "top_probs",
    }
    with torch.inference_mode():
        logits = trained_mlp(inputs)
    top2 = logits.topk(2, dim=1).values
    np.testing.assert_array_equal(outputs["label"], labels.numpy())
    np.testing.assert_allclose(outputs["margin"], (top2[:, 0] - top2[:, 1]).numpy(), rtol=1e-5)
    assert outputs["top_classes"].shape == (1797, 5)
    np.testing.assert_array_equal(outputs["top_classes"][:, 0], outputs["prediction"])


def test_logits_and_penultimate_features_are_kept_when_asked(
    evaluated: cl.Workspace, trained_mlp: nn.Module, digits: tuple
) -> None:
    inputs, _ = digits
    with torch.inference_mode():
        features = trained_mlp.body(inputs)
        logits = trained_mlp(inputs)
    assert evaluated.evaluation("mlp", "digits").features_module == "classifier"
    torch.testing.assert_close(evaluated.features("mlp", "digits"), features)
    torch.testing.assert_close(evaluated.logits("mlp", "digits"), logits.half())


def test_efficiency_is_recorded_when_a_model_is_evaluated(digits_workspace: cl.Workspace) -> None:
    digits_workspace.evaluate("mlp", "digits", latency=True)
    efficiency = digits_workspace.model("mlp").efficiency
    assert efficiency["macs"] == 64 * 32 + 32 * 10
    latency = digits_workspace.model("mlp").metrics["model"]
    assert latency["latency_ms_b1"] > 0 and latency["latency_ms_b64"] > 0


def test_re_evaluating_replaces_the_previous_evaluation(evaluated: cl.Workspace) -> None:
    evaluated.evaluate("mlp", "digits", latency=False)
    assert len(evaluated.evaluations("mlp")) == 1
    assert not evaluated.evaluation("mlp", "digits").has_logits


def test_a_dataset_with_another_class_count_is_refused_and_nothing_changes(
    digits_workspace: cl.Workspace, digits: tuple
) -> None:
    inputs, labels = digits
    digits_workspace.add_dataset("digits-12", inputs, labels, num_classes=12)
    before = workspace_snapshot(digits_workspace)
    with pytest.raises(IncompatibleDatasetError, match="10 classes but the dataset has 12"):
        digits_workspace.evaluate("mlp", "digits-12", latency=False)
    assert workspace_snapshot(digits_workspace) == before


def test_inputs_of_the_wrong_shape_are_refused(digits_workspace: cl.Workspace) -> None:
    digits_workspace.add_dataset(
        "wide", torch.zeros(4, 65), torch.tensor([0, 1, 2, 3]), num_classes=10
    )
    with pytest.raises(IncompatibleDatasetError, match="cannot run on inputs of shape"):
        digits_workspace.evaluate("mlp", "wide", latency=False)


def test_nan_logits_are_refused_and_nothing_changes(digits_workspace: cl.Workspace) -> None:
    from factories import nan_model

    digits_workspace.add_model(nan_model(), name="broken", factory="factories:nan_model")
    before = workspace_snapshot(digits_workspace)
    with pytest.raises(InvalidOutputError, match="non-finite logits"):
        digits_workspace.evaluate("broken", "digits", latency=False)
    assert workspace_snapshot(digits_workspace) == before
