"""Per-module weight comparison: sparsity, zero overlap, relative change, SQNR, roll-ups."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from compresslens.analysis.weights import (
    LOW_RANK_IN,
    LOW_RANK_OUT,
    RELATIVE_CHANGE_EDGES,
    WeightComparisonError,
    compare_weights,
    module_weights,
    quantized_modules,
    weight_histograms,
)


def _by_module(result: dict) -> dict[str, dict]:
    return {row["module"]: row for row in result["modules"]}


def test_sparsity_and_zero_overlap_are_counted_exactly() -> None:
    base = torch.tensor([[0.0, 1.0, 2.0, 3.0], [0.0, 0.0, 5.0, 6.0]])
    model = torch.tensor([[0.0, 0.0, 2.0, 3.0], [1.0, 0.0, 0.0, 6.0]])
    row = _by_module(compare_weights({"fc": base}, {"fc": model}))["fc"]

    assert row["comparable"] is True
    assert row["base"]["zeros"] == 3 and row["base"]["sparsity"] == pytest.approx(3 / 8)
    assert row["model"]["zeros"] == 4 and row["model"]["sparsity"] == pytest.approx(4 / 8)
    overlap = row["zero_overlap"]
    assert (overlap["base_only"], overlap["model_only"], overlap["both"]) == (1, 2, 2)
    assert overlap["model_only_share"] == pytest.approx(2 / 8)
    assert row["changed_share"] == pytest.approx(3 / 8)


def test_relative_change_is_one_for_pruned_weights_and_zero_for_kept_ones() -> None:
    base = torch.tensor([1.0, -2.0, 4.0, 8.0])
    model = torch.tensor([0.0, -2.0, 4.0, 0.0])
    row = _by_module(compare_weights({"w": base}, {"w": model}, eps=0.0))["w"]

    quantiles = row["relative_change"]["quantiles"]
    assert quantiles["min"] == 0.0 and quantiles["max"] == 1.0
    assert row["relative_change"]["mean"] == pytest.approx(0.5)
    histogram = row["relative_change_histogram"]
    assert len(histogram) == len(RELATIVE_CHANGE_EDGES) - 1
    assert sum(histogram) == 4 and histogram[0] == 2


def test_sqnr_of_a_known_perturbation_only_for_quantized_modules() -> None:
    base = torch.tensor([3.0, 4.0])  # ‖w‖² = 25
    model = torch.tensor([3.0, 4.5])  # ‖Δ‖² = 0.25 → 10·log10(100) = 20 dB
    result = compare_weights({"q": base, "p": base}, {"q": model, "p": model}, quantized={"q"})
    rows = _by_module(result)

    assert rows["q"]["sqnr_db"] == pytest.approx(20.0)
    assert rows["p"]["sqnr_db"] is None


def test_structured_pruning_shapes_are_reported_as_not_comparable() -> None:
    base = torch.ones(8, 3, 3, 3)
    model = torch.ones(6, 3, 3, 3)
    model[0] = 0
    row = _by_module(compare_weights({"conv": base}, {"conv": model}))["conv"]

    assert row["comparable"] is False
    assert "shapes differ" in row["reason"]
    assert row["base"]["shape"] == [8, 3, 3, 3] and row["base"]["sparsity"] == 0.0
    assert row["model"]["shape"] == [6, 3, 3, 3]
    assert row["model"]["sparsity"] == pytest.approx(1 / 6)
    assert "zero_overlap" not in row


def test_low_rank_factors_are_marked_and_compared_by_their_product() -> None:
    torch.manual_seed(0)
    base_model = nn.Sequential(nn.Linear(8, 6))
    low_rank = nn.Sequential(nn.Sequential(nn.Linear(8, 2, bias=False), nn.Linear(2, 6)))
    weights = module_weights(low_rank)

    assert list(weights) == ["0" + LOW_RANK_IN, "0" + LOW_RANK_OUT]
    assert weights["0" + LOW_RANK_IN].shape == (2, 8)
    result = compare_weights(module_weights(base_model), weights)
    row = _by_module(result)["0"]
    assert row["comparable"] is False and "low-rank" in row["reason"]
    assert row["low_rank"]["rank"] == 2
    assert row["model"]["numel"] == 2 * 8 + 6 * 2
    assert result["only_in_model"] == [] and result["only_in_base"] == []


@pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated")
@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor")
def test_module_weights_reads_masked_and_dynamically_quantized_layers() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 4))
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    quantized = torch.ao.quantization.quantize_dynamic(
        nn.Sequential(nn.Linear(8, 4)), {nn.Linear}, dtype=torch.qint8
    )

    weights = module_weights(model)
    assert list(weights) == ["0", "3"]  # norms only on request
    assert int((weights["0"] == 0).sum()) == 9
    assert list(module_weights(model, include_norms=True)) == ["0", "1", "3"]
    dequantized = module_weights(quantized)["0"]
    assert dequantized.dtype == torch.float32 and not dequantized.is_quantized
    assert quantized_modules(quantized) == ["0"] and quantized_modules(model) == []


class _FakeQuantized(torch.Tensor):
    """Stands in for a torchao tensor subclass: what it stores differs from what it means."""

    def dequantize(self) -> torch.Tensor:
        return torch.Tensor(self).as_subclass(torch.Tensor) * 2


def test_module_weights_dequantizes_tensor_subclasses() -> None:
    layer = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    layer.weight = nn.Parameter(layer.weight.detach().as_subclass(_FakeQuantized))

    weights = module_weights(layer)
    assert torch.equal(weights[""], torch.full((2, 2), 2.0))
    assert type(weights[""]) is torch.Tensor
    assert quantized_modules(layer) == [""]


def test_rollup_sums_children_weighted_by_parameter_count() -> None:
    base = {
        "layer1.0.conv1": torch.ones(10),
        "layer1.0.conv2": torch.ones(30),
        "fc": torch.ones(60),
    }
    model = {
        "layer1.0.conv1": torch.zeros(10),
        "layer1.0.conv2": torch.ones(30),
        "fc": torch.ones(60),
    }
    rollup = {row["module"]: row for row in compare_weights(base, model)["rollup"]}

    assert list(rollup) == ["", "layer1", "layer1.0"]
    assert rollup["layer1"]["modules"] == 2
    assert rollup["layer1"]["model"]["sparsity"] == pytest.approx(10 / 40)
    assert rollup["layer1"]["relative_change_mean"] == pytest.approx(10 / 40, rel=1e-6)
    assert rollup[""]["model"]["sparsity"] == pytest.approx(10 / 100)
    assert rollup[""]["zero_overlap"]["model_only"] == 10
    assert sum(rollup[""]["relative_change_histogram"]) == 100


def test_rollup_sqnr_comes_from_summed_energies() -> None:
    base = {"a.x": torch.tensor([3.0, 4.0]), "a.y": torch.tensor([0.0, 5.0])}
    model = {"a.x": torch.tensor([3.0, 4.5]), "a.y": torch.tensor([0.0, 5.0])}
    rollup = {
        r["module"]: r for r in compare_weights(base, model, quantized={"a.x", "a.y"})["rollup"]
    }

    assert rollup["a"]["sqnr_db"] == pytest.approx(10 * math.log10(50 / 0.25))


def test_unmatched_modules_are_listed() -> None:
    result = compare_weights(
        {"a": torch.ones(2), "b": torch.ones(2)}, {"a": torch.ones(2), "c": torch.ones(1)}
    )
    assert result["only_in_base"] == ["b"] and result["only_in_model"] == ["c"]


def test_weight_histograms_share_edges_across_models() -> None:
    models = {
        "base": {"fc": torch.tensor([-1.0, 0.0, 1.0])},
        "pruned": {"fc": torch.tensor([0.0, 0.0, 3.0])},
        "other": {"conv": torch.ones(2)},
    }
    hist = weight_histograms(models, "fc", bins=4)

    assert hist["edges"] == pytest.approx(np.linspace(-1, 3, 5).tolist())
    assert hist["counts"] == {"base": [1, 1, 1, 0], "pruned": [0, 2, 0, 1]}
    assert hist["zeros"] == {"base": 1, "pruned": 2}
    assert hist["missing"] == ["other"]
    with pytest.raises(WeightComparisonError):
        weight_histograms(models, "nowhere")
