"""Wanda (Sun et al. 2023): zero the weights with the lowest |W_ij|·‖X_j‖₂, compared per row.

A weight matters as much as the input it multiplies: ‖X_j‖₂ is the norm of input feature j
over every calibration token, collected by forward pre-hooks on all selected layers in one
pass. Like magnitude pruning it writes exact zeros and needs no replay; `amount` counts
weights already zero (their score is 0, so they rank first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from compresslens.data.inputs import Inputs
from compresslens.errors import OperationError
from compresslens.models.calling import call_model, eval_mode
from compresslens.models.module_kinds import input_features, is_linear_like, out_in
from compresslens.ops.pruning import (
    Amount,
    Scores,
    calibration_indices,
    global_masks,
    local_masks,
    nm_mask_of_scores,
    pruning_count,
    zero_weights,
)
from compresslens.ops.registry import Operation, OperationContext, register_operation
from compresslens.ops.selection import SelectionParams, select_modules

WandaScope = Literal["row", "layer", "global"]
DEFAULT_WINDOW = 128  # tokens per calibration window when the model states no maximum


class WandaParams(SelectionParams):
    """Either `amount` (ranked per output row, per layer or globally) or an `n`:`m` pattern.

    `window` cuts a 1-D token stream (a "tokens" dataset) into windows of that many tokens;
    by default the model's maximum positions (or 128). Other datasets are used per instance.
    """

    include_types: list[str] = Field(default_factory=lambda: ["linear"])
    dataset: str
    amount: Amount | None = None
    scope: WandaScope = "row"
    n: int | None = Field(default=None, ge=1)
    m: int | None = Field(default=None, ge=2)
    calibration_batches: int = Field(default=4, gt=0)
    batch_size: int = Field(default=8, gt=0)
    window: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _amount_or_pattern(self) -> WandaParams:
        pattern = (self.n, self.m)
        if (None in pattern) != (pattern == (None, None)):
            raise ValueError("give both n and m (e.g. n=2, m=4), or neither")
        if self.n is not None and self.m is not None:
            if self.n >= self.m:
                raise ValueError(f"n must be smaller than m, got {self.n}:{self.m}")
            if self.amount is not None or self.scope != "row":
                raise ValueError(f"n:m sets the sparsity ({self.n}:{self.m}); drop amount/scope")
        elif self.amount is None:
            raise ValueError("give amount (a share of weights to zero) or an n:m pattern")
        return self


# ------------------------------------------------------------------ calibration data


def window_length(window: int | None, model: nn.Module) -> int:
    """The calibration window: as given, else the model's maximum positions, else 128."""
    if window is not None:
        return window
    config = getattr(model, "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    return int(positions) if isinstance(positions, int) and positions > 0 else DEFAULT_WINDOW


def token_windows(stream: torch.Tensor, length: int) -> torch.Tensor:
    """Consecutive non-overlapping windows [N, length] of a token stream (one if it is shorter)."""
    length = min(length, len(stream))
    count = len(stream) // length
    return stream[: count * length].reshape(count, length)


def calibration_inputs(
    inputs: Inputs, params: WandaParams, model: nn.Module, seed: int
) -> list[Inputs]:
    """Batches of windows (token stream) or instances, drawn by a seeded shuffle."""
    if isinstance(inputs, torch.Tensor) and inputs.ndim == 1:
        inputs = token_windows(inputs, window_length(params.window, model))
    if len(inputs) == 0:
        raise OperationError(f"prune.wanda: dataset {params.dataset!r} is empty")
    return [
        inputs[index]
        for index in calibration_indices(
            len(inputs), params.batch_size, params.calibration_batches, seed
        )
    ]


# ----------------------------------------------------------------- input norms


def first_tensor(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """A layer's input: its first positional tensor, else its first keyword tensor."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            return value
    return None


@torch.no_grad()
def input_norms(
    model: nn.Module, modules: dict[str, nn.Module], batches: list[Inputs]
) -> dict[str, torch.Tensor]:
    """‖X_j‖₂ (float64) of each module's input features over all batches, in one pass.

    Modules sharing one weight (tied layers) pool their inputs under the first one's name.
    """
    owner: dict[int, str] = {}
    keys = {name: owner.setdefault(id(m.weight), name) for name, m in modules.items()}
    sums = {
        key: torch.zeros(input_features(modules[key]), dtype=torch.float64)
        for key in set(keys.values())
    }
    calls = dict.fromkeys(sums, 0)

    def recorder(key: str) -> Callable[..., None]:
        def record(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            x = first_tensor(args, kwargs)
            if x is not None:
                flat = x.detach().reshape(-1, x.shape[-1]).to(torch.float64)
                sums[key] += flat.pow(2).sum(dim=0).cpu()
                calls[key] += 1

        return record

    handles = [
        module.register_forward_pre_hook(recorder(keys[name]), with_kwargs=True)
        for name, module in modules.items()
    ]
    try:
        with eval_mode(model):
            for batch in batches:
                call_model(model, batch)
    finally:
        for handle in handles:
            handle.remove()
    idle = [key for key, count in calls.items() if count == 0]
    if idle:
        raise OperationError(
            f"prune.wanda: {', '.join(idle)} never ran on the calibration data, so its inputs "
            "have no norm; leave it out with exclude=[…]"
        )
    return {key: total.sqrt() for key, total in sums.items()}


# ------------------------------------------------------------------------ scores


def wanda_scores(
    modules: dict[str, nn.Module], norms: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """|W_ij|·‖X_j‖₂ as [out, in] (float64), for each weight once."""
    return {
        name: out_in(modules[name], modules[name].weight.detach()).abs().to(torch.float64)
        * norm.to(modules[name].weight.device)[None, :]
        for name, norm in norms.items()
    }


def row_masks(scores: Scores, amount: float) -> Scores:
    """In every output row, the lowest-scoring share `amount` (ties in order of position)."""
    masks = {}
    for name, score in scores.items():
        count = pruning_count(amount, score.shape[1])
        lowest = torch.sort(score, dim=1, stable=True).indices[:, :count]
        masks[name] = torch.zeros_like(score, dtype=torch.bool).scatter_(1, lowest, True)
    return masks


def wanda_masks(scores: Scores, params: WandaParams) -> Scores:
    """Masks ([out, in]) of the weights to zero: n:m groups, or `amount` by `scope`."""
    if params.n is not None and params.m is not None:
        return {
            name: nm_mask_of_scores(score, params.n, params.m, name, "prune.wanda")
            for name, score in scores.items()
        }
    if params.amount is None:  # the validator refuses this; say so if it is bypassed
        raise OperationError("prune.wanda needs amount or an n:m pattern")
    if params.scope == "row":
        return row_masks(scores, params.amount)
    if params.scope == "layer":
        return local_masks(scores, params.amount)
    return global_masks(scores, params.amount)


def linear_modules(model: nn.Module, params: WandaParams) -> dict[str, nn.Module]:
    """The selected modules, all linear-like: Wanda's ‖X_j‖ is defined for matrix inputs."""
    modules = select_modules(model, params)
    other = [f"{name} ({type(m).__name__})" for name, m in modules.items() if not is_linear_like(m)]
    if other:
        raise OperationError(
            "prune.wanda scores Linear and Conv1D layers (their inputs are feature vectors); "
            f"the selection also holds {', '.join(other)}: use include_types=['linear'] or "
            "exclude them"
        )
    return modules


def apply_wanda(model: nn.Module, params: Any, context: OperationContext) -> nn.Module:
    """Zero the weights with the smallest |W|·‖X‖ on the calibration data."""
    modules = linear_modules(model, params)
    data = context.dataset(params.dataset)
    batches = calibration_inputs(data.inputs, params, model, context.seed)
    norms = input_norms(model, modules, batches)
    masks = wanda_masks(wanda_scores(modules, norms), params)
    weights = {name: modules[name].weight for name in masks}
    zero_weights(weights, {name: out_in(modules[name], mask) for name, mask in masks.items()})
    return model


register_operation(
    Operation(
        name="prune.wanda",
        apply=apply_wanda,
        params=WandaParams,
        description="Unstructured or n:m: zero the lowest |W|·‖X‖ per row (calibration data).",
    )
)
