"""The output contract: output layers are found by tracing, and a child keeps the output shape."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compresslens.data.inputs import TensorFields
from compresslens.errors import OperationError
from compresslens.ops.outputs import apply_operation, output_layers
from compresslens.ops.registry import NoParams, Operation, OperationContext


class TwoHeads(nn.Module):
    """The output is the sum of two linear heads: both decide the output's width."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Linear(6, 8)
        self.left = nn.Linear(8, 3)
        self.right = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.trunk(x))
        return self.left(h) + self.right(h)


class NormAfterHead(nn.Module):
    """A LayerNorm after the last Linear passes the Linear's channels on to the output."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 4)
        self.norm = nn.LayerNorm(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.fc(x)).view(len(x), -1)


class KeywordModel(nn.Module):
    """Takes keyword inputs and answers with an object holding `.logits`, like transformers."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> object:
        pooled = (self.embed(input_ids) * attention_mask[..., None]).mean(1)
        return type("Output", (), {"logits": self.head(pooled)})()


def test_the_last_layer_is_the_output_layer_whatever_its_name() -> None:
    for name in ("classifier", "fc", "head", "7"):
        model = nn.Sequential()
        model.add_module("hidden", nn.Linear(6, 8))
        model.add_module("relu", nn.ReLU())
        model.add_module(name, nn.Linear(8, 3))
        assert output_layers(model, torch.zeros(1, 6)) == [name]


def test_every_layer_that_reaches_the_output_directly_is_an_output_layer() -> None:
    assert sorted(output_layers(TwoHeads(), torch.zeros(1, 6))) == ["left", "right"]


def test_norms_and_reshapes_pass_the_channels_through() -> None:
    assert output_layers(NormAfterHead(), torch.zeros(2, 6)) == ["fc"]


def test_keyword_inputs_and_output_objects_are_traced() -> None:
    example = TensorFields(
        {"input_ids": torch.zeros(1, 5, dtype=torch.long), "attention_mask": torch.ones(1, 5)}
    )
    assert output_layers(KeywordModel(), example) == ["head"]


def test_frozen_parameters_are_traced_and_stay_frozen() -> None:
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    model.requires_grad_(False)
    assert output_layers(model, torch.zeros(1, 6)) == ["2"]
    assert not any(p.requires_grad for p in model.parameters())


def _narrow_the_head(model: nn.Module, params: NoParams, context: OperationContext) -> nn.Module:
    model[2] = nn.Linear(8, 2)
    return model


def _crash(model: nn.Module, params: NoParams, context: OperationContext) -> nn.Module:
    model[0] = nn.Linear(5, 8)  # no longer takes the 6 input features
    return model


def test_a_child_with_another_output_shape_is_refused_and_the_parent_is_untouched() -> None:
    parent = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    before = {k: v.clone() for k, v in parent.state_dict().items()}
    operation = Operation("test.narrow", apply=_narrow_the_head)
    context = OperationContext(parents=[parent], example_input=torch.zeros(1, 6))
    with pytest.raises(
        OperationError,
        match=r"test.narrow changed the model's output shape "
        r"from \[1, 3\] to \[1, 2\]",
    ):
        apply_operation(operation, parent, NoParams(), context)
    assert all(torch.equal(before[k], v) for k, v in parent.state_dict().items())
    assert parent[2].out_features == 3


def test_a_child_that_no_longer_runs_is_refused_with_the_reason() -> None:
    parent = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    context = OperationContext(parents=[parent], example_input=torch.zeros(1, 6))
    with pytest.raises(OperationError, match=r"test\.crash made a model that no longer runs"):
        apply_operation(Operation("test.crash", apply=_crash), parent, NoParams(), context)


def test_without_an_example_input_the_error_says_how_to_give_one() -> None:
    parent = nn.Sequential(nn.Linear(6, 3))
    with pytest.raises(OperationError, match=r"input_shape=\[…\] \(one instance, no batch"):
        apply_operation(
            Operation("test.narrow", apply=_narrow_the_head), parent, NoParams(), OperationContext()
        )
