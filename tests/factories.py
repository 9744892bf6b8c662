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


class TextBag(nn.Module):
    """A bag-of-words text classifier: the mean embedding of its tokens (id 0 pads), then a
    linear layer."""

    def __init__(self, vocab_size: int = 32, dim: int = 8, num_classes: int = 2) -> None:
        super().__init__()
        self.embed = nn.EmbeddingBag(vocab_size, dim, mode="mean", padding_idx=0)
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(tokens))


def text_bag(vocab_size: int = 32, dim: int = 8, num_classes: int = 2) -> nn.Module:
    return TextBag(vocab_size, dim, num_classes)


def not_a_module() -> str:
    return "surprise"


# the factory strings of digits_mlp and text_bag, as the workspace stores them
MLP_FACTORY = "factories:digits_mlp"
TEXT_BAG_FACTORY = "factories:text_bag"
