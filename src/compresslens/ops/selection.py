"""Which modules an operation touches: layer types plus fnmatch patterns over module names.

Every compression operation mixes `SelectionParams` into its parameters, so "prune all
Linear and Conv2d layers except the classifier" reads the same for every method.
Normalization layers and embeddings are never selected unless their type is named
explicitly: pruning layer-norm weights is how global magnitude pruning breaks a model.
Besides class names, `include_types` takes the kinds of `models/module_kinds.py`: "linear"
(nn.Linear and GPT-2's Conv1D), "conv", "norm" (torch's and Hugging Face's), "embedding".
"""

from __future__ import annotations

from collections import Counter
from fnmatch import fnmatchcase

import torch
from pydantic import Field
from torch import nn

from compresslens.errors import OperationError
from compresslens.models.module_kinds import (
    EMBEDDING_TYPES,
    TORCH_NORM_TYPES,
    has_weight,
    is_conv1d,
    is_embedding,
    is_norm,
    module_kind,
)
from compresslens.ops.registry import OperationParams

DEFAULT_TYPES = ("Linear", "Conv2d")
# Modules whose weights are scales or lookup tables, not multiply-accumulate weights (Hugging
# Face norms such as LlamaRMSNorm are protected too, by `module_kinds.is_norm`'s name rule).
PROTECTED_TYPES: tuple[type[nn.Module], ...] = (*TORCH_NORM_TYPES, *EMBEDDING_TYPES)


class SelectionParams(OperationParams):
    """Mixin: which modules to compress, by type name and by qualified-name patterns.

    A module is selected when its type (or a base class) or its kind is in `include_types`,
    its name matches one of `include` and none of `exclude`. Norms and embeddings need their
    exact type name or their kind ("norm", "embedding"); "Linear" also selects Conv1D.
    """

    include_types: list[str] = Field(default_factory=lambda: list(DEFAULT_TYPES))
    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(default_factory=list)


def why_not_per_layer(params: type[OperationParams]) -> str | None:
    """None when an operation selects modules; else why it can only act on the whole model.

    An operation explains itself through a `whole_model_reason` class variable on its params.
    """
    if issubclass(params, SelectionParams):
        return None
    default = "it has no module selection (include_types, include, exclude)"
    return str(getattr(params, "whole_model_reason", default))


def is_protected(module: nn.Module) -> bool:
    """True for normalization layers and embeddings, which need an explicit type to be pruned."""
    return is_norm(module) or is_embedding(module)


def type_matches(module: nn.Module, include_types: list[str]) -> bool:
    """Protected modules match by their own class name or kind; others also by any base class.

    Conv1D is a Linear with a transposed weight, so naming "Linear" selects it too.
    """
    kind = module_kind(module)
    if kind is not None and kind in include_types:
        return True
    if is_protected(module):
        return type(module).__name__ in include_types
    if is_conv1d(module) and "Linear" in include_types:
        return True
    return any(cls.__name__ in include_types for cls in type(module).__mro__)


def name_matches(name: str, include: list[str], exclude: list[str]) -> bool:
    """Whether a qualified module name matches an include pattern and no exclude pattern."""
    included = any(fnmatchcase(name, pattern) for pattern in include)
    return included and not any(fnmatchcase(name, pattern) for pattern in exclude)


def is_selected(name: str, module: nn.Module, selection: SelectionParams) -> bool:
    """Whether one named module is in the selection."""
    return (
        has_weight(module)
        and type_matches(module, selection.include_types)
        and name_matches(name, selection.include, selection.exclude)
    )


def select_modules(model: nn.Module, selection: SelectionParams) -> dict[str, nn.Module]:
    """The selected modules by qualified name, in model order; an error when none match."""
    selected = {
        name: module
        for name, module in model.named_modules()
        if is_selected(name, module, selection)
    }
    if not selected:
        raise OperationError(no_match_message(model, selection))
    return selected


def no_match_message(model: nn.Module, selection: SelectionParams) -> str:
    """Say what was asked for and what the model holds, so the fix is obvious."""
    weighted = [(name, module) for name, module in model.named_modules() if has_weight(module)]
    types = Counter(type(module).__name__ for _, module in weighted)
    available = ", ".join(f"{kind}×{count}" for kind, count in sorted(types.items())) or "none"
    names = ", ".join(name or "<root>" for name, _ in weighted[:12])
    more = ", …" if len(weighted) > 12 else ""
    return (
        "no module matches the selection "
        f"(include_types={selection.include_types}, include={selection.include}, "
        f"exclude={selection.exclude}); modules with weights: {available} [{names}{more}]"
    )


def selected_weights(modules: dict[str, nn.Module]) -> dict[str, torch.Tensor]:
    """Each distinct weight tensor once (tied weights are pruned once), keyed by module name."""
    weights: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, module in modules.items():
        weight = module.weight
        if id(weight) not in seen:
            seen.add(id(weight))
            weights[name] = weight
    return weights
