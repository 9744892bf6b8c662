"""Low-rank factorisation: replace a layer by two thinner ones from its truncated SVD.

A Linear ``W`` [out, in] becomes ``Linear(in, r) → Linear(r, out)``; a Conv2d, viewed as
[out, in·kh·kw], becomes a kh×kw conv to ``r`` channels followed by a 1×1 conv. By
Eckart–Young the product of the factors is the best rank-r approximation of ``W``. Each
factor gets √σ, so neither carries the whole scale. The factors sit in an ``nn.Sequential``
under the layer's name (``hidden.0``, ``hidden.1``), so other operations still see plain
Linear/Conv2d layers; replay finds them by ``<layer>.0.weight`` in the stored shapes.
"""

from __future__ import annotations

import torch
from pydantic import Field, model_validator
from torch import nn

from compresslens.errors import OperationError
from compresslens.ops.outputs import output_layers
from compresslens.ops.registry import (
    Operation,
    OperationContext,
    ReplayContext,
    register_operation,
)
from compresslens.ops.selection import SelectionParams, select_modules

NAME = "lowrank.svd"
FACTORISABLE = ("Linear", "Conv2d")
Factorisable = nn.Linear | nn.Conv2d


class SvdParams(SelectionParams):
    """Exactly one of `rank` (per layer) or `energy` (kept share of Σσ²) picks each rank.

    The model's output layers (found by tracing, whatever their names) are left whole
    unless `include_output_layers` is set: their rows are the classes.
    """

    rank: int | None = Field(default=None, ge=1)
    energy: float | None = Field(default=None, gt=0.0, le=1.0)
    include_output_layers: bool = False

    @model_validator(mode="after")
    def _one_criterion(self) -> SvdParams:
        if (self.rank is None) == (self.energy is None):
            raise ValueError("give exactly one of rank or energy")
        unsupported = sorted(set(self.include_types) - set(FACTORISABLE))
        if unsupported:
            raise ValueError(f"lowrank.svd factorises only {FACTORISABLE}, not {unsupported}")
        return self


# ---------------------------------------------------------------------------- shapes


def _as_matrix(layer: Factorisable) -> torch.Tensor:
    """The weight as [out, in·kh·kw], the matrix whose SVD is truncated."""
    weight = layer.weight.detach()
    return weight.reshape(weight.shape[0], -1)


def saves_parameters(layer: Factorisable, rank: int) -> bool:
    """Whether two factors of this rank hold fewer weights than the layer."""
    rows, cols = _as_matrix(layer).shape
    return rank * (rows + cols) < rows * cols


def rank_for(singular_values: torch.Tensor, params: SvdParams) -> int:
    """The rank to keep: `rank` (capped at full rank), or the least reaching `energy`."""
    full = len(singular_values)
    if params.rank is not None:
        return min(params.rank, full)
    squares = singular_values.double() ** 2
    total = float(squares.sum())
    if total == 0.0:
        return 1
    kept = torch.cumsum(squares, 0) / total
    assert params.energy is not None
    reached = int(torch.searchsorted(kept, torch.tensor(params.energy, dtype=kept.dtype)))
    return min(reached + 1, full)


# ------------------------------------------------------------------------- factors


def empty_factors(layer: Factorisable, rank: int) -> nn.Sequential:
    """Two uninitialised layers of the given rank that compute like ``layer`` once filled."""
    kind = {"device": layer.weight.device, "dtype": layer.weight.dtype}
    has_bias = layer.bias is not None
    if isinstance(layer, nn.Linear):
        first = nn.utils.skip_init(nn.Linear, layer.in_features, rank, bias=False, **kind)
        second = nn.utils.skip_init(nn.Linear, rank, layer.out_features, bias=has_bias, **kind)
        return nn.Sequential(first, second)
    first = nn.utils.skip_init(
        nn.Conv2d,
        layer.in_channels,
        rank,
        layer.kernel_size,
        stride=layer.stride,
        padding=layer.padding,
        dilation=layer.dilation,
        bias=False,
        padding_mode=layer.padding_mode,
        **kind,
    )
    second = nn.utils.skip_init(nn.Conv2d, rank, layer.out_channels, 1, bias=has_bias, **kind)
    return nn.Sequential(first, second)


def svd_factors(layer: Factorisable, params: SvdParams) -> nn.Sequential | None:
    """The layer's rank-r factorisation, or None when it would not reduce parameters."""
    matrix = _as_matrix(layer)
    u, s, vh = torch.linalg.svd(matrix.double(), full_matrices=False)
    rank = rank_for(s, params)
    if not saves_parameters(layer, rank):
        return None
    root = s[:rank].sqrt()
    factors = empty_factors(layer, rank)
    first, second = factors[0], factors[1]
    with torch.no_grad():
        first.weight.copy_((root[:, None] * vh[:rank]).reshape(first.weight.shape))
        second.weight.copy_((u[:, :rank] * root).reshape(second.weight.shape))
        if layer.bias is not None:
            second.bias.copy_(layer.bias)
    return factors


def _is_factorisable(name: str, module: nn.Module) -> bool:
    """Exact Linear/Conv2d (subclasses may read `.weight` elsewhere), ungrouped, not root."""
    if not name or type(module) not in (nn.Linear, nn.Conv2d):
        return False
    return not isinstance(module, nn.Conv2d) or module.groups == 1


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    model.get_submodule(parent_name).register_module(child, module)


# ---------------------------------------------------------------------- operation


def apply_svd(model: nn.Module, params: SvdParams, context: OperationContext) -> nn.Module:
    """Factorise every selected layer where that saves parameters; error if none does."""
    selected = select_modules(model, params)
    kept_whole = (
        set() if params.include_output_layers else set(output_layers(model, context.example(NAME)))
    )
    replaced = []
    for name, module in selected.items():
        if name in kept_whole or not _is_factorisable(name, module):
            continue
        factors = svd_factors(module, params)
        if factors is not None:
            _replace(model, name, factors)
            replaced.append(name)
    if not replaced:
        criterion = f"rank={params.rank}" if params.rank is not None else f"energy={params.energy}"
        candidates = ", ".join(n for n in selected if n not in kept_whole) or "none"
        raise OperationError(
            f"lowrank.svd: at {criterion} no selected layer ({candidates}; output layers "
            f"{sorted(kept_whole) or 'none'} are kept whole) would have fewer parameters as "
            "two factors; use a lower rank or energy"
        )
    return model


def replay_svd(model: nn.Module, params: SvdParams, context: ReplayContext) -> nn.Module:
    """Rebuild the factor layers; each rank is the first factor's stored output size."""
    stored_shapes = context.stored_shapes
    for name, module in list(model.named_modules()):
        first = f"{name}.0.weight"
        if _is_factorisable(name, module) and first in stored_shapes:
            _replace(model, name, empty_factors(module, stored_shapes[first][0]))
    return model


register_operation(
    Operation(
        name=NAME,
        apply=apply_svd,
        params=SvdParams,
        replay=replay_svd,
        description="truncated-SVD factorisation of Linear/Conv2d layers into two layers",
    )
)
