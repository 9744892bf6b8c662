"""Sliding-window evaluation of causal LMs: which tokens each window scores, and every
log-probability against a forward pass done by hand, on a tiny causal module and on tiny
GPT-2 and Llama models built from transformers configs (random weights)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from compresslens.analysis.token_divergence import compact_token_outputs
from compresslens.errors import InvalidInputError, InvalidOutputError
from compresslens.evaluate.perplexity import (
    WindowLogits,
    sliding_window_logits,
    sliding_window_perplexity,
    window_plan,
)

VOCAB = 37


class CumulativeMeanLM(nn.Module):
    """Logits at position i from the mean embedding of tokens 0..i: causal, context-dependent."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(VOCAB, 8)
        self.head = nn.Linear(8, VOCAB)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        steps = torch.arange(1, ids.shape[1] + 1, dtype=torch.float32)[None, :, None]
        return self.head(self.embed(ids).cumsum(dim=1) / steps) * 4


def tiny_gpt2() -> nn.Module:
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(1)
    config = transformers.GPT2Config(
        vocab_size=VOCAB, n_positions=64, n_embd=16, n_layer=2, n_head=2,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    return transformers.GPT2LMHeadModel(config)


def tiny_llama() -> nn.Module:
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(2)
    config = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
        bos_token_id=0, eos_token_id=0, pad_token_id=0,
    )  # fmt: skip
    return transformers.LlamaForCausalLM(config)


MODELS = [
    pytest.param(CumulativeMeanLM, id="causal-module"),
    pytest.param(tiny_gpt2, id="gpt2", marks=pytest.mark.slow),
    pytest.param(tiny_llama, id="llama", marks=pytest.mark.slow),
]


def text(length: int, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCAB, length)


def logits_of(model: nn.Module, ids: np.ndarray) -> torch.Tensor:
    """One plain forward pass over `ids`: [len, V] float32."""
    model.eval()
    with torch.no_grad():
        output = model(torch.from_numpy(ids.astype(np.int64))[None])
    return getattr(output, "logits", output)[0].float()


def test_window_plan_by_hand() -> None:
    assert window_plan(10, 4, 2) == [(0, 4, 1), (2, 6, 4), (4, 8, 6), (6, 10, 8)]
    assert window_plan(10, 4, 4) == [(0, 4, 1), (4, 8, 5), (8, 10, 9)]
    assert window_plan(3, 8, 2) == [(0, 3, 1)]


@pytest.mark.parametrize(("length", "window", "stride"), [(50, 8, 3), (17, 5, 4), (9, 2, 1)])
def test_a_smaller_stride_scores_every_token_but_the_first_exactly_once(
    length: int, window: int, stride: int
) -> None:
    parts = list(sliding_window_logits(CumulativeMeanLM(), text(length), window, stride))
    positions = np.concatenate([part.positions for part in parts])
    np.testing.assert_array_equal(positions, np.arange(1, length))
    np.testing.assert_array_equal(np.concatenate([p.targets for p in parts]), text(length)[1:])


@pytest.mark.parametrize("make", MODELS)
def test_stride_equal_to_window_scores_disjoint_chunks(make) -> None:
    model, ids = make(), text(45)
    result = sliding_window_perplexity(model, ids, window=10, stride=10)
    expected_positions, expected = [], []
    for start in range(0, 45, 10):
        chunk = ids[start : start + 10]
        log_q = torch.log_softmax(logits_of(model, chunk), dim=1)[:-1]
        expected.append(log_q[torch.arange(chunk.size - 1), torch.from_numpy(chunk[1:])].numpy())
        expected_positions.append(np.arange(start + 1, start + chunk.size))
    np.testing.assert_array_equal(result.positions, np.concatenate(expected_positions))
    np.testing.assert_allclose(result.target_logprobs, np.concatenate(expected), atol=1e-5)


