"""Greedy generation of a fixed length from fixed prompts, to compare what two LMs write.

Why no KV cache: each step runs the whole sequence again, so the token chosen at step t is
the argmax of exactly the logits one forward pass over that sequence gives (what evaluation
scores), and ties go to the lowest token id (torch.argmax). A cache would be faster but its
logits may differ in the last bits, which can flip a near-tie between base and model.
Prompts all have the same length, so batches need no padding and no attention mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

from compresslens.errors import (
    FactoryError,
    IncompatibleDatasetError,
    InvalidInputError,
    InvalidOutputError,
)
from compresslens.input_rules import check_count
from compresslens.models.hf import guess_task, is_hf_model

GENERATION_BATCH = 16


@dataclass(frozen=True)
class PromptSet:
    """Prompts [P, K] cut from a token stream: each the first K tokens of one entry."""

    entries: np.ndarray
    starts: np.ndarray
    ids: np.ndarray


def entry_prompts(
    labels: ArrayLike, entry: ArrayLike, position: ArrayLike, prompts: int, prompt_tokens: int
) -> PromptSet:
    """The first `prompt_tokens` tokens of the first `prompts` entries that have that many.

    Reads a token dataset as the contract gives it: instance i predicts labels[i]; its
    attribute "position" is 0 at the first token of entry "entry". Fewer prompts come back
    when fewer entries are long enough; none is an IncompatibleDatasetError.
    """
    prompts = check_count(prompts, "prompts")
    prompt_tokens = check_count(prompt_tokens, "prompt_tokens")
    tokens, entries, positions = (np.asarray(a).reshape(-1) for a in (labels, entry, position))
    if not tokens.size == entries.size == positions.size:
        raise IncompatibleDatasetError(
            f"labels ({tokens.size}), entry ({entries.size}) and position ({positions.size}) "
            "must have one value per instance"
        )
    wanted = np.arange(prompt_tokens)
    starts: list[int] = []
    for start in np.flatnonzero(positions == 0):
        stop = start + prompt_tokens
        if stop <= tokens.size and (
            np.array_equal(positions[start:stop], wanted)
            and bool(np.all(entries[start:stop] == entries[start]))
        ):
            starts.append(int(start))
            if len(starts) == prompts:
                break
    if not starts:
        raise IncompatibleDatasetError(
            f"no entry of the dataset has {prompt_tokens} tokens to prompt with"
        )
    index = np.asarray(starts, dtype=np.int64)
    cut = index[:, None] + wanted[None, :]
    return PromptSet(entries=entries[index], starts=index, ids=tokens[cut].astype(np.int64))


def greedy_generate(
    model: torch.nn.Module,
    prompt_ids: ArrayLike,
    length: int,
    batch_size: int = GENERATION_BATCH,
) -> np.ndarray:
    """The `length` tokens [P, length] a causal LM appends greedily to each prompt [P, K].

    `model` is a Hugging Face causal LM (called with `input_ids=`, its output's `.logits`)
    or any module mapping ids [B, L] to logits [B, L, V]. It runs in eval mode under
    inference_mode and gets its mode back. A sequence longer than the model's context
    (config.max_position_embeddings) is refused before anything runs.
    """
    length = check_count(length, "length")
    batch_size = check_count(batch_size, "batch_size")
    prompts = _as_prompt_ids(prompt_ids)
    _check_causal_lm(model)
    _check_context(model, prompts.shape[1] + length)
    device = _device(model)
    was_training = model.training
    model.eval()
    try:
        parts = [
            _generate_batch(model, torch.from_numpy(prompts[i : i + batch_size]).to(device), length)
            for i in range(0, prompts.shape[0], batch_size)
        ]
    finally:
        model.train(was_training)
    return np.concatenate(parts).astype(np.int64)


def _generate_batch(model: torch.nn.Module, ids: torch.Tensor, length: int) -> np.ndarray:
    prompt_length = ids.shape[1]
    with torch.inference_mode():
        for _ in range(length):
            logits = _next_token_logits(model, ids)
            ids = torch.cat([ids, logits.argmax(dim=1, keepdim=True)], dim=1)
    return ids[:, prompt_length:].cpu().numpy()


def _next_token_logits(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """The logits [B, V] after the last position, or a clear error for another output."""
    try:
        output = model(input_ids=ids) if is_hf_model(model) else model(ids)
    except IndexError as error:  # an embedding lookup past the vocabulary
        raise InvalidInputError(
            f"token ids up to {int(ids.max())} do not fit the model's vocabulary: {error}"
        ) from error
    except (RuntimeError, TypeError, ValueError) as error:  # e.g. an image model given ids
        raise IncompatibleDatasetError(
            f"the model cannot run on token ids of shape {tuple(ids.shape)}; is it a causal "
            f"language model? {type(error).__name__}: {error}"
        ) from error
    logits = getattr(output, "logits", output)
    if not isinstance(logits, torch.Tensor) or logits.ndim != 3 or logits.shape[:2] != ids.shape:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(output).__name__
        raise IncompatibleDatasetError(
            f"the model is not a causal language model: for token ids of shape "
            f"{tuple(ids.shape)} it returned {shape}, not logits [B, L, V]"
        )
    if not bool(torch.isfinite(logits[:, -1]).all()):
        raise InvalidOutputError("the model returned NaN or infinite logits while generating")
    return logits[:, -1]


def _check_causal_lm(model: torch.nn.Module) -> None:
    """A transformers model must be a causal LM (a classifier also maps ids to logits)."""
    if not is_hf_model(model):
        return
    try:
        task = guess_task(model)
    except FactoryError:  # a class name that says no task
        task = "unknown"
    if task != "causal-lm":
        raise IncompatibleDatasetError(
            f"{type(model).__name__} is not a causal language model (task {task}): "
            "generation needs one (register it with task='causal-lm')"
        )


def _check_context(model: torch.nn.Module, total: int) -> None:
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if isinstance(limit, int) and 0 < limit < total:
        raise InvalidInputError(
            f"prompt plus generated tokens ({total}) exceed the model's context of {limit} "
            "positions: ask for fewer prompt tokens or a shorter length"
        )


def _as_prompt_ids(prompt_ids: ArrayLike) -> np.ndarray:
    array = (
        prompt_ids.cpu().numpy() if isinstance(prompt_ids, torch.Tensor) else np.asarray(prompt_ids)
    )
    if (
        array.ndim != 2
        or 0 in array.shape
        or array.dtype == np.bool_
        or not np.issubdtype(array.dtype, np.integer)
    ):
        raise InvalidInputError(
            f"expected prompt ids as integers of shape [P, K], got {array.dtype} {array.shape}"
        )
    if int(array.min()) < 0:
        raise InvalidInputError(f"prompt ids hold negative ids (down to {int(array.min())})")
    return np.ascontiguousarray(array, dtype=np.int64)


def _device(model: torch.nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device
