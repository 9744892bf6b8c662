"""The layer-norm case study's direction on a tiny Llama: small gains that matter get pruned.

Compress and Compare: global magnitude pruning broke T5 because its norm gains were small
(so among the pruned weights) yet every one of them mattered; restoring them fixed it. Here
a tiny trained Llama is rescaled without changing its function (each norm gain × c, the
matching input columns of the next Linear layers ÷ c), which plants exactly that situation.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from compresslens.models.causal_lm import CausalLMShape, build_causal_lm, llama_config, norm_gains
from compresslens.ops.lm_training import LMTrainParams, block_perplexity, train_causal_lm
from compresslens.ops.registry import OperationContext, get_operation

pytest.importorskip("transformers", reason="causal LMs are transformers models")
pytestmark = pytest.mark.slow  # trains a tiny LM once: seconds

SHAPE = CausalLMShape(layers=2, width=32, heads=2, context=16, mlp_width=64)
VOCAB = 40
STREAM = torch.tensor([3, 7, 1, 9, 4, 4, 2, 8, 5, 6, 0, 11] * 40, dtype=torch.int64)
WITH_NORMS = ["Linear", "LlamaRMSNorm"]
SMALL = 1e-3  # the planted gains' scale, far below every Linear weight that gets pruned


def trained_lm() -> nn.Module:
    model = build_causal_lm(llama_config(VOCAB, SHAPE), 0, norm_init=1.0)
    params = LMTrainParams(steps=30, batch_size=4, lr=1e-2)
    train_causal_lm(model, STREAM, context=SHAPE.context, params=params, seed=0)
    return model


@pytest.fixture(scope="module")
def base() -> nn.Module:
    return trained_lm()


@torch.no_grad()
def with_small_gains(model: nn.Module, scale: float) -> nn.Module:
    """The same function with every norm gain × scale and the layers it feeds ÷ scale."""
    small = copy.deepcopy(model)
    for layer in small.model.layers:
        layer.input_layernorm.weight.mul_(scale)
        for linear in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
            linear.weight.div_(scale)
        layer.post_attention_layernorm.weight.mul_(scale)
        for linear in (layer.mlp.gate_proj, layer.mlp.up_proj):
            linear.weight.div_(scale)
    small.model.norm.weight.mul_(scale)
    small.lm_head.weight.div_(scale)
    return small


def global_magnitude(model: nn.Module, amount: float, include_types: list[str]) -> nn.Module:
    operation = get_operation("prune.magnitude")
    params = operation.validate(
        {"amount": amount, "scope": "global", "include_types": include_types}
    )
    return operation.apply(copy.deepcopy(model), params, OperationContext(seed=0))


def restore_norms(model: nn.Module, source: nn.Module) -> nn.Module:
    """`model` with every norm gain copied back from `source` by a state-dict copy."""
    restored = copy.deepcopy(model)
    state = source.state_dict()
    gains = {f"{name}.weight": state[f"{name}.weight"] for name in norm_gains(source)}
    restored.load_state_dict(gains, strict=False)
    return restored


def perplexity(model: nn.Module) -> float:
    return block_perplexity(model, STREAM, SHAPE.context)[0]


def zeroed_gains(model: nn.Module) -> int:
    return sum(int((gain == 0).sum()) for gain in norm_gains(model).values())


def test_rescaling_the_gains_keeps_the_function(base: nn.Module) -> None:
    small = with_small_gains(base, SMALL)
    assert perplexity(small) == pytest.approx(perplexity(base), rel=1e-4)


def test_pruning_small_gains_that_matter_collapses_and_restoring_them_recovers(
    base: nn.Module,
) -> None:
    small = with_small_gains(base, SMALL)
    pruned = global_magnitude(small, 0.2, WITH_NORMS)
    excluded = global_magnitude(small, 0.2, ["Linear"])
    restored = restore_norms(pruned, small)
    total = sum(gain.numel() for gain in norm_gains(small).values())
    assert zeroed_gains(pruned) == total and zeroed_gains(excluded) == zeroed_gains(restored) == 0
    assert perplexity(base) < 1.5
    assert perplexity(pruned) > VOCAB / 2  # every gain zeroed: logits ≈ 0, near uniform
    assert perplexity(excluded) < 2 * perplexity(base)
    assert perplexity(restored) < 2 * perplexity(base)


def test_gains_trained_from_one_are_never_reached_by_moderate_global_pruning(
    base: nn.Module,
) -> None:
    for amount in (0.1, 0.3, 0.5):
        pruned = global_magnitude(base, amount, WITH_NORMS)
        excluded = global_magnitude(base, amount, ["Linear"])
        assert zeroed_gains(pruned) == 0
        assert perplexity(pruned) == pytest.approx(perplexity(excluded), rel=1e-3)
