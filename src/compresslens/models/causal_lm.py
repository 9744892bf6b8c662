"""A small Llama-style causal language model built from a transformers config.

Llama-style rather than GPT-2: its projections are nn.Linear (GPT-2's are Conv1D) and its
norms are RMSNorm weights, the tensors the layer-norm case study prunes and restores.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from compresslens.errors import FactoryError
from compresslens.models.hf import transformers_module


@dataclass(frozen=True)
class CausalLMShape:
    """The architecture of a small causal LM (vocabulary size comes from its tokenizer)."""

    layers: int = 4
    width: int = 128
    heads: int = 4
    context: int = 128
    mlp_width: int = 344  # about 8/3 × width, as in Llama

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def llama_config(vocab_size: int, shape: CausalLMShape, pad_token_id: int = 0) -> Any:
    """A LlamaConfig of `shape` over `vocab_size` tokens (untied input and output embeddings)."""
    if shape.width % shape.heads:
        raise FactoryError(f"width {shape.width} is not divisible by {shape.heads} heads")
    if min(shape.layers, shape.width, shape.heads, shape.context, shape.mlp_width) < 1:
        raise FactoryError(f"every size of a causal LM must be positive: {shape}")
    return transformers_module().LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=shape.width,
        intermediate_size=shape.mlp_width,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.heads,
        max_position_embeddings=shape.context,
        tie_word_embeddings=False,
        bos_token_id=pad_token_id,
        eos_token_id=pad_token_id,
        pad_token_id=pad_token_id,
    )


def build_causal_lm(config: Any, seed: int, norm_init: float = 1.0) -> nn.Module:
    """A freshly initialised causal LM for `config`; the same seed gives the same weights.

    `norm_init` is every norm gain's starting value (transformers starts them at 1.0); it
    draws no random numbers, so models differing only in it share every other weight.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = transformers_module().AutoModelForCausalLM.from_config(config)
    set_norm_gains(model, norm_init)
    return model.eval()


def norm_gains(model: nn.Module) -> dict[str, nn.Parameter]:
    """The gain vector of every norm layer (class name ending in "Norm"), by module name."""
    return {
        name: module.weight
        for name, module in model.named_modules()
        if type(module).__name__.endswith("Norm")
        and isinstance(getattr(module, "weight", None), nn.Parameter)
    }


@torch.no_grad()
def set_norm_gains(model: nn.Module, value: float) -> None:
    """Fill every norm gain with `value`, in place."""
    if not math.isfinite(value) or value <= 0:
        raise FactoryError(f"a norm gain must start positive and finite, got {value}")
    for gain in norm_gains(model).values():
        gain.fill_(value)
