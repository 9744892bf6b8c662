"""prune.structured: a physically smaller model that classifies and reloads bit-identically."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

from compresslens.errors import OperationError
from compresslens.evaluate.flops import count_macs
from compresslens.models.zoo import small_cnn, small_resnet
from compresslens.ops.registry import OperationContext, ReplayContext, get_operation

CNN_FACTORY = "compresslens.models.zoo:small_cnn"
RESNET_FACTORY = "compresslens.models.zoo:small_resnet"
CNN_KWARGS = {"width": 8, "hidden": 16}
RESNET_KWARGS = {"widths": [4, 8]}
EXAMPLE = torch.zeros(1, 1, 28, 28)


def run_op(
    model: nn.Module, *, load_dataset: Any = None, example: Any = EXAMPLE, **params: Any
) -> nn.Module:
    operation = get_operation("prune.structured")
    context = OperationContext(seed=0, load_dataset=load_dataset, example_input=example)
    return operation.apply(model, operation.validate(params), context)


def tiny_cnn() -> nn.Module:
    torch.manual_seed(0)
    return small_cnn(**CNN_KWARGS).eval()


def images(n: int = 6) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(1))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


@pytest.mark.parametrize("importance", ["l1", "l2"])
def test_child_is_smaller_and_still_classifies(importance: str) -> None:
    parent = tiny_cnn()
    child = run_op(copy.deepcopy(parent), amount=0.5, importance=importance)
    assert parameter_count(child) < parameter_count(parent)
    assert count_macs(child, EXAMPLE).total_macs < count_macs(parent, EXAMPLE).total_macs
    assert child.block1.conv.out_channels == 4 and child.block2.conv.out_channels == 8
    assert child.hidden.out_features == 8
    assert child.classifier.out_features == 10
    assert child(images()).shape == (6, 10)


def test_excluded_layers_keep_their_outputs() -> None:
    child = run_op(tiny_cnn(), amount=0.5, exclude=["classifier", "hidden"])
    assert child.hidden.out_features == 16
    assert child.block2.conv.out_channels == 8


def test_zero_amount_changes_nothing() -> None:
    parent = tiny_cnn()
    assert shapes(run_op(copy.deepcopy(parent), amount=0.0)) == shapes(parent)


def test_l1_removes_the_filters_of_lowest_group_norm() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[5.0] * 3, [0.1] * 3, [4.0] * 3, [0.2] * 3]))
        model[2].weight.fill_(1.0)
    kept = model[0].weight[[0, 2]].clone()
    child = run_op(model, amount=0.5, input_shape=[3], exclude=["2"])
    assert torch.equal(child[0].weight, kept)


def test_taylor_importance_uses_the_calibration_data() -> None:
    data = SimpleNamespace(inputs=images(32), labels=torch.arange(32) % 10)
    children = [
        run_op(
            tiny_cnn(),
            load_dataset=lambda name: data,
            amount=0.5,
            importance="taylor",
            dataset="calib",
            batch_size=8,
            calibration_batches=2,
        )
        for _ in range(2)
    ]
    assert children[0].block1.conv.out_channels == 4
    assert all(p.grad is None for p in children[0].parameters())
    first, second = (child.state_dict() for child in children)
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_taylor_without_a_dataset_is_refused() -> None:
    with pytest.raises(OperationError, match="needs dataset"):
        get_operation("prune.structured").validate({"amount": 0.5, "importance": "taylor"})


@pytest.mark.parametrize(
    ("factory", "kwargs", "params"),
    [
        (CNN_FACTORY, CNN_KWARGS, {"amount": 0.5}),
        (CNN_FACTORY, CNN_KWARGS, {"amount": 0.6, "global_pruning": True}),
        (RESNET_FACTORY, RESNET_KWARGS, {"amount": 0.5}),
        (RESNET_FACTORY, RESNET_KWARGS, {"amount": 0.4, "global_pruning": True}),
    ],
)
def test_workspace_round_trip_is_bit_identical(
    workspace: Any, factory: str, kwargs: dict[str, Any], params: dict[str, Any]
) -> None:
    torch.manual_seed(0)
    builder = small_cnn if factory == CNN_FACTORY else small_resnet
    base = workspace.add_model(
        builder(**kwargs).eval(),
        name="base",
        factory=factory,
        factory_kwargs=kwargs,
        input_shape=[1, 28, 28],
    )
    child = workspace.compress(base, "prune.structured", **params)
    compressed = run_op(workspace.load_model(base), **params)  # what compress stored
    reloaded = workspace.load_model(child)
    assert shapes(reloaded) == shapes(compressed)
    assert parameter_count(reloaded) < parameter_count(workspace.load_model(base))
    with torch.inference_mode():
        assert torch.equal(reloaded(images()), compressed(images()))


def test_replay_that_cannot_reach_the_stored_shapes_is_an_error() -> None:
    operation = get_operation("prune.structured")
    params = operation.validate({"amount": 0.5})
    stored = shapes(tiny_cnn()) | {"hidden.bias": (3,)}
    with pytest.raises(OperationError, match="cannot reach the stored shapes"):
        operation.replay(tiny_cnn(), params, ReplayContext(stored, EXAMPLE))


def test_pruning_a_pruned_model_replays_both_edges(workspace: Any) -> None:
    torch.manual_seed(0)
    base = workspace.add_model(
        small_cnn(**CNN_KWARGS).eval(),
        name="base",
        factory=CNN_FACTORY,
        factory_kwargs=CNN_KWARGS,
        input_shape=[1, 28, 28],
    )
    first = workspace.compress(base, "prune.structured", amount=0.5)
    second = workspace.compress(first, "prune.structured", amount=0.5, importance="l2")
    compressed = run_op(workspace.load_model(first), amount=0.5, importance="l2")
    reloaded = workspace.load_model(second)
    assert reloaded.block2.conv.out_channels == 4
    with torch.inference_mode():
        assert torch.equal(reloaded(images()), compressed(images()))


class TinyResNetFC(nn.Module):
    """torchvision's naming: a stem, one residual block, global pooling and `fc`."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = x + self.block(x)
        return self.fc(self.pool(x).flatten(1))


class MLPHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU())
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@pytest.mark.parametrize(
    ("build", "example"),
    [
        (TinyResNetFC, torch.zeros(1, 1, 8, 8)),
        (MLPHead, torch.zeros(1, 1, 8, 8)),
        (
            lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)),
            torch.zeros(1, 64),
        ),
    ],
    ids=["fc", "head", "sequential-integer-names"],
)
def test_the_output_layer_keeps_its_outputs_whatever_its_name(build: Any, example: Any) -> None:
    torch.manual_seed(0)
    child = run_op(build().eval(), amount=0.5, example=example)
    with torch.inference_mode():
        assert child(example.repeat(3, *[1] * (example.dim() - 1))).shape == (3, 10)
    assert parameter_count(child) < parameter_count(build())


def test_a_model_on_8x8_inputs_is_traced_with_its_own_input_shape(
    digits_workspace: Any, digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    inputs, labels = digits
    digits_workspace.add_dataset("digit-images", inputs.reshape(-1, 1, 8, 8), labels)
    torch.manual_seed(0)
    base = digits_workspace.add_model(
        small_cnn(width=4, hidden=8, image_size=8).eval(),
        name="cnn8",
        factory=CNN_FACTORY,
        factory_kwargs={"width": 4, "hidden": 8, "image_size": 8},
        input_shape=[1, 8, 8],
    )
    assert base.input_spec is not None and base.input_spec["shape"] == [1, 8, 8]
    child = digits_workspace.compress(base, "prune.structured", amount=0.5)
    assert child.input_spec == base.input_spec
    evaluation = digits_workspace.evaluate(child, "digit-images", latency=False)
    assert 0 <= evaluation.accuracy <= 1
    assert digits_workspace.load_model(child).block1.conv.out_channels == 2


def test_an_explicit_input_shape_is_one_instance_without_the_batch_dimension() -> None:
    torch.manual_seed(0)
    model = small_cnn(width=4, hidden=8, image_size=8).eval()
    child = run_op(model, amount=0.5, input_shape=[1, 8, 8], example=None)
    assert child(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(OperationError, match="could not trace"):
        run_op(
            small_cnn(width=4, hidden=8, image_size=8).eval(),
            amount=0.5,
            input_shape=[1, 1, 8, 8],
            example=None,
        )
