"""Tiny models the tests build in milliseconds, importable by factory string."""

from __future__ import annotations

import torch
from torch import nn


class DigitsMLP(nn.Module):
    def __init__(self, in_features: int = 64, hidden: int = 32, num_classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.body(x.flatten(1)))


def digits_mlp(in_features: int = 64, hidden: int = 32, num_classes: int = 10) -> nn.Module:
    return DigitsMLP(in_features, hidden, num_classes)


class NaNModel(nn.Module):
    """Outputs NaN for every instance whose first feature is above 15 (a broken model)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.classifier(x.flatten(1))
        broken = x.flatten(1)[:, 10:11] > 12
        return torch.where(broken, torch.full_like(logits, float("nan")), logits)


def nan_model(num_classes: int = 10) -> nn.Module:
    return NaNModel(num_classes)


def not_a_module() -> str:
    return "surprise"


# the factory string of digits_mlp, as the workspace stores it
MLP_FACTORY = "factories:digits_mlp"
