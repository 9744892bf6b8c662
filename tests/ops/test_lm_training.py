"""Training a causal LM on a token stream: it learns, it is reproducible, perplexity is exact."""

from __future__ import annotations

import math

import pytest
import torch

from compresslens.errors import IncompatibleDatasetError
from compresslens.models.causal_lm import CausalLMShape, build_causal_lm, llama_config
from compresslens.ops.lm_training import (
    LMTrainParams,
    block_perplexity,
    token_stream,
    train_causal_lm,
)

pytest.importorskip("transformers", reason="causal LMs are transformers models")

SHAPE = CausalLMShape(layers=2, width=32, heads=2, context=16, mlp_width=64)
VOCAB = 40
# a stream with structure to learn: a repeated cycle of 12 tokens
STREAM = torch.tensor([3, 7, 1, 9, 4, 4, 2, 8, 5, 6, 0, 11] * 40, dtype=torch.int64)
PARAMS = LMTrainParams(steps=30, batch_size=4, lr=1e-2)


def tiny_lm(seed: int = 0) -> torch.nn.Module:
    return build_causal_lm(llama_config(VOCAB, SHAPE), seed)


def test_training_lowers_the_loss_and_leaves_the_model_in_eval_mode() -> None:
    model = tiny_lm()
    report = train_causal_lm(model, STREAM, context=SHAPE.context, params=PARAMS, seed=0)
    assert report.final_loss < report.first_loss - 1.0
    assert report.steps == 30 and report.threads == torch.get_num_threads()
    assert not model.training


def test_the_same_seed_and_threads_give_bit_identical_weights() -> None:
    first, second = tiny_lm(), tiny_lm()
    for model in (first, second):
        train_causal_lm(model, STREAM, context=SHAPE.context, params=PARAMS, seed=3)
    expected = second.state_dict()
    for name, value in first.state_dict().items():
        assert torch.equal(value, expected[name]), name


def test_another_seed_trains_other_weights() -> None:
    first, second = tiny_lm(), tiny_lm()
    train_causal_lm(first, STREAM, context=SHAPE.context, params=PARAMS, seed=0)
    train_causal_lm(second, STREAM, context=SHAPE.context, params=PARAMS, seed=1)
    assert not torch.equal(first.lm_head.weight, second.lm_head.weight)


def test_training_keeps_the_global_random_state() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_causal_lm(tiny_lm(), STREAM, context=SHAPE.context, params=PARAMS, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_block_perplexity_is_exp_of_the_mean_next_token_loss_of_each_window() -> None:
    model = tiny_lm()
    tokens = STREAM[:50]  # 3 windows of 16 predictions; the last token is left over
    perplexity, predicted = block_perplexity(model, tokens, context=16, batch_size=2)
    assert predicted == 48
    nll = 0.0
    for start in (0, 16, 32):
        with torch.no_grad():
            logits = model(input_ids=tokens[None, start : start + 16]).logits[0].double()
        log_probs = torch.log_softmax(logits, dim=-1)
        targets = tokens[start + 1 : start + 17]
        nll -= float(log_probs[torch.arange(16), targets].sum())
    assert perplexity == pytest.approx(math.exp(nll / 48), rel=1e-6)


def test_an_untrained_model_is_near_uniform_and_training_beats_it() -> None:
    model = tiny_lm()
    before, _ = block_perplexity(model, STREAM, context=SHAPE.context)
    assert VOCAB / 2 < before < VOCAB * 2
    train_causal_lm(model, STREAM, context=SHAPE.context, params=PARAMS, seed=0)
    after, _ = block_perplexity(model, STREAM, context=SHAPE.context)
    assert after < before / 4


def test_a_stream_shorter_than_a_window_is_refused() -> None:
    with pytest.raises(IncompatibleDatasetError, match="too short for windows of 16"):
        train_causal_lm(tiny_lm(), STREAM[:10], context=16, params=PARAMS)
    with pytest.raises(IncompatibleDatasetError, match="too short"):
        block_perplexity(tiny_lm(), STREAM[:17], context=16)


def test_the_token_stream_ends_every_text_with_end_of_text() -> None:
    class Words:
        eos_token_id = 0

        def __call__(self, texts: list[str], add_special_tokens: bool) -> dict:
            assert not add_special_tokens
            return {"input_ids": [[len(word) for word in text.split()] for text in texts]}

    assert token_stream(["a bb", "ccc"], Words()).tolist() == [1, 2, 0, 3, 0]
