"""What a module is, in one place: linear-like, norm, embedding, by one clear rule each.

Operations select modules and analyses list them by kind, so a GPT-2 `Conv1D` must count as
a Linear and a Hugging Face `LlamaRMSNorm` as a norm everywhere at once. transformers is
never imported: its classes are recognised by name, so `import compresslens` stays light.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Kind = Literal["linear", "conv", "norm", "embedding"]
KIND_ALIASES: tuple[Kind, ...] = ("linear", "conv", "norm", "embedding")
# transformers.pytorch_utils.Conv1D: y = x @ W + b with W stored [in, out] (GPT-2 family)
CONV1D_NAME = "Conv1D"
# A norm whose class torch does not know (LlamaRMSNorm, T5LayerNorm, MistralRMSNorm, …)
NORM_NAME_ENDINGS = ("Norm",)
TORCH_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
    nn.RMSNorm,
)
EMBEDDING_TYPES: tuple[type[nn.Module], ...] = (nn.Embedding, nn.EmbeddingBag)


def has_weight(module: nn.Module) -> bool:
    """Whether a module holds a `weight` tensor of its own."""
    return isinstance(getattr(module, "weight", None), torch.Tensor)


def is_conv1d(module: nn.Module) -> bool:
    """transformers' Conv1D (by class name, any base class): a Linear with weight [in, out]."""
    return any(cls.__name__ == CONV1D_NAME for cls in type(module).__mro__) and has_weight(module)


def is_linear_like(module: nn.Module) -> bool:
    """nn.Linear (and subclasses) or transformers' Conv1D."""
    return isinstance(module, nn.Linear) or is_conv1d(module)


def is_norm(module: nn.Module) -> bool:
    """A torch normalization layer, or any class named "…Norm" that holds a weight (HF norms)."""
    if isinstance(module, TORCH_NORM_TYPES):
        return True
    return type(module).__name__.endswith(NORM_NAME_ENDINGS) and has_weight(module)


def is_embedding(module: nn.Module) -> bool:
    """A lookup table: nn.Embedding or nn.EmbeddingBag (and subclasses)."""
    return isinstance(module, EMBEDDING_TYPES)


def module_kind(module: nn.Module) -> Kind | None:
    """The kind of a module, or None for containers and anything else."""
    if is_norm(module):
        return "norm"
    if is_embedding(module):
        return "embedding"
    if is_linear_like(module):
        return "linear"
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv"
    return None


def out_in(module: nn.Module, tensor: torch.Tensor) -> torch.Tensor:
    """A weight-shaped tensor as [out, in] (Conv1D's is transposed); its own inverse."""
    return tensor.t() if is_conv1d(module) else tensor


def input_features(module: nn.Module) -> int:
    """The input width of a linear-like module (what its input's last dimension holds)."""
    weight = module.weight
    return int(weight.shape[0] if is_conv1d(module) else weight.shape[1])


def linear_from_conv1d(module: nn.Module) -> nn.Linear:
    """An nn.Linear computing exactly what a Conv1D computes (its weight transposed)."""
    weight: torch.Tensor = module.weight
    bias = getattr(module, "bias", None)
    linear = nn.Linear(weight.shape[0], weight.shape[1], bias=bias is not None, dtype=weight.dtype)
    with torch.no_grad():
        linear.weight.copy_(weight.detach().t())
        if bias is not None:
            linear.bias.copy_(bias.detach())
    return linear.to(weight.device)


def replace_module(model: nn.Module, name: str, new: nn.Module) -> None:
    """Put `new` where the submodule `name` (a qualified name) is."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)