@pytest.mark.parametrize("make", MODELS)
def test_a_smaller_stride_scores_each_token_with_its_windows_context(make) -> None:
    model, ids, window, stride = make(), text(40), 12, 5
    result = sliding_window_perplexity(model, ids, window, stride)
    for position, logprob in zip(result.positions, result.target_logprobs, strict=True):
        begin = stride * max(0, (position - window) // stride + 1)  # first window past it
        assert begin == 0 or position - begin >= window - stride
        context = ids[begin : min(begin + window, ids.size)]
        log_q = torch.log_softmax(logits_of(model, context)[position - 1 - begin], dim=0)
        assert logprob == pytest.approx(float(log_q[ids[position]]), abs=1e-5)


@pytest.mark.parametrize("make", MODELS)
def test_perplexity_is_exp_mean_nll_of_one_forward_when_the_text_fits(make) -> None:
    model, ids = make(), text(30)
    result = sliding_window_perplexity(model, ids, window=32, stride=8)
    log_q = torch.log_softmax(logits_of(model, ids), dim=1)[:-1]
    nll = -log_q[torch.arange(29), torch.from_numpy(ids[1:])].double().mean().item()
    assert result.tokens == 29
    assert result.mean_nll == pytest.approx(nll, rel=1e-6)
    assert result.perplexity == pytest.approx(math.exp(nll), rel=1e-6)


@pytest.mark.slow
def test_perplexity_matches_transformers_own_loss() -> None:
    model, ids = tiny_gpt2(), torch.from_numpy(text(30))[None]
    model.eval()
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss.item()
    result = sliding_window_perplexity(model, ids[0], window=30, stride=30)
    assert result.perplexity == pytest.approx(math.exp(loss), rel=1e-5)


def test_batches_of_windows_give_the_same_log_probabilities() -> None:
    model, ids = CumulativeMeanLM(), text(61)
    one = sliding_window_perplexity(model, ids, window=9, stride=4)
    batched = sliding_window_perplexity(model, ids, window=9, stride=4, batch_size=3)
    np.testing.assert_array_equal(batched.positions, one.positions)
    np.testing.assert_allclose(batched.target_logprobs, one.target_logprobs, atol=1e-6)


def test_the_callback_keeps_compact_outputs_of_every_scored_token() -> None:
    model, ids = CumulativeMeanLM(), text(30)
    parts: list = []

    def keep(part: WindowLogits) -> None:
        parts.append(compact_token_outputs(part.logits, 4, part.targets))

    result = sliding_window_perplexity(model, ids, window=32, stride=8, on_logits=keep)
    compact = type(parts[0]).concatenate(parts)
    whole = compact_token_outputs(logits_of(model, ids)[:-1], 4, ids[1:])
    np.testing.assert_array_equal(compact.top_ids, whole.top_ids)
    np.testing.assert_allclose(compact.target_logprobs, result.target_logprobs, atol=1e-6)


@pytest.mark.slow
def test_dropout_is_off_during_evaluation_and_the_mode_comes_back() -> None:
    model, ids = tiny_gpt2(), text(20)
    model.train()
    first = sliding_window_perplexity(model, ids, window=8, stride=4)
    second = sliding_window_perplexity(model, ids, window=8, stride=4)
    np.testing.assert_array_equal(first.target_logprobs, second.target_logprobs)
    assert model.training


class WrongShape(nn.Module):
    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.zeros(ids.shape[0], VOCAB)


def test_bad_input_is_refused_with_a_clear_error() -> None:
    model, ids = CumulativeMeanLM(), text(20)
    cases = [
        ({"window": 1, "stride": 1}, "at least 2"),
        ({"window": 4, "stride": 0}, "stride"),
        ({"window": 4, "stride": 5}, "stride"),
        ({"window": 4.0, "stride": 2}, "integer"),
    ]
    for kwargs, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            sliding_window_perplexity(model, ids, **kwargs)
    with pytest.raises(InvalidInputError, match="no token to score"):
        sliding_window_perplexity(model, ids[:1], 4, 2)
    with pytest.raises(InvalidInputError, match="integer ids"):
        sliding_window_perplexity(model, ids.astype(float), 4, 2)
    with pytest.raises(InvalidInputError, match="integer ids"):
        sliding_window_perplexity(model, ids.reshape(4, 5), 4, 2)
    with pytest.raises(InvalidInputError, match="negative"):
        sliding_window_perplexity(model, ids - 5, 4, 2)
    with pytest.raises(InvalidInputError, match="vocabulary"):
        sliding_window_perplexity(model, ids + VOCAB, 4, 2)
    with pytest.raises(InvalidInputError, match="batch_size"):
        sliding_window_perplexity(model, ids, 4, 2, batch_size=0)
    with pytest.raises(InvalidOutputError, match=r"\[B, L, V\]"):
        sliding_window_perplexity(WrongShape(), ids, 4, 2)
