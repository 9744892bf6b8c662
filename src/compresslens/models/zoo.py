"""Image classifiers that compresslens owns (no torchvision), built by factory functions.

Factories are referenced as strings such as "compresslens.models.zoo:small_cnn". In every
model the last layer is an `nn.Linear` named `classifier`, so the penultimate features are
its input (also returned by `forward_features`). Construction is deterministic given
`torch.manual_seed`. Every ReLU is its own module, so hooks can tell activations apart.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

# Per-model training defaults for the demo: train_classifier(**settings) on the first
# `train_size` Fashion-MNIST training images. Measured with 2 CPU threads by
# benchmarks/bench_demo_training.py: small_cnn ≈ 28 s → 90.7% test accuracy,
# small_resnet ≈ 31 s → 89.0%, lean_cnn ≈ 2.8 s → 87.5%.
DEMO_TRAINING: dict[str, dict[str, Any]] = {
    "small_cnn": {
        "train_size": 45_000,
        "epochs": 2,
        "batch_size": 64,
        "lr": 2e-3,
        "lr_schedule": "cosine",
    },
    "small_resnet": {
        "train_size": 30_000,
        "epochs": 2,
        "batch_size": 64,
        "lr": 5e-3,
        "lr_schedule": "cosine",
    },
    "lean_cnn": {
        "train_size": 12_000,
        "epochs": 2,
        "batch_size": 64,
        "lr": 3e-3,
        "lr_schedule": "cosine",
    },
}


class ConvBlock(nn.Module):
    """3×3 conv → BatchNorm → ReLU → 2×2 max-pool: halves the resolution."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.bn(self.conv(x))))


class SmallCNN(nn.Module):
    """Two conv blocks (width, 2·width channels), a hidden ReLU layer, then `classifier`."""

    def __init__(
        self, num_classes: int, in_channels: int, width: int, hidden: int, image_size: int
    ) -> None:
        super().__init__()
        pooled_side = image_size // 4
        self.block1 = ConvBlock(in_channels, width)
        self.block2 = ConvBlock(width, 2 * width)
        self.flatten = nn.Flatten()
        self.hidden = nn.Linear(2 * width * pooled_side * pooled_side, hidden)
        self.hidden_relu = nn.ReLU()
        self.classifier = nn.Linear(hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate features: what `classifier` receives."""
        x = self.flatten(self.block2(self.block1(x)))
        return self.hidden_relu(self.hidden(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))


class LeanCNN(SmallCNN):
    """SmallCNN narrowed to about 1 M MACs per 28×28 image, for populations of many models."""


class BasicBlock(nn.Module):
    """Residual block conv-BN-ReLU-conv-BN plus a shortcut (1×1 conv-BN when shape changes)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = _shortcut(in_channels, out_channels, stride)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(residual + self.shortcut(x))


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Identity when the block keeps the shape, else a strided 1×1 conv with BatchNorm."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class SmallResNet(nn.Module):
    """A stem conv, one basic block per stage (stride 2 between stages), global pool, head."""

    def __init__(self, num_classes: int, in_channels: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        if not widths:
            raise ValueError("small_resnet needs at least one stage width")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        )
        strides = [1] + [2] * (len(widths) - 1)
        in_widths = [widths[0], *widths[:-1]]
        self.stages = nn.Sequential(
            *(
                BasicBlock(c_in, c_out, s)
                for c_in, c_out, s in zip(in_widths, widths, strides, strict=True)
            )
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(widths[-1], num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate features: what `classifier` receives."""
        return self.flatten(self.pool(self.stages(self.stem(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))


def small_cnn(
    num_classes: int = 10,
    in_channels: int = 1,
    width: int = 32,
    hidden: int = 128,
    image_size: int = 28,
) -> nn.Module:
    """The demo's main CNN (about 4.2 M MACs per 28×28 image at the defaults)."""
    return SmallCNN(num_classes, in_channels, width, hidden, image_size)


def small_resnet(
    num_classes: int = 10, in_channels: int = 1, widths: tuple[int, ...] = (16, 32, 64)
) -> nn.Module:
    """A small residual network, so compression effects can be compared across architectures."""
    return SmallResNet(num_classes, in_channels, tuple(widths))


def lean_cnn(
    num_classes: int = 10, in_channels: int = 1, width: int = 16, image_size: int = 28
) -> nn.Module:
    """A CNN of about 1 M MACs per 28×28 image, cheap enough to train populations of many."""
    return LeanCNN(num_classes, in_channels, width, 4 * width, image_size)


class MLP(nn.Module):
    """Flatten → Linear → ReLU → `classifier`: for tabular or tiny image data."""

    def __init__(self, in_features: int, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.hidden(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))


def mlp(in_features: int = 64, hidden: int = 32, num_classes: int = 10) -> nn.Module:
    """A one-hidden-layer perceptron (the README's example on scikit-learn's digits)."""
    return MLP(in_features, hidden, num_classes)
