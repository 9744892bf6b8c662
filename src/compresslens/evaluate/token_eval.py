"""Evaluating a causal LM on a token dataset: one sliding-window pass, outputs per token.

Why one pass that hands its logits on: a token dataset's instances are the positions of one
stream, so the model runs over strided windows (evaluate/perplexity.py) instead of batches
of instances. Each window's logits [n, V] become the usual per-instance outputs here and
are yielded to the caller (compact top-k outputs, KLD against a base), so [T, V] logits are
never all in memory unless kept on purpose.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from compresslens.errors import IncompatibleDatasetError
from compresslens.evaluate.harness import EvaluationResult
from compresslens.evaluate.metrics import classification_metrics
from compresslens.evaluate.outputs import compact_logits, concat_outputs, instance_outputs
from compresslens.evaluate.perplexity import sliding_window_logits
from compresslens.models.hf import is_hf_model

CONTEXT_ATTRIBUTES = ("max_position_embeddings", "n_positions", "n_ctx")
CAUSAL_LM_SUFFIXES = ("ForCausalLM", "LMHeadModel")


def is_causal_lm(model: nn.Module) -> bool:
    """A transformers causal LM (…ForCausalLM, …LMHeadModel), told by its class name."""
    return is_hf_model(model) and type(model).__name__.endswith(CAUSAL_LM_SUFFIXES)


def model_context(model: nn.Module) -> int | None:
    """The longest input the model's config allows (max_position_embeddings, n_positions)."""
    config = getattr(model, "config", None)
    for name in CONTEXT_ATTRIBUTES:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 1:
            return value
    return None


def model_vocabulary(model: nn.Module) -> int | None:
    config = getattr(model, "config", None)
    value = getattr(config, "vocab_size", None)
    return value if isinstance(value, int) else None


def check_lm_on_tokens(model: nn.Module, num_classes: int, max_id: int, dataset: str) -> None:
    """Refuse a model that is no causal LM, or whose vocabulary is not the dataset's."""
    if not is_causal_lm(model):
        raise IncompatibleDatasetError(
            f"{dataset!r} is a token dataset: only a causal language model (a transformers "
            f"…ForCausalLM) is evaluated on it, not a {type(model).__name__}"
        )
    vocab = model_vocabulary(model)
    if vocab is not None and vocab != num_classes:
        raise IncompatibleDatasetError(
            f"the model's vocabulary has {vocab} tokens but {dataset!r} was tokenized with "
            f"{num_classes}: evaluate a model on text encoded by its own tokenizer"
        )
    if max_id >= num_classes:
        raise IncompatibleDatasetError(
            f"{dataset!r} holds token id {max_id}, outside its vocabulary of {num_classes}"
        )


def token_stream(inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """s[0..T] of a token dataset (inputs = s[0:T], labels = s[1:T+1])."""
    return torch.cat([inputs[:1].to(torch.int64), labels.to(torch.int64)])


def window_and_stride(
    model: nn.Module, length: int, window: int | None, stride: int | None
) -> tuple[int, int]:
    """The plan's window (default: the model's context, at most the stream) and stride
    (default: half the window), so every token is predicted with ≥ window/2 of context."""
    if window is None:
        context = model_context(model)
        if context is None:
            raise IncompatibleDatasetError(
                "the model's config names no context length; pass window=<tokens>"
            )
        window = min(context, length)
    return window, max(1, window // 2) if stride is None else stride


class TokenPass:
    """One sliding-window pass of `model` over a token dataset's stream.

    Iterate `logits()` to run it (each window's logits [n, V], in instance order), then
    `result()` gives the per-token outputs and metrics as an EvaluationResult."""

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        labels: torch.Tensor,
        *,
        window: int,
        stride: int,
        batch_size: int,
        keep_logits: bool = False,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self.model, self.labels = model, labels
        self.stream = token_stream(inputs, labels)
        self.window, self.stride = window, stride
        self.windows_per_batch = max(1, batch_size // window)
        self.keep_logits, self.on_batch = keep_logits, on_batch
        self._parts: list[dict[str, np.ndarray]] = []
        self._logits: list[torch.Tensor] = []
        self._scored = 0
        self._seconds = 0.0

    def logits(self) -> Iterator[torch.Tensor]:
        total = int(self.labels.shape[0])
        started = time.perf_counter()
        windows = sliding_window_logits(
            self.model, self.stream, self.window, self.stride, self.windows_per_batch
        )
        for part in windows:
            instances = part.positions - 1  # position p is predicted by instance p - 1
            if instances[0] != self._scored:
                raise IncompatibleDatasetError("the window plan skipped tokens of the stream")
            self._parts.append(instance_outputs(part.logits, self.labels[instances]))
            if self.keep_logits:
                self._logits.append(compact_logits(part.logits))
            self._scored += instances.size
            if self.on_batch is not None:
                self.on_batch(self._scored, total)
            yield part.logits
        self._seconds += time.perf_counter() - started

    def result(
        self, num_classes: int, attributes: Mapping[str, np.ndarray] | None
    ) -> EvaluationResult:
        """The per-token outputs, classification metrics and perplexity of the finished pass."""
        if self._scored != int(self.labels.shape[0]):
            raise IncompatibleDatasetError(
                f"the pass scored {self._scored} of {int(self.labels.shape[0])} tokens"
            )
        outputs = concat_outputs(self._parts)
        metrics = classification_metrics(outputs, num_classes, attributes)
        metrics.update(token_metrics(outputs["loss"]))
        metrics["window"], metrics["stride"] = self.window, self.stride
        return EvaluationResult(
            outputs=outputs,
            metrics=metrics,
            logits=torch.cat(self._logits) if self.keep_logits else None,
            features=None,
            features_module=None,
            wall_time_s=self._seconds,
        )


def token_metrics(losses: np.ndarray) -> dict[str, Any]:
    """Perplexity exp(mean NLL) and the mean loss, in float64."""
    mean = float(np.asarray(losses, dtype=np.float64).mean())
    return {"perplexity": math.exp(mean), "mean_loss": mean}
