"""Occlusion runs the model on occluded copies of one image; the maps come from its features."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from compresslens.analysis.geometry import GeometryError
from compresslens.evaluate.occlusion import occluded_features, occlusion_masks
from compresslens.workspace.comparison import occlusion_attribution


def tiny_conv_model() -> nn.Module:
    """Positive conv (no bias) → ReLU → global average → `classifier`: blind to zero regions."""
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.rand_like(conv.weight))
    layers = [
        ("conv", conv),
        ("relu", nn.ReLU()),
        ("pool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("classifier", nn.Linear(2, 3)),
    ]
    return nn.Sequential(OrderedDict(layers))


def test_occlusion_maps_are_zero_where_the_input_is_already_zero() -> None:
    model = tiny_conv_model().train()
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, :4, :4] = torch.rand(4, 4) + 0.5
    maps = occlusion_attribution(model, x, y=1, patch=4, stride=4)
    assert set(maps) == {"angle", "length", "margin"}
    assert all(value.shape == (2, 2) for value in maps.values())
    for value in maps.values():
        np.testing.assert_allclose([value[0, 1], value[1, 0], value[1, 1]], 0.0, atol=1e-9)
    assert maps["length"][0, 0] < 0  # occluding the only bright patch removes every feature
    assert model.training  # the model's mode is restored


def test_occlusion_grid_shape_and_errors() -> None:
    model = tiny_conv_model()
    maps = occlusion_attribution(model, torch.rand(1, 1, 28, 28), y=0, patch=4, stride=2)
    assert maps["margin"].shape == (13, 13)
    with pytest.raises(GeometryError, match="one image"):
        occlusion_attribution(model, torch.rand(2, 1, 8, 8), y=0)
    with pytest.raises(GeometryError, match=r"nn\.Linear"):
        occlusion_attribution(model, torch.rand(1, 1, 8, 8), y=0, feature_module="conv")


def test_occlusion_masks_cover_one_patch_per_grid_position() -> None:
    masks = occlusion_masks(6, 8, patch=2, stride=2)
    assert masks.shape == (3, 4, 6, 8) and masks.dtype == torch.bool
    assert bool((masks.sum(dim=(2, 3)) == 4).all())
    assert masks[1, 2].nonzero().tolist() == [[2, 4], [2, 5], [3, 4], [3, 5]]


def test_occluded_features_are_the_clean_image_then_each_copy() -> None:
    model = tiny_conv_model().train()
    x = torch.rand(1, 1, 8, 8)
    run = occluded_features(model, x, patch=4, stride=4, batch_size=3)
    assert run.grid == (2, 2) and run.features.shape == (5, 2)
    assert run.features.dtype == np.float64
    with torch.no_grad():
        clean = model[:4](x).double().numpy()
        corner = x.clone()
        corner[0, 0, 4:, 4:] = 0.0
        last = model[:4](corner).double().numpy()
    np.testing.assert_allclose(run.features[[0]], clean, rtol=1e-6)
    np.testing.assert_allclose(run.features[[4]], last, rtol=1e-6)
    np.testing.assert_array_equal(run.weight, model.classifier.weight.detach().double().numpy())
    np.testing.assert_array_equal(run.bias, model.classifier.bias.detach().double().numpy())
    assert model.training
