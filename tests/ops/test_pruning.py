"""Unstructured (magnitude, random, gradient) and N:M pruning: the property each one promises."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

from compresslens.errors import OperationError
from compresslens.ops.registry import OperationContext, get_operation
from factories import digits_mlp

MLP_FACTORY = "factories:digits_mlp"


def run_op(
    name: str, model: nn.Module, *, seed: int = 0, load_dataset: Any = None, **params: Any
) -> nn.Module:
    """Apply a registered operation the way Workspace.compress does (typed params, context)."""
    operation = get_operation(name)
    context = OperationContext(seed=seed, load_dataset=load_dataset)
    return operation.apply(model, operation.validate(params), context)


def mlp(seed: int = 0, hidden: int = 32) -> nn.Module:
    torch.manual_seed(seed)
    return digits_mlp(hidden=hidden)


def zeros(tensor: torch.Tensor) -> int:
    return int((tensor == 0).sum())


def zeroed_and_kept(weight: torch.Tensor, score: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of the zeroed weights and of the kept ones."""
    return score[weight == 0], score[weight != 0]


# ---------------------------------------------------------------------------- magnitude


@pytest.mark.parametrize("amount", [0.3, 0.5, 0.9])
def test_local_magnitude_zeroes_the_smallest_share_of_each_layer(amount: float) -> None:
    parent = mlp()
    child = run_op("prune.magnitude", copy.deepcopy(parent), amount=amount)
    for name in ("body.0", "classifier"):
        before, after = parent.get_submodule(name).weight, child.get_submodule(name).weight
        assert zeros(after) == round(amount * before.numel())
        zeroed, kept = zeroed_and_kept(after, before.abs())
        assert zeroed.max() <= kept.min()
        assert torch.equal(after[after != 0], before[after != 0])


def test_global_magnitude_ranks_all_selected_weights_together() -> None:
    parent = mlp()
    child = run_op("prune.magnitude", copy.deepcopy(parent), amount=0.6, scope="global")
    before = torch.cat([parent.body[0].weight.flatten(), parent.classifier.weight.flatten()])
    after = torch.cat([child.body[0].weight.flatten(), child.classifier.weight.flatten()])
    assert zeros(after) == round(0.6 * before.numel())
    zeroed, kept = zeroed_and_kept(after, before.abs())
    assert zeroed.max() <= kept.min()
    # layers of different scales end up with different sparsities
    assert zeros(child.body[0].weight) / child.body[0].weight.numel() != pytest.approx(0.6)


def test_unselected_modules_and_biases_are_unchanged() -> None:
    parent = mlp()
    child = run_op("prune.magnitude", copy.deepcopy(parent), amount=0.5, exclude=["classifier"])
    assert torch.equal(child.classifier.weight, parent.classifier.weight)
    assert torch.equal(child.body[0].bias, parent.body[0].bias)
    assert zeros(child.body[0].weight) == round(0.5 * parent.body[0].weight.numel())


def test_ties_are_broken_by_position() -> None:
    layer = nn.Linear(4, 2)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    child = run_op("prune.magnitude", nn.Sequential(layer), amount=0.5)
    assert child[0].weight.flatten().tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_state_dict_keeps_plain_tensors_with_exact_zeros() -> None:
    parent = mlp()
    child = run_op("prune.magnitude", copy.deepcopy(parent), amount=0.5)
    assert list(child.state_dict()) == list(parent.state_dict())
    assert get_operation("prune.magnitude").replay is None
    pruned = child.body[0].weight
    assert not torch.signbit(pruned[pruned == 0]).any()  # +0.0, not -0.0


def test_amount_must_be_below_one() -> None:
    with pytest.raises(OperationError, match="amount"):
        get_operation("prune.magnitude").validate({"amount": 1.0})


def test_already_zero_weights_count_towards_the_amount() -> None:
    once = run_op("prune.magnitude", mlp(), amount=0.5)
    twice = run_op("prune.random", copy.deepcopy(once), amount=0.5, seed=3)
    assert torch.equal(twice.body[0].weight, once.body[0].weight)


def test_workspace_stores_and_reloads_a_magnitude_pruned_model(workspace: Any) -> None:
    base = workspace.add_model(mlp(), name="mlp", factory=MLP_FACTORY, input_shape=[64])
    child = workspace.compress(base, "prune.magnitude", amount=0.5, scope="global")
    reloaded = workspace.load_model(child)
    expected = run_op("prune.magnitude", workspace.load_model(base), amount=0.5, scope="global")
    for key, value in expected.state_dict().items():
        assert torch.equal(reloaded.state_dict()[key], value)


# ------------------------------------------------------------------------------- random


@pytest.mark.parametrize("scope", ["local", "global"])
def test_random_zeroes_the_exact_count(scope: str) -> None:
    parent = mlp()
    child = run_op("prune.random", copy.deepcopy(parent), amount=0.4, scope=scope)
    layers = [child.body[0].weight, child.classifier.weight]
    if scope == "local":
        assert [zeros(w) for w in layers] == [round(0.4 * w.numel()) for w in layers]
    else:
        total = sum(w.numel() for w in layers)
        assert sum(zeros(w) for w in layers) == round(0.4 * total)


def test_random_is_deterministic_per_seed_and_differs_across_seeds() -> None:
    masks = {
        seed: [
            run_op("prune.random", mlp(), amount=0.5, seed=seed).body[0].weight == 0 for _ in "ab"
        ]
        for seed in (1, 2)
    }
    assert torch.equal(masks[1][0], masks[1][1])
    assert not torch.equal(masks[1][0], masks[2][0])


