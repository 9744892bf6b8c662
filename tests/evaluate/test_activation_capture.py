"""Activation capture runs the model: forward order, rows, repeats, the divergent layer."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from compresslens.analysis.activations import ActivationError, compare_activations
from compresslens.evaluate.activation_capture import capture_activations


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)
    )


def test_capture_records_leaf_outputs_in_forward_order_as_rows() -> None:
    model = _mlp()
    acts = capture_activations(model, torch.randn(50, 6), batch_size=16)

    assert list(acts) == ["0", "1", "2", "3", "4"]
    assert acts["2"].shape == (50, 16) and acts["2"].dtype == torch.float32
    assert model.training  # mode restored
    with pytest.raises(ActivationError):
        capture_activations(model, torch.randn(4, 6), modules=["missing"])


def test_an_in_place_module_does_not_overwrite_the_recorded_output() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True))
    acts = capture_activations(model, torch.randn(20, 4))
    assert bool((acts["0"] < 0).any()) and bool((acts["1"] >= 0).all())


def test_a_module_called_twice_gets_a_second_key() -> None:
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(3, 3), relu, nn.Linear(3, 3), relu)
    acts = capture_activations(model, torch.randn(5, 3), modules=["1"])
    assert list(acts) == ["1", "1#1"]


def test_first_divergent_layer_is_the_one_replaced_by_noise() -> None:
    base = _mlp()
    broken = copy.deepcopy(base)
    with torch.no_grad():
        broken[2].weight.copy_(torch.randn_like(broken[2].weight))
        broken[2].bias.copy_(torch.randn_like(broken[2].bias))
    inputs = torch.randn(256, 6)
    base_acts = capture_activations(base, inputs)
    broken_acts = capture_activations(broken, inputs)
    del broken_acts["4"]

    result = compare_activations(base_acts, broken_acts, threshold=0.9, batch_size=64)
    rows = {row["module"]: row for row in result["modules"]}
    assert rows["0"]["cka"] == pytest.approx(1.0) and rows["1"]["sqnr_db"] == math.inf
    assert result["first_divergent_layer"] == "2"
    assert result["only_in_base"] == ["4"]


def test_a_module_that_cannot_be_hooked_leaves_no_hook_behind() -> None:
    model = _mlp()
    with pytest.raises(ActivationError, match="cannot hook"):
        capture_activations(model, torch.randn(4, 6), modules=["0", "missing"])
    assert not model[0]._forward_hooks
