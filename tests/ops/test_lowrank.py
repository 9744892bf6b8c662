"""Truncated-SVD factorisation: the best rank-r approximation, fewer parameters, exact reloads."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

import compresslens as cl
from compresslens.errors import OperationError
from compresslens.evaluate.efficiency import count_parameters
from compresslens.ops.registry import OperationContext, get_operation


def run_op(name: str, model: nn.Module, *, example: Any = None, **params: Any) -> nn.Module:
    operation = get_operation(name)
    if example is None:
        first = next(m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d))
        size = first.in_features if isinstance(first, nn.Linear) else first.in_channels
        example = (
            torch.zeros(1, size) if isinstance(first, nn.Linear) else torch.zeros(1, size, 9, 9)
        )
    return operation.apply(
        model, operation.validate(params), OperationContext(example_input=example)
    )


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 10)).eval()


def product(factors: nn.Sequential) -> torch.Tensor:
    """The weight the two factors compute together, as an [out, in·kh·kw] matrix."""
    first, second = factors[0].weight.detach(), factors[1].weight.detach()
    return second.reshape(second.shape[0], -1) @ first.reshape(first.shape[0], -1)


def test_linear_factors_are_the_best_rank_r_approximation() -> None:
    parent = mlp()
    child = run_op("lowrank.svd", copy.deepcopy(parent), rank=8, exclude=[])
    weight = parent[0].weight.detach().double()
    u, s, vh = torch.linalg.svd(weight, full_matrices=False)
    approx = product(child[0]).double()
    assert child[0][0].weight.shape == (8, 64) and child[0][1].weight.shape == (48, 8)
    assert torch.allclose(approx, u[:, :8] @ torch.diag(s[:8]) @ vh[:8], atol=1e-5)
    # Eckart–Young: the Frobenius error is the norm of the dropped singular values
    error = torch.linalg.matrix_norm(weight - approx)
    assert torch.isclose(error, s[8:].norm(), rtol=1e-5)
    assert torch.equal(child[0][1].bias, parent[0].bias)


def test_conv_becomes_a_k_by_k_conv_to_r_channels_then_a_1x1_conv() -> None:
    torch.manual_seed(0)
    parent = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU()).eval()
    child = run_op("lowrank.svd", copy.deepcopy(parent), rank=3, include_output_layers=True)
    first, second = child[0][0], child[0][1]
    assert (first.kernel_size, first.stride, first.padding) == ((3, 3), (2, 2), (1, 1))
    assert first.out_channels == 3 and second.kernel_size == (1, 1)
    matrix = parent[0].weight.detach().reshape(16, -1).double()
    s = torch.linalg.svdvals(matrix)
    error = torch.linalg.matrix_norm(matrix - product(child[0]).double())
    assert torch.isclose(error, s[3:].norm(), rtol=1e-5)
    x = torch.randn(2, 8, 9, 9)
    approx = nn.functional.conv2d(
        x, product(child[0]).reshape(16, 8, 3, 3), parent[0].bias, stride=2, padding=1
    )
    with torch.no_grad():
        assert torch.allclose(child(x), torch.relu(approx), atol=1e-5)


def test_energy_keeps_the_fewest_values_reaching_the_share() -> None:
    parent = mlp()
    child = run_op("lowrank.svd", copy.deepcopy(parent), energy=0.8, exclude=[])
    rank = child[0][0].out_features
    squares = torch.linalg.svdvals(parent[0].weight.detach().double()) ** 2
    shares = torch.cumsum(squares, 0) / squares.sum()
    assert shares[rank - 1] >= 0.8 > shares[rank - 2]


@pytest.mark.parametrize("head", ["classifier", "fc", "head", "out"])
def test_parameters_drop_and_the_output_layer_is_left_alone_whatever_its_name(head: str) -> None:
    parent = nn.Sequential()
    parent.add_module("hidden", nn.Linear(64, 48))
    parent.add_module(head, nn.Linear(48, 10))
    child = run_op("lowrank.svd", copy.deepcopy(parent), rank=4)
    assert isinstance(getattr(child, head), nn.Linear)
    assert count_parameters(child)[0] == 4 * 64 + 4 * 48 + 48 + 48 * 10 + 10
    assert count_parameters(child)[0] < count_parameters(parent)[0]


def test_the_output_layer_is_factorised_when_asked() -> None:
    child = run_op("lowrank.svd", mlp(), rank=4, include_output_layers=True)
    assert isinstance(child[0], nn.Sequential) and isinstance(child[2], nn.Sequential)


def test_layers_a_factorisation_would_not_shrink_are_skipped() -> None:
    child = run_op("lowrank.svd", mlp(), rank=9, exclude=[])
    assert isinstance(child[0], nn.Sequential)  # 9·(64+48) < 64·48
    assert isinstance(child[2], nn.Linear)  # 9·(48+10) ≥ 48·10


def test_an_operation_that_shrinks_nothing_is_an_error() -> None:
    with pytest.raises(OperationError, match=r"no selected layer .* fewer parameters"):
        run_op("lowrank.svd", mlp(), rank=40, exclude=[])


@pytest.mark.parametrize("params", [{}, {"rank": 4, "energy": 0.9}])
def test_exactly_one_of_rank_and_energy_is_required(params: dict[str, Any]) -> None:
    with pytest.raises(OperationError, match="exactly one of rank or energy"):
        get_operation("lowrank.svd").validate(params)


def test_only_linear_and_conv2d_can_be_selected() -> None:
    with pytest.raises(OperationError, match="Conv1d"):
        get_operation("lowrank.svd").validate({"rank": 2, "include_types": ["Conv1d"]})


def test_lowrank_reloads_bit_identically(
    digits_workspace: cl.Workspace, digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    inputs, _ = digits
    child = digits_workspace.compress("mlp", "lowrank.svd", rank=8)
    assert child.efficiency["parameters"] == 8 * 64 + 8 * 32 + 32 + 32 * 10 + 10
    expected = run_op("lowrank.svd", digits_workspace.load_model("mlp"), rank=8)
    reloaded = digits_workspace.load_model(child.id)
    assert isinstance(reloaded.body[0], nn.Sequential)
    with torch.inference_mode():
        assert torch.equal(reloaded(inputs), expected(inputs))