def test_random_is_not_magnitude() -> None:
    by_magnitude = run_op("prune.magnitude", mlp(), amount=0.5).body[0].weight == 0
    at_random = run_op("prune.random", mlp(), amount=0.5).body[0].weight == 0
    assert not torch.equal(by_magnitude, at_random)


# ----------------------------------------------------------------------------- gradient


def digits_like(n: int = 60) -> SimpleNamespace:
    generator = torch.Generator().manual_seed(0)
    return SimpleNamespace(
        inputs=torch.rand(n, 64, generator=generator) * 16,
        labels=torch.arange(n) % 10,
    )


def taylor_scores(model: nn.Module, data: SimpleNamespace) -> dict[str, torch.Tensor]:
    """|w · ∂L/∂w| of each Linear weight for the mean cross-entropy on all of `data`."""
    model = copy.deepcopy(model).eval()
    loss = nn.functional.cross_entropy(model(data.inputs), data.labels)
    loss.backward()
    return {
        "body.0": (model.body[0].weight * model.body[0].weight.grad).abs().detach(),
        "classifier": (model.classifier.weight * model.classifier.weight.grad).abs().detach(),
    }


@pytest.mark.parametrize("scope", ["local", "global"])
def test_gradient_pruning_zeroes_the_lowest_taylor_scores(scope: str) -> None:
    data = digits_like()
    parent = mlp()
    scores = taylor_scores(parent, data)
    child = run_op(
        "prune.gradient",
        copy.deepcopy(parent),
        load_dataset=lambda name: data,
        amount=0.5,
        scope=scope,
        dataset="calib",
        batch_size=len(data.labels),  # one batch of everything: the order does not matter
        calibration_batches=1,
    )
    pairs = [(child.get_submodule(n).weight, scores[n]) for n in scores]
    if scope == "global":
        pairs = [
            (torch.cat([w.flatten() for w, _ in pairs]), torch.cat([s.flatten() for _, s in pairs]))
        ]
    for weight, score in pairs:
        assert zeros(weight) == round(0.5 * weight.numel())
        zeroed, kept = zeroed_and_kept(weight, score)
        assert zeroed.max() <= kept.min() + 1e-6 * score.max()


def test_gradient_pruning_is_deterministic_and_leaves_no_gradients() -> None:
    data = digits_like()
    runs = [
        run_op(
            "prune.gradient",
            mlp(),
            load_dataset=lambda name: data,
            amount=0.5,
            dataset="d",
            batch_size=16,
            calibration_batches=3,
            seed=4,
        )
        for _ in range(2)
    ]
    assert torch.equal(runs[0].body[0].weight, runs[1].body[0].weight)
    assert all(p.grad is None and p.requires_grad for p in runs[0].parameters())


def test_gradient_pruning_without_data_is_a_clear_error() -> None:
    with pytest.raises(OperationError, match="needs dataset 'calib'"):
        run_op("prune.gradient", mlp(), amount=0.5, dataset="calib")


# ---------------------------------------------------------------------------------- N:M


def nm_groups(weight: torch.Tensor, m: int) -> torch.Tensor:
    return weight.reshape(weight.shape[0], -1).reshape(-1, m)


@pytest.mark.parametrize(("n", "m"), [(2, 4), (1, 4), (3, 8)])
def test_nm_zeroes_the_smallest_m_minus_n_of_every_group(n: int, m: int) -> None:
    torch.manual_seed(0)
    parent = nn.Sequential(nn.Conv2d(8, 4, 3), nn.Flatten(), nn.Linear(16, 8))
    child = run_op("prune.nm", copy.deepcopy(parent), n=n, m=m)
    for index in (0, 2):
        after = nm_groups(child[index].weight, m)
        before = nm_groups(parent[index].weight, m).abs()
        assert ((after == 0).sum(dim=1) == m - n).all()
        zeroed_max = torch.where(after == 0, before, 0.0).amax(dim=1)
        kept_min = torch.where(after != 0, before, torch.inf).amin(dim=1)
        assert (zeroed_max <= kept_min).all()


def test_nm_groups_run_along_the_input_dimension() -> None:
    layer = nn.Linear(4, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[4.0, 1.0, 3.0, 2.0], [-1.0, -4.0, 2.0, 3.0]]))
    child = run_op("prune.nm", nn.Sequential(layer))
    assert child[0].weight.tolist() == [[4.0, 0.0, 3.0, 0.0], [0.0, -4.0, 0.0, 3.0]]


def test_nm_refuses_an_input_dimension_not_divisible_by_m() -> None:
    model = nn.Sequential(nn.Linear(6, 4), nn.Linear(4, 2))
    with pytest.raises(OperationError, match=r"'0' has input dimension 6.*not divisible by m=4"):
        run_op("prune.nm", model)
    child = run_op("prune.nm", model, exclude=["0"])
    assert ((nm_groups(child[1].weight, 4) == 0).sum(dim=1) == 2).all()


def test_nm_needs_n_below_m() -> None:
    with pytest.raises(OperationError, match="n must be smaller than m"):
        get_operation("prune.nm").validate({"n": 4, "m": 4})


def test_gradient_pruning_reads_a_registered_dataset(workspace: Any) -> None:
    data = digits_like()
    workspace.add_dataset("calib", data.inputs, data.labels, num_classes=10)
    base = workspace.add_model(mlp(), name="mlp", factory=MLP_FACTORY, input_shape=[64])
    child = workspace.compress(
        base, "prune.gradient", amount=0.5, dataset="calib", batch_size=16, calibration_batches=2
    )
    weight = workspace.load_model(child).body[0].weight
    assert zeros(weight) == round(0.5 * weight.numel())
