"""restore: copy named parameters back from an ancestor, as a provenance edge of its own.

Compress and Compare's case study: global magnitude pruning broke a language model because
it pruned the norm layers' weights, and copying them back from the base fixed it. The
ancestor is the operation's second parent (`teacher=` in `Workspace.compress` and in a sweep
stage), so the child records both parents. Only parameters are copied, never buffers.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import nn

from compresslens.errors import OperationError
from compresslens.models.module_kinds import KIND_ALIASES, module_kind
from compresslens.ops.registry import (
    Operation,
    OperationContext,
    OperationParams,
    register_operation,
)

SHOWN_NAMES = 12  # parameter names an error lists before "…"


class RestoreParams(OperationParams):
    """Which parameters to copy: fnmatch patterns over parameter names, or a module kind.

    A kind ("norm", "embedding", "linear", "conv") stands for every parameter of the modules
    of that kind (`models/module_kinds.py`): "norm" restores LlamaRMSNorm and LayerNorm alike.
    """

    whole_model_reason: ClassVar[str] = (
        "restore copies parameters from a second parent; its `names` are the selection"
    )

    names: list[str] = Field(min_length=1)


def parameters_by_name(model: nn.Module) -> dict[str, nn.Parameter]:
    """Every parameter under every name it has (tied weights appear under each name)."""
    return dict(model.named_parameters(remove_duplicate=False))


def kind_parameter_names(model: nn.Module, kind: str) -> list[str]:
    """The names of the parameters held directly by modules of one kind."""
    return [
        f"{module_name}.{name}" if module_name else name
        for module_name, module in model.named_modules(remove_duplicate=False)
        if module_kind(module) == kind
        for name, _ in module.named_parameters(recurse=False)
    ]


def matched_names(model: nn.Module, names: list[str]) -> list[str]:
    """Parameter names matched by the patterns and kinds, in model order; each must match."""
    available = list(parameters_by_name(model))
    chosen: set[str] = set()
    for entry in names:
        if entry in KIND_ALIASES:
            found = set(kind_parameter_names(model, entry))
        else:
            found = {name for name in available if fnmatchcase(name, entry)}
        if not found:
            shown = ", ".join(available[:SHOWN_NAMES]) + (
                ", …" if len(available) > SHOWN_NAMES else ""
            )
            raise OperationError(
                f"restore: {entry!r} matches no parameter of the model (names are fnmatch "
                f"patterns over parameter names, or one of {', '.join(KIND_ALIASES)}); "
                f"its parameters: {shown}"
            )
        chosen |= found
    return [name for name in available if name in chosen]


def check_copyable(name: str, target: torch.Tensor, source: torch.Tensor | None) -> None:
    """The ancestor holds the same float tensor (name, shape, dtype), or a clear error."""
    if source is None:
        raise OperationError(f"restore: the ancestor has no parameter {name!r}")
    for side, tensor in (("model", target), ("ancestor", source)):
        if type(tensor) not in (torch.Tensor, nn.Parameter) or tensor.is_quantized:
            raise OperationError(
                f"restore: {name!r} is quantized in the {side}; restore float parameters "
                "(before quantizing)"
            )
    if target.shape != source.shape or target.dtype != source.dtype:
        raise OperationError(
            f"restore: {name!r} is {list(target.shape)} {target.dtype} in the model but "
            f"{list(source.shape)} {source.dtype} in the ancestor; restore needs the same "
            "shape and dtype (an ancestor before any structural change or cast)"
        )


def ancestor_of(context: OperationContext) -> nn.Module:
    """The second parent, or an error that shows how to give it."""
    if len(context.parents) < 2:
        raise OperationError(
            "restore copies parameters from a second parent: pass the ancestor as "
            "teacher=… (ws.compress(model, 'restore', names=['norm'], teacher=base))"
        )
    return context.parents[1]


@torch.no_grad()
def restore_parameters(model: nn.Module, ancestor: nn.Module, names: list[str]) -> list[str]:
    """Copy the matched parameters from `ancestor` into `model` in place; their names."""
    chosen = matched_names(model, names)
    targets, sources = parameters_by_name(model), parameters_by_name(ancestor)
    for name in chosen:
        check_copyable(name, targets[name], sources.get(name))
    for name in chosen:
        targets[name].copy_(sources[name])
    return chosen


def apply_restore(model: nn.Module, params: Any, context: OperationContext) -> nn.Module:
    """The first parent with the named parameters copied back from the second."""
    restore_parameters(model, ancestor_of(context), params.names)
    return model


register_operation(
    Operation(
        name="restore",
        apply=apply_restore,
        params=RestoreParams,
        description="copy named parameters (patterns or a kind: norm, …) back from an ancestor",
    )
)
