"""Corruption sweeps run the model on every corrupted copy: accuracy per condition."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from compresslens.data.corruptions import CorruptionError
from compresslens.evaluate.corruption_runs import predict_classes
from compresslens.workspace.comparison import evaluate_corruptions


def natural_like(n: int, channels: int, side: int, seed: int = 0) -> torch.Tensor:
    """Smooth blobs plus fine texture in [0, 1], closer to photographs than white noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = F.avg_pool2d(torch.rand(n, channels, side + 4, side + 4, generator=g), 5, stride=1)
    texture = torch.rand(n, channels, side, side, generator=g)
    return (0.8 * coarse + 0.2 * texture).clamp(0.0, 1.0)


def mean_threshold_model(pixels: int) -> nn.Module:
    """Predicts class 1 exactly when an image's mean exceeds 0.5."""
    linear = nn.Linear(pixels, 2)
    with torch.no_grad():
        linear.weight.copy_(torch.stack([-torch.ones(pixels), torch.ones(pixels)]) / pixels)
        linear.bias.copy_(torch.tensor([0.5, -0.5]))
    return nn.Sequential(nn.Flatten(), linear)


def test_evaluate_corruptions_returns_accuracy_per_condition() -> None:
    inputs = natural_like(20, 1, 8, seed=4)
    labels = (inputs.mean(dim=(1, 2, 3)) > 0.5).long()
    result = evaluate_corruptions(
        mean_threshold_model(64), inputs, labels, ["brightness", "contrast"], [1, 5], batch_size=7
    )
    assert list(result) == [
        ("clean", 0),
        ("brightness", 1),
        ("brightness", 5),
        ("contrast", 1),
        ("contrast", 5),
    ]
    assert result[("clean", 0)] == 1.0
    assert all(0.0 <= value <= 1.0 for value in result.values())
    with pytest.raises(CorruptionError, match="unknown corruption"):
        evaluate_corruptions(mean_threshold_model(64), inputs, labels, ["fog"], [1])


def test_predict_classes_batches_and_restores_the_mode() -> None:
    model = mean_threshold_model(4).train()
    inputs = torch.tensor([[0.0] * 4, [1.0] * 4, [0.9] * 4, [0.2] * 4, [0.7] * 4])
    assert predict_classes(model, inputs, batch_size=2).tolist() == [0, 1, 1, 0, 1]
    assert model.training
    assert predict_classes(model, inputs[:0]).shape == (0,)
