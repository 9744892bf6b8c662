"""Per-layer sensitivity on a tiny MLP whose first layer is obviously the critical one."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from compresslens.analysis.sensitivity import (
    SensitivityError,
    int8_fake_quant,
    int8_fake_quant_one,
    layer_sensitivity,
    magnitude_prune_one,
    sensitivity_to_exclude_list,
    sensitivity_to_mixed_precision,
)


def _mlp() -> nn.Sequential:
    """Dense `0` carries the signal; `2` is already half zeros, so pruning half of it is free."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
    with torch.no_grad():
        model[2].weight[:, 4:] = 0
    return model.eval()


@pytest.fixture
def agreement():
    model = _mlp()
    inputs = torch.randn(256, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        reference = model(inputs).argmax(1)

    def evaluate(m: nn.Module) -> float:
        with torch.no_grad():
            return float((m(inputs).argmax(1) == reference).float().mean())

    return model, evaluate


def test_the_critical_layer_ranks_first_and_the_model_is_untouched(agreement) -> None:
    model, evaluate = agreement
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ranking = layer_sensitivity(model, ["2", "0"], magnitude_prune_one(0.5), evaluate)

    assert [row["layer"] for row in ranking] == ["0", "2"]
    assert [row["rank"] for row in ranking] == [1, 2]
    assert ranking[0]["drop"] > 0.05 and ranking[1]["drop"] == 0.0
    assert ranking[0]["baseline"] == 1.0
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_ranking_becomes_an_exclude_list_and_a_bits_map(agreement) -> None:
    model, evaluate = agreement
    ranking = layer_sensitivity(model, ["0", "2"], magnitude_prune_one(0.5), evaluate)

    assert sensitivity_to_exclude_list(ranking, max_drop=0.01) == ["0"]
    assert sensitivity_to_exclude_list(ranking, max_drop=1.0) == []
    assert sensitivity_to_mixed_precision(ranking, keep_share=0.5) == {"0": 8, "2": 4}
    assert sensitivity_to_mixed_precision(ranking, 0.0, high_bits=16, low_bits=8) == {
        "0": 8,
        "2": 8,
    }
    with pytest.raises(SensitivityError):
        sensitivity_to_mixed_precision(ranking, keep_share=1.5)


def test_loss_metrics_count_an_increase_as_a_drop() -> None:
    model = _mlp()
    ranking = layer_sensitivity(
        model,
        ["0", "2"],
        magnitude_prune_one(1.0),
        lambda m: float(m[0].weight.abs().sum() == 0),
        higher_is_better=False,
    )
    assert ranking[0]["layer"] == "0" and ranking[0]["drop"] == 1.0


def test_magnitude_prune_one_zeroes_exactly_the_smallest_share() -> None:
    model = nn.Sequential(nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.1, -4.0, 0.3, -0.2]]))
    magnitude_prune_one(0.5)(model, "0")
    assert torch.equal(model[0].weight, torch.tensor([[0.0, -4.0, 0.3, 0.0]]))


def test_compress_one_writes_through_pruning_masks() -> None:
    model = nn.Sequential(nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.1, -4.0, 0.3, -0.2]]))
    prune.l1_unstructured(model[0], "weight", amount=0.25)
    magnitude_prune_one(0.5)(model, "0")
    model(torch.zeros(1, 4))  # the pre-hook recomputes weight = weight_orig * mask
    assert torch.equal(model[0].weight, torch.tensor([[0.0, -4.0, 0.3, 0.0]]))


def test_int8_fake_quant_has_at_most_255_levels_per_channel_and_small_error() -> None:
    w = torch.randn(3, 50, generator=torch.Generator().manual_seed(0))
    w[2] = 0
    q = int8_fake_quant(w)
    assert all(len(torch.unique(row)) <= 255 for row in q)
    assert torch.equal(q[2], w[2])
    step = w.abs().amax(dim=1, keepdim=True) / 127
    assert bool(((q - w).abs() <= step / 2 + 1e-7).all())

    model = nn.Sequential(nn.Linear(50, 3))
    int8_fake_quant_one()(model, "0")
    assert len(torch.unique(model[0].weight[0])) <= 255


def test_bad_layers_fail_before_any_evaluation() -> None:
    model = _mlp()
    calls = []

    def evaluate(m: nn.Module) -> float:
        calls.append(1)
        return 1.0

    with pytest.raises(SensitivityError):
        layer_sensitivity(model, ["0", "nope"], magnitude_prune_one(0.5), evaluate)
    with pytest.raises(SensitivityError):
        magnitude_prune_one(0.5)(model, "1")  # ReLU has no weight
    assert calls == []
