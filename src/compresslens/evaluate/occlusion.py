"""Occlusion: running a classifier on copies of one image, each with one patch blanked out.

`occluded_features` builds every occluded copy (`occlusion_masks`), runs the model over the
clean image and the copies in eval mode, batched, and returns the raw arrays that the
last-layer geometry of Li et al. needs: the penultimate features, the final layer's weight and
bias, and the grid shape. Turning them into maps of Δθ_y, Δ‖f‖ and Δmargin is pure math,
`compresslens.analysis.geometry.occlusion_maps`;
`compresslens.workspace.comparison.occlusion_attribution`
does both. `GeometryError` lives here because this is the lowest layer that raises it;
`compresslens.analysis.geometry` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from compresslens.errors import CompressLensError
from compresslens.evaluate.harness import InputCapture


class GeometryError(CompressLensError, ValueError):
    """Features, weights, biases, labels or vectors whose shapes or values do not fit together."""


@dataclass(frozen=True)
class OcclusionFeatures:
    """What one occlusion run produced, before any geometry is computed."""

    features: np.ndarray  # [1 + H'·W', D] float64: the clean image, then each copy, row-major
    weight: np.ndarray  # [C, D] float64, the final layer's weight
    bias: np.ndarray  # [C] float64 (zeros when the final layer has no bias)
    grid: tuple[int, int]  # (H', W'), H' = (H − patch) // stride + 1


def _windows(size: int, patch: int, stride: int) -> torch.Tensor:
    """[positions, size] membership of each index in each patch window along one axis."""
    starts = torch.arange(0, size - patch + 1, stride)[:, None]
    index = torch.arange(size)[None, :]
    return (index >= starts) & (index < starts + patch)


def occlusion_masks(height: int, width: int, patch: int, stride: int) -> torch.Tensor:
    """Boolean masks [H', W', H, W]: True inside the patch×patch square at each grid position."""
    rows, cols = _windows(height, patch, stride), _windows(width, patch, stride)
    return rows[:, None, :, None] & cols[None, :, None, :]


def _check_occlusion_input(x: torch.Tensor, patch: int, stride: int) -> None:
    """One image [1, C, H, W] that the patch fits into, with a positive stride."""
    if x.ndim != 4 or x.shape[0] != 1:
        raise GeometryError(f"occlusion takes one image [1, C, H, W], got {tuple(x.shape)}")
    if patch < 1 or stride < 1:
        raise GeometryError(f"patch and stride must be positive, got {patch} and {stride}")
    if patch > min(x.shape[2], x.shape[3]):
        raise GeometryError(f"patch {patch} does not fit in a {x.shape[2]}×{x.shape[3]} image")


def _linear_module(model: nn.Module, name: str) -> nn.Linear:
    """The final layer whose input is the penultimate feature."""
    module = dict(model.named_modules()).get(name)
    if not isinstance(module, nn.Linear):
        found = "no such module" if module is None else type(module).__name__
        raise GeometryError(f"feature_module {name!r} must name an nn.Linear layer ({found})")
    return module


def _penultimate_features(
    model: nn.Module, inputs: torch.Tensor, module_name: str, batch_size: int
) -> np.ndarray:
    """Inputs of `module_name` for every row of `inputs`, in eval mode, batched."""
    was_training = model.training
    model.eval()
    capture = InputCapture(model, module_name)
    parts = []
    try:
        with torch.inference_mode():
            for start in range(0, inputs.shape[0], batch_size):
                capture.value = None
                model(inputs[start : start + batch_size])
                if capture.value is None:
                    raise GeometryError(f"the model's forward pass never calls {module_name!r}")
                parts.append(capture.value.double().cpu().numpy())
    finally:
        capture.close()
        model.train(was_training)
    return np.concatenate(parts)


def occluded_features(
    model: nn.Module,
    x: torch.Tensor,
    patch: int = 4,
    stride: int = 4,
    feature_module: str = "classifier",
    fill: float = 0.0,
    batch_size: int = 256,
) -> OcclusionFeatures:
    """Penultimate features of `x` and of each copy with one patch set to `fill`; runs the model.

    `feature_module` names the final nn.Linear layer: its input is the feature f, its weight
    and bias are returned with it. The model's training mode is restored afterwards.
    """
    _check_occlusion_input(x, patch, stride)
    layer = _linear_module(model, feature_module)
    masks = occlusion_masks(x.shape[2], x.shape[3], patch, stride)
    copies = torch.where(masks.flatten(0, 1)[:, None], torch.as_tensor(fill, dtype=x.dtype), x)
    features = _penultimate_features(model, torch.cat([x, copies]), feature_module, batch_size)
    weight = layer.weight.detach().double().cpu().numpy()
    bias = (
        np.zeros(len(weight)) if layer.bias is None else layer.bias.detach().double().cpu().numpy()
    )
    rows, cols = masks.shape[:2]
    return OcclusionFeatures(features=features, weight=weight, bias=bias, grid=(rows, cols))
