"""select_modules: layer types, include/exclude name patterns, protected norms and embeddings."""

from __future__ import annotations

import pytest
from torch import nn

from compresslens.errors import OperationError
from compresslens.ops.selection import SelectionParams, select_modules, selected_weights


class TinyNet(nn.Module):
    """An embedding, a conv with batch norm, a layer norm, a hidden layer and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.conv = nn.Conv2d(1, 2, 3)
        self.norm = nn.BatchNorm2d(2)
        self.hidden = nn.Linear(4, 4)
        self.layer_norm = nn.LayerNorm(4)
        self.classifier = nn.Linear(4, 3)


def selected_names(**params: object) -> list[str]:
    return list(select_modules(TinyNet(), SelectionParams(**params)))


def test_default_selects_linear_and_conv_in_model_order() -> None:
    assert selected_names() == ["conv", "hidden", "classifier"]


def test_include_types_narrows_the_selection() -> None:
    assert selected_names(include_types=["Linear"]) == ["hidden", "classifier"]


def test_exclude_patterns_remove_matching_names() -> None:
    assert selected_names(exclude=["classifier", "*norm*", "*embed*"]) == ["conv", "hidden"]


def test_include_patterns_keep_only_matching_names() -> None:
    assert selected_names(include=["hid*", "conv"]) == ["conv", "hidden"]


def test_norms_and_embeddings_need_their_exact_type_name() -> None:
    assert selected_names(include_types=["Module"]) == ["conv", "hidden", "classifier"]
    assert selected_names(include_types=["LayerNorm", "Embedding"]) == ["embed", "layer_norm"]


def test_base_class_names_match_subclasses() -> None:
    model = nn.MultiheadAttention(8, 2)  # out_proj is a NonDynamicallyQuantizableLinear
    assert list(select_modules(model, SelectionParams(include_types=["Linear"]))) == ["out_proj"]


def test_nothing_matching_is_a_clear_error() -> None:
    with pytest.raises(OperationError, match=r"no module matches.*Linear×2"):
        selected_names(include=["nothing*"])


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(ValueError, match="extra"):
        SelectionParams(inclde=["x"])


def test_tied_weights_are_listed_once() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    model[1].weight = model[0].weight
    assert list(selected_weights(select_modules(model, SelectionParams()))) == ["0"]
