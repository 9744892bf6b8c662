"""One sliding-window pass of a causal LM over a token dataset: per-token outputs and
perplexity against a direct computation, and the checks before it runs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from compresslens.errors import IncompatibleDatasetError
from compresslens.evaluate.token_eval import (
    TokenPass,
    check_lm_on_tokens,
    window_and_stride,
)

transformers = pytest.importorskip("transformers", reason="causal LMs come from transformers")


@pytest.fixture(scope="module")
def llama(tiny_llama_folder: Path) -> torch.nn.Module:
    model = transformers.AutoModelForCausalLM.from_pretrained(
        tiny_llama_folder, local_files_only=True
    )
    return model.eval()


def stream(length: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 64, (length,), generator=torch.Generator().manual_seed(seed))


def direct_losses(model: torch.nn.Module, ids: torch.Tensor) -> np.ndarray:
    """−log p(s[i+1] | s[..i]) for every i, from one forward over the whole stream."""
    with torch.no_grad():
        logits = model(input_ids=ids[None]).logits[0].double()
    return torch.nn.functional.cross_entropy(logits[:-1], ids[1:], reduction="none").numpy()


def run(model: torch.nn.Module, ids: torch.Tensor, window: int, stride: int) -> TokenPass:
    token_pass = TokenPass(model, ids[:-1], ids[1:], window=window, stride=stride, batch_size=64)
    for _ in token_pass.logits():
        pass
    return token_pass


def test_perplexity_is_that_of_one_forward_when_the_stream_fits_one_window(
    llama: torch.nn.Module,
) -> None:
    ids = stream(30)
    result = run(llama, ids, window=32, stride=16).result(64, None)

    expected = direct_losses(llama, ids)
    np.testing.assert_allclose(result.outputs["loss"], expected, rtol=1e-5, atol=1e-5)
    assert result.metrics["perplexity"] == pytest.approx(math.exp(expected.mean()), rel=1e-5)
    assert result.metrics["mean_loss"] == pytest.approx(expected.mean(), rel=1e-5)
    assert result.outputs["label"].tolist() == ids[1:].tolist()


def test_every_token_is_predicted_once_with_the_context_its_window_gives(
    llama: torch.nn.Module,
) -> None:
    ids = stream(40, seed=1)
    result = run(llama, ids, window=16, stride=8).result(64, None)

    assert result.outputs["label"].tolist() == ids[1:].tolist()
    # tokens 1..15 come from the first window [0, 16): the same as a forward over it
    np.testing.assert_allclose(
        result.outputs["loss"][:15], direct_losses(llama, ids[:16]), rtol=1e-5, atol=1e-5
    )
    # token 16 is the first new one of the window [8, 24): context s[8..15]
    assert result.outputs["loss"][15] == pytest.approx(direct_losses(llama, ids[8:24])[7], 1e-5)


def test_the_default_plan_is_the_model_context_and_half_of_it(llama: torch.nn.Module) -> None:
    assert window_and_stride(llama, 1000, None, None) == (32, 16)
    assert window_and_stride(llama, 20, None, None) == (20, 10)
    assert window_and_stride(llama, 1000, 8, None) == (8, 4)


def test_a_model_that_is_no_causal_lm_is_refused() -> None:
    with pytest.raises(IncompatibleDatasetError, match="only a causal language model"):
        check_lm_on_tokens(torch.nn.Linear(4, 4), 64, 10, "held-out")


def test_a_vocabulary_other_than_the_datasets_is_refused(llama: torch.nn.Module) -> None:
    with pytest.raises(IncompatibleDatasetError, match="vocabulary has 64 tokens"):
        check_lm_on_tokens(llama, 300, 10, "held-out")
