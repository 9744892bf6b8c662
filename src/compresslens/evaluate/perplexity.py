"""Sliding-window evaluation of a causal language model over a long token sequence.

Why strided: a held-out text is longer than the model's context. The standard evaluation
(Hugging Face's "perplexity of fixed-length models") moves a window of `window` tokens by
`stride` and scores only the tokens no earlier window scored, so each token is scored once
with at least window − stride tokens of context. Logits come out one window at a time, so a
caller can reduce them (e.g. to compact top-k outputs) without holding T × V floats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

from compresslens.errors import InvalidInputError, InvalidOutputError
from compresslens.models.hf import is_hf_model


@dataclass(frozen=True)
class WindowLogits:
    """The logits [n, V] that predict the tokens at `positions` [n] (whose ids are `targets`)."""

    positions: np.ndarray
    targets: np.ndarray
    logits: torch.Tensor


@dataclass(frozen=True)
class PerplexityResult:
    """Per scored token: its position and log-probability; their perplexity exp(mean NLL)."""

    positions: np.ndarray
    target_logprobs: np.ndarray

    @property
    def tokens(self) -> int:
        return int(self.positions.size)

    @property
    def mean_nll(self) -> float:
        return float(-self.target_logprobs.astype(np.float64).mean())

    @property
    def perplexity(self) -> float:
        return math.exp(self.mean_nll)


@dataclass(frozen=True)
class _Window:
    begin: int
    end: int
    first_scored: int


def window_plan(length: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, end, first scored position) of each window over `length` tokens.

    Token 0 has no context and is never scored; with stride == window the first token of
    each window is not scored either (as when scoring disjoint chunks)."""
    _check_plan(length, window, stride)
    plan, previous_end = [], 0
    for begin in range(0, length, stride):
        end = min(begin + window, length)
        first = max(previous_end, begin + 1)
        if first < end:
            plan.append((begin, end, first))
        previous_end = end
        if end == length:
            break
    return plan


def sliding_window_logits(
    model: torch.nn.Module,
    token_ids: ArrayLike,
    window: int,
    stride: int,
    batch_size: int = 1,
) -> Iterator[WindowLogits]:
    """Run `model` over strided windows of `token_ids` [L]; yield each window's new logits.

    `model` maps ids [B, L] to logits [B, L, V]: a Hugging Face causal LM (called with
    `input_ids=`, its output's `.logits`) or any module returning the tensor. Windows of
    equal length run `batch_size` at a time; the model runs in eval mode under
    inference_mode and gets its mode back.
    Logits are float32 (float64 kept) on the model's device.
    """
    ids = _as_token_ids(token_ids)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive integer, got {batch_size!r}")
    plan = [_Window(*row) for row in window_plan(ids.size, window, stride)]
    device = _device(model)
    was_training = model.training
    model.eval()
    try:
        for batch in _batches(plan, batch_size):
            rows = np.stack([ids[w.begin : w.end] for w in batch])
            with torch.inference_mode():
                logits = _logits(model, torch.from_numpy(rows).to(device))
            if logits.ndim != 3 or logits.shape[:2] != rows.shape:
                raise InvalidOutputError(
                    f"the model returned logits of shape {tuple(logits.shape)} for ids of "
                    f"shape {rows.shape} (expected [B, L, V])"
                )
            for row, w in zip(logits, batch, strict=True):
                positions = np.arange(w.first_scored, w.end)
                scored = row[positions - 1 - w.begin]
                yield WindowLogits(positions, ids[positions], _float(scored))
    finally:
        model.train(was_training)


def sliding_window_perplexity(
    model: torch.nn.Module,
    token_ids: ArrayLike,
    window: int,
    stride: int,
    batch_size: int = 1,
    on_logits: Callable[[WindowLogits], None] | None = None,
) -> PerplexityResult:
    """The target log-probability of every scored token, and their perplexity.

    `on_logits` receives each window's logits before they are dropped (e.g. to keep the
    base's compact top-k outputs), so the full [T, V] logits are never all in memory."""
    positions, logprobs = [], []
    for part in sliding_window_logits(model, token_ids, window, stride, batch_size):
        log_q = torch.log_softmax(part.logits, dim=1)
        targets = torch.from_numpy(part.targets).to(log_q.device)
        logprobs.append(log_q.gather(1, targets[:, None])[:, 0].cpu().numpy())
        positions.append(part.positions)
        if on_logits is not None:
            on_logits(part)
    return PerplexityResult(
        positions=np.concatenate(positions), target_logprobs=np.concatenate(logprobs)
    )


def _batches(plan: list[_Window], batch_size: int) -> Iterator[list[_Window]]:
    """Consecutive windows of one length, at most batch_size of them."""
    batch: list[_Window] = []
    for w in plan:
        if batch and (len(batch) == batch_size or w.end - w.begin != batch[0].end - batch[0].begin):
            yield batch
            batch = []
        batch.append(w)
    if batch:
        yield batch


def _logits(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    try:
        output = model(input_ids=ids) if is_hf_model(model) else model(ids)
    except IndexError as error:  # an embedding lookup past the vocabulary
        raise InvalidInputError(
            f"token ids up to {int(ids.max())} do not fit the model's vocabulary: {error}"
        ) from error
    logits = getattr(output, "logits", output)
    if not isinstance(logits, torch.Tensor):
        raise InvalidOutputError(
            f"the model returned {type(output).__name__}, neither logits nor an output with "
            "`.logits`"
        )
    return logits


def _float(logits: torch.Tensor) -> torch.Tensor:
    return logits if logits.dtype == torch.float64 else logits.float()


def _device(model: torch.nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


def _as_token_ids(token_ids: ArrayLike) -> np.ndarray:
    array = (
        token_ids.cpu().numpy() if isinstance(token_ids, torch.Tensor) else np.asarray(token_ids)
    )
    if array.ndim != 1 or array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise InvalidInputError(
            f"expected token_ids as integer ids of shape [L], got {array.dtype} {array.shape}"
        )
    if array.size and int(array.min()) < 0:
        raise InvalidInputError(f"token_ids hold negative ids (down to {int(array.min())})")
    return array.astype(np.int64)


def _check_plan(length: int, window: int, stride: int) -> None:
    for name, value in (("window", window), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputError(f"{name} must be an integer, got {value!r}")
    if window < 2:
        raise InvalidInputError(f"window must be at least 2 tokens, got {window}")
    if not 1 <= stride <= window:
        raise InvalidInputError(f"stride must lie in [1, window = {window}], got {stride}")
    if length < 2:
        raise InvalidInputError(f"a text of {length} tokens has no token to score (need ≥ 2)")
