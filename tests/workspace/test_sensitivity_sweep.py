"""The per-layer sensitivity sweep on hand-made scores: a layer's score is fixed by the test,
so every row, drop and rank is known exactly (scores are binary fractions: exact drops)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from compresslens.analysis.sensitivity import SensitivityError
from compresslens.workspace.sensitivity import layer_sensitivity

LAYERS = ("a", "b", "c")


def three_layers() -> nn.Sequential:
    """Three named layers with all-one weights, so a zeroed weight marks the compressed one."""
    model = nn.Sequential()
    for name in LAYERS:
        layer = nn.Linear(2, 2, bias=False)
        nn.init.ones_(layer.weight)
        model.add_module(name, layer)
    return model


def zero_weight(model: nn.Module, layer: str) -> nn.Module:
    """compress_one: zero the layer's weight in place (layer_sensitivity passes a copy)."""
    with torch.no_grad():
        model.get_submodule(layer).weight.zero_()
    return model


def scored_by(scores: dict[str, float], clean: float = 1.0):
    """evaluate: `scores[layer]` for the layer whose weight is zero, `clean` when none is."""
    calls: list[str | None] = []

    def evaluate(model: nn.Module) -> float:
        zeroed = [n for n in LAYERS if not model.get_submodule(n).weight.any()]
        calls.append(zeroed[0] if zeroed else None)
        return scores[zeroed[0]] if zeroed else clean

    return evaluate, calls


def test_rows_rank_the_largest_drop_first() -> None:
    evaluate, calls = scored_by({"a": 0.5, "b": 0.875, "c": 1.0})
    rows = layer_sensitivity(three_layers(), ["c", "a", "b"], zero_weight, evaluate)
    assert rows == [
        {"layer": "a", "baseline": 1.0, "score": 0.5, "drop": 0.5, "rank": 1},
        {"layer": "b", "baseline": 1.0, "score": 0.875, "drop": 0.125, "rank": 2},
        {"layer": "c", "baseline": 1.0, "score": 1.0, "drop": 0.0, "rank": 3},
    ]
    assert calls == [None, "c", "a", "b"]  # the baseline once, then each layer alone


def test_equal_drops_keep_the_given_order() -> None:
    evaluate, _ = scored_by({"a": 0.75, "b": 0.75, "c": 0.75})
    rows = layer_sensitivity(three_layers(), ["b", "c", "a"], zero_weight, evaluate)
    assert [(row["layer"], row["rank"]) for row in rows] == [("b", 1), ("c", 2), ("a", 3)]


def test_the_model_itself_is_never_changed() -> None:
    model = three_layers()
    evaluate, _ = scored_by({"a": 0.5, "b": 0.5, "c": 0.5})
    layer_sensitivity(model, list(LAYERS), zero_weight, evaluate)
    assert all(bool((model.get_submodule(n).weight == 1).all()) for n in LAYERS)


def test_a_loss_counts_an_increase_as_a_drop() -> None:
    evaluate, _ = scored_by({"a": 2.5, "b": 0.25, "c": 1.5}, clean=0.5)
    rows = layer_sensitivity(
        three_layers(), list(LAYERS), zero_weight, evaluate, higher_is_better=False
    )
    assert [(row["layer"], row["drop"]) for row in rows] == [("a", 2.0), ("c", 1.0), ("b", -0.25)]


def test_a_non_finite_score_is_an_infinite_drop() -> None:
    evaluate, _ = scored_by({"a": 0.5, "b": math.nan, "c": -math.inf})
    rows = layer_sensitivity(three_layers(), list(LAYERS), zero_weight, evaluate)
    assert [(row["layer"], row["drop"]) for row in rows] == [
        ("b", math.inf),
        ("c", math.inf),
        ("a", 0.5),
    ]


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([], "no layers given to measure"),
        (["a", "b", "a"], r"layers are listed more than once: \['a', 'b', 'a'\]"),
        (["a", "nope"], "the model has no module 'nope'"),
    ],
)
def test_bad_layers_fail_before_any_evaluation(layers: list[str], message: str) -> None:
    evaluate, calls = scored_by({"a": 0.5, "b": 0.5, "c": 0.5})
    with pytest.raises(SensitivityError, match=message):
        layer_sensitivity(three_layers(), layers, zero_weight, evaluate)
    assert calls == []
