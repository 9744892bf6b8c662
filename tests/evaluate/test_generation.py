"""Greedy generation: the argmax loop itself, transformers' greedy decoding, the prompt set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from compresslens.errors import IncompatibleDatasetError, InvalidInputError
from compresslens.evaluate.generation import entry_prompts, greedy_generate

VOCAB = 64


def load_causal_lm(folder: Path) -> nn.Module:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()


def manual_argmax_loop(model: nn.Module, prompts: torch.Tensor, length: int) -> np.ndarray:
    """One prompt at a time, the whole sequence each step, the largest logit appended."""
    rows = []
    with torch.no_grad():
        for prompt in prompts:
            ids = prompt[None, :]
            for _ in range(length):
                logits = model(input_ids=ids).logits[0, -1]
                ids = torch.cat([ids, logits.argmax().reshape(1, 1)], dim=1)
            rows.append(ids[0, prompts.shape[1] :].numpy())
    return np.stack(rows)


def random_prompts(count: int, tokens: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (count, tokens), generator=torch.Generator().manual_seed(seed))


@pytest.fixture(params=["llama", "gpt2"])
def causal_lm(request: pytest.FixtureRequest) -> nn.Module:
    return load_causal_lm(request.getfixturevalue(f"tiny_{request.param}_folder"))


def test_greedy_generation_equals_a_manual_argmax_loop(causal_lm: nn.Module) -> None:
    prompts = random_prompts(5, 8)
    generated = greedy_generate(causal_lm, prompts, 12, batch_size=2)
    assert generated.shape == (5, 12) and generated.dtype == np.int64
    np.testing.assert_array_equal(generated, manual_argmax_loop(causal_lm, prompts, 12))


def test_greedy_generation_equals_transformers_greedy_decoding(causal_lm: nn.Module) -> None:
    from transformers import GenerationConfig

    prompts = random_prompts(4, 6, seed=2)
    config = GenerationConfig(
        do_sample=False, max_new_tokens=10, min_new_tokens=10, eos_token_id=None, pad_token_id=0
    )
    theirs = causal_lm.generate(
        prompts, attention_mask=torch.ones_like(prompts), generation_config=config
    )
    np.testing.assert_array_equal(greedy_generate(causal_lm, prompts, 10), theirs[:, 6:].numpy())


def test_generation_is_the_same_on_every_call_and_leaves_the_mode(causal_lm: nn.Module) -> None:
    prompts = random_prompts(3, 4)
    causal_lm.train()
    first = greedy_generate(causal_lm, prompts, 8)
    assert causal_lm.training
    np.testing.assert_array_equal(first, greedy_generate(causal_lm, prompts, 8))


class Counter(nn.Module):
    """Logits that favour (last id + 1) mod 5: a model whose greedy output is known."""

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot((ids + 1) % 5, 5).float()


def test_a_plain_module_returning_logits_generates_too() -> None:
    generated = greedy_generate(Counter(), [[0, 3], [2, 2]], 4)
    np.testing.assert_array_equal(generated, [[4, 0, 1, 2], [3, 4, 0, 1]])


def test_ties_go_to_the_lowest_token_id() -> None:
    class Flat(nn.Module):
        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return torch.zeros(*ids.shape, 7)

    np.testing.assert_array_equal(greedy_generate(Flat(), [[3]], 3), [[0, 0, 0]])


def test_a_sequence_classifier_is_refused_as_not_a_causal_lm(tiny_bert_folder: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_bert_folder, local_files_only=True
    )
    with pytest.raises(IncompatibleDatasetError, match="not a causal language model"):
        greedy_generate(model, [[1, 2, 3]], 2)


def test_a_module_answering_one_vector_per_sequence_is_refused() -> None:
    classifier = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.LazyLinear(3))
    with pytest.raises(IncompatibleDatasetError, match=r"not a causal language model.*\[B, L, V\]"):
        greedy_generate(classifier, [[1, 2, 3]], 2)


def test_a_model_that_cannot_take_token_ids_is_refused() -> None:
    image_classifier = nn.Linear(4, 3)  # float inputs [B, 4]: token ids do not fit
    with pytest.raises(IncompatibleDatasetError, match="cannot run on token ids of shape"):
        greedy_generate(image_classifier, [[1, 2, 3, 4]], 2)


def test_a_sequence_past_the_context_is_refused_before_running(tiny_llama_folder: Path) -> None:
    model = load_causal_lm(tiny_llama_folder)  # 32 positions
    with pytest.raises(InvalidInputError, match=r"\(40\) exceed the model's context of 32"):
        greedy_generate(model, random_prompts(1, 8), 32)


@pytest.mark.parametrize(
    ("prompts", "length", "message"),
    [
        ([1, 2, 3], 2, r"shape \[P, K\]"),
        ([[1.0, 2.0]], 2, r"integers of shape"),
        ([[1, -2]], 2, "negative"),
        ([[1, 2]], 0, "length must be a positive integer"),
    ],
)
def test_bad_prompts_or_lengths_are_refused(prompts: object, length: int, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        greedy_generate(Counter(), prompts, length)


def test_prompts_are_the_first_tokens_of_the_first_long_enough_entries() -> None:
    # entries 0 (3 tokens), 1 (5 tokens), 2 (2 tokens), 3 (4 tokens), 4 (6 tokens)
    lengths = [3, 5, 2, 4, 6]
    entry = np.repeat(np.arange(5), lengths)
    position = np.concatenate([np.arange(n) for n in lengths])
    labels = np.arange(entry.size) + 100
    prompt_set = entry_prompts(labels, entry, position, prompts=2, prompt_tokens=4)
    np.testing.assert_array_equal(prompt_set.entries, [1, 3])
    np.testing.assert_array_equal(prompt_set.starts, [3, 10])
    np.testing.assert_array_equal(prompt_set.ids, [[103, 104, 105, 106], [110, 111, 112, 113]])


def test_fewer_prompts_come_back_when_fewer_entries_are_long_enough() -> None:
    entry, position = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 0, 1, 2])
    prompt_set = entry_prompts(np.arange(5), entry, position, prompts=16, prompt_tokens=3)
    np.testing.assert_array_equal(prompt_set.ids, [[2, 3, 4]])


def test_an_entry_cut_off_at_the_end_of_the_stream_is_not_a_prompt() -> None:
    entry, position = np.array([0, 0, 1]), np.array([0, 1, 0])
    with pytest.raises(IncompatibleDatasetError, match="no entry of the dataset has 3 tokens"):
        entry_prompts(np.arange(3), entry, position, prompts=4, prompt_tokens=3)
