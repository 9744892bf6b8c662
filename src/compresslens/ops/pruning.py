"""Unstructured and N:M pruning: zero individual weights, keeping every tensor's shape.

Pruned weights are stored as plain tensors with exact zeros (no weight_orig/weight_mask
reparametrisation), so the child's state dict has the parent's keys and no replay is
needed. `amount` is the share of the selected weights that is zero afterwards: weights
that are already zero count towards it, so chained pruning steps reach the stated sparsity.
Ties are broken by position (a stable sort), so every operation is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from compresslens.data.inputs import Inputs
from compresslens.errors import OperationError
from compresslens.models.calling import model_output
from compresslens.models.module_kinds import out_in
from compresslens.ops.registry import Operation, OperationContext, register_operation
from compresslens.ops.selection import SelectionParams, select_modules, selected_weights

Amount = Annotated[float, Field(ge=0.0, lt=1.0)]
Scope = Literal["local", "global"]
Scores = dict[str, torch.Tensor]


class SparsityParams(SelectionParams):
    """Share of selected weights to zero, ranked per layer (local) or jointly (global)."""

    amount: Amount
    scope: Scope = "local"


class MagnitudeParams(SparsityParams):
    """prune.magnitude: the shared sparsity parameters, nothing more."""


class RandomParams(SparsityParams):
    """prune.random: the shared sparsity parameters; `context.seed` picks the weights."""


class GradientParams(SparsityParams):
    """Taylor scores from `calibration_batches` shuffled batches of a registered dataset."""

    dataset: str
    batch_size: int = Field(default=64, gt=0)
    calibration_batches: int = Field(default=4, gt=0)


class NMParams(SelectionParams):
    """Keep the `n` largest of every `m` consecutive weights along the input dimension."""

    n: int = Field(default=2, ge=1)
    m: int = Field(default=4, ge=2)

    @model_validator(mode="after")
    def _n_below_m(self) -> NMParams:
        if self.n >= self.m:
            raise ValueError(f"n must be smaller than m, got {self.n}:{self.m}")
        return self


# ------------------------------------------------------------------ choosing what to zero


def pruning_count(amount: float, numel: int) -> int:
    """How many of `numel` weights `amount` zeroes: round(amount × numel)."""
    return round(amount * numel)


def lowest_mask(scores: torch.Tensor, count: int) -> torch.Tensor:
    """Boolean mask of the `count` lowest scores; equal scores go in order of position."""
    flat = scores.reshape(-1)
    order = torch.sort(flat, stable=True).indices
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask[order[:count]] = True
    return mask.reshape(scores.shape)


def local_masks(scores: Scores, amount: float) -> Scores:
    """Per layer: the lowest-scoring share `amount` of each tensor."""
    return {
        name: lowest_mask(score, pruning_count(amount, score.numel()))
        for name, score in scores.items()
    }


def global_masks(scores: Scores, amount: float) -> Scores:
    """Across layers: the lowest-scoring share `amount` of all selected weights together."""
    flat = torch.cat([score.reshape(-1) for score in scores.values()])
    joint = lowest_mask(flat, pruning_count(amount, flat.numel()))
    pieces = joint.split([score.numel() for score in scores.values()])
    return {
        name: piece.reshape(score.shape)
        for (name, score), piece in zip(scores.items(), pieces, strict=True)
    }


def pruning_masks(scores: Scores, amount: float, scope: Scope) -> Scores:
    """Masks of the weights to zero, by the ranking scope."""
    return global_masks(scores, amount) if scope == "global" else local_masks(scores, amount)


@torch.no_grad()
def zero_weights(weights: Scores, masks: Scores) -> None:
    """Write exact (positive) zeros where the masks are set, in place."""
    for name, weight in weights.items():
        weight.masked_fill_(masks[name], 0.0)


def prune_by_scores(
    model: nn.Module, params: SparsityParams, score_fn: Callable[[Scores], Scores]
) -> nn.Module:
    """Select weights, score them, and zero the lowest-scoring share in place."""
    weights = selected_weights(select_modules(model, params))
    scores = score_fn(weights)
    zero_weights(weights, pruning_masks(scores, params.amount, params.scope))
    return model


# ---------------------------------------------------------------------------- scores


def magnitude_scores(weights: Scores) -> Scores:
    """|w|: the smallest weights matter least."""
    return {name: weight.detach().abs() for name, weight in weights.items()}


def random_scores(weights: Scores, seed: int) -> Scores:
    """Uniform noise from a generator seeded by `seed`; weights already zero rank first."""
    generator = torch.Generator().manual_seed(seed)
    scores = {}
    for name, weight in weights.items():
        noise = torch.rand(weight.shape, generator=generator)
        scores[name] = noise.masked_fill(weight.detach().cpu() == 0, -1.0).to(weight.device)
    return scores


def calibration_indices(
    num_instances: int, batch_size: int, batches: int, seed: int
) -> list[torch.Tensor]:
    """Index batches of a seeded shuffle: `batches` of `batch_size` (fewer if data runs out)."""
    order = torch.randperm(num_instances, generator=torch.Generator().manual_seed(seed))
    return list(order[: batch_size * batches].split(batch_size))


def gradient_scores(
    model: nn.Module,
    weights: Scores,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
) -> Scores:
    """Σ over batches of |w ⊙ ∂L/∂w| (mean cross-entropy, eval mode): first-order Taylor."""
    model.eval()
    tensors = list(weights.values())
    flags = [tensor.requires_grad for tensor in tensors]
    scores = {name: torch.zeros_like(weight) for name, weight in weights.items()}
    try:
        for tensor in tensors:
            tensor.requires_grad_(True)
        with torch.enable_grad():
            for inputs, labels in batches:
                loss = nn.functional.cross_entropy(model_logits(model, inputs), labels)
                grads = torch.autograd.grad(loss, tensors, allow_unused=True)
                for (name, weight), grad in zip(weights.items(), grads, strict=True):
                    if grad is not None:
                        scores[name] += (weight.detach() * grad).abs()
    finally:
        for tensor, flag in zip(tensors, flags, strict=True):
            tensor.requires_grad_(flag)
    return scores


def model_logits(model: nn.Module, inputs: Inputs) -> torch.Tensor:
    """The model's logits [batch, classes], whatever form its inputs and outputs take."""
    output = model_output(model, inputs)
    if output.ndim != 2:
        raise OperationError(
            "gradient scoring needs a classifier that outputs logits [batch, classes]; this "
            f"model outputs {list(output.shape)} (a language model? score it on tokens)"
        )
    return output


def calibration_batches(
    context: OperationContext, dataset: str, batch_size: int, batches: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(inputs, labels) batches drawn from the registered dataset by a seeded shuffle."""
    data = context.dataset(dataset)
    inputs, labels = data.inputs, data.labels
    if len(labels) == 0:
        raise OperationError(f"dataset {dataset!r} is empty; it cannot calibrate gradients")
    return [
        (inputs[index], labels[index])
        for index in calibration_indices(len(labels), batch_size, batches, context.seed)
    ]


# ------------------------------------------------------------------------------- N:M


def nm_mask(weight: torch.Tensor, n: int, m: int, name: str) -> torch.Tensor:
    """Mask of the m−n smallest |w| in every m consecutive weights along the input dimension.

    `weight` is [out, in, …]: Linear groups along `in`; Conv [out, in, kh, kw] along the
    flattened in·kh·kw (a Conv1D's [in, out] weight is passed transposed, see `apply_nm`).
    """
    return nm_mask_of_scores(weight.detach().abs(), n, m, name)


def nm_mask_of_scores(
    scores: torch.Tensor, n: int, m: int, name: str, operation: str = "prune.nm"
) -> torch.Tensor:
    """Mask of the m−n lowest scores in every m consecutive entries of each output row."""
    rows = scores.reshape(scores.shape[0], -1) if scores.ndim > 1 else None
    if rows is None or rows.shape[1] % m:
        width = "none" if rows is None else rows.shape[1]
        raise OperationError(
            f"{operation} {n}:{m}: {name!r} has input dimension {width} (weight shape "
            f"{list(scores.shape)} as [out, in]), which is not divisible by m={m}; "
            f"leave it out with exclude=[{name!r}]"
        )
    groups = rows.reshape(-1, m)
    smallest = torch.sort(groups, dim=1, stable=True).indices[:, : m - n]
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, smallest, True)
    return mask.reshape(scores.shape)


# ------------------------------------------------------------------------ operations


def apply_magnitude(model: nn.Module, params: Any, context: OperationContext) -> nn.Module:
    """Zero the smallest-magnitude weights."""
    return prune_by_scores(model, params, magnitude_scores)


def apply_random(model: nn.Module, params: Any, context: OperationContext) -> nn.Module:
    """Zero a random share of the weights (a baseline every ranking should beat)."""
    return prune_by_scores(model, params, lambda weights: random_scores(weights, context.seed))


def apply_gradient(model: nn.Module, params: Any, context: OperationContext) -> nn.Module:
    """Zero the weights whose removal changes the loss least, to first order."""
    batches = calibration_batches(
        context, params.dataset, params.batch_size, params.calibration_batches
    )
    return prune_by_scores(model, params, lambda weights: gradient_scores(model, weights, batches))


def apply_nm(model: nn.Module, params: Any, context: OperationContext) -> nn.Module:
    """N:M semi-structured sparsity, the pattern sparse tensor cores accelerate.

    Groups run along each output's inputs: a Conv1D's [in, out] weight is grouped by columns.
    """
    modules = select_modules(model, params)
    weights = selected_weights(modules)
    masks = {
        name: out_in(
            modules[name], nm_mask(out_in(modules[name], weight), params.n, params.m, name)
        )
        for name, weight in weights.items()
    }
    zero_weights(weights, masks)
    return model


register_operation(
    Operation(
        name="prune.magnitude",
        apply=apply_magnitude,
        params=MagnitudeParams,
        description="Unstructured: zero the smallest-|w| share of the selected weights.",
    )
)
register_operation(
    Operation(
        name="prune.random",
        apply=apply_random,
        params=RandomParams,
        description="Unstructured: zero a seeded random share of the selected weights.",
    )
)
register_operation(
    Operation(
        name="prune.gradient",
        apply=apply_gradient,
        params=GradientParams,
        description="Unstructured: zero the lowest first-order Taylor scores |w·∂L/∂w|.",
    )
)
register_operation(
    Operation(
        name="prune.nm",
        apply=apply_nm,
        params=NMParams,
        description="Semi-structured N:M: keep the n largest of every m input weights.",
    )
)
