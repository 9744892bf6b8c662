"""Deterministic training of a causal language model on a token stream (AdamW, cosine).

Training samples windows of `context` tokens at seeded random offsets of one stream (the
entries joined by end-of-text), so the same seed, model, stream and torch thread count give
bit-identical weights. Held-out perplexity is measured on non-overlapping windows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from compresslens.errors import IncompatibleDatasetError
from compresslens.models.causal_lm import norm_gains

StepCallback = Callable[[int, int, float], None]
WARMUP_SHARE = 0.05  # linear warm-up over the first 5% of the steps, then cosine to 10%
FINAL_LR_SHARE = 0.1


@dataclass(frozen=True)
class LMTrainParams:
    steps: int = 400
    batch_size: int = 8
    lr: float = 3e-3
    weight_decay: float = 0.1  # on matrices only: norms, biases and embeddings are not decayed
    grad_clip: float = 1.0
    norm_lr_scale: float = 1.0  # the norm gains' learning rate, as a share of `lr`


@dataclass(frozen=True)
class LMTrainReport:
    """What a training run did: enough to log it next to the model it produced."""

    steps: int
    first_loss: float  # mean training loss over the first 5% of the steps
    final_loss: float  # mean training loss over the last 5% of the steps
    seconds: float
    seed: int
    threads: int


def token_stream(texts: Sequence[str], tokenizer: Any) -> torch.Tensor:
    """The token ids of every text, each followed by the end-of-text token, as one 1-D stream."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise IncompatibleDatasetError("the tokenizer has no end-of-text (eos) token")
    ids: list[int] = []
    for encoded in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        ids.extend(encoded)
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.int64)


def train_causal_lm(
    model: nn.Module,
    tokens: torch.Tensor,
    *,
    context: int,
    params: LMTrainParams = LMTrainParams(),
    seed: int = 0,
    on_step: StepCallback | None = None,
) -> LMTrainReport:
    """Train `model` in place on random windows of `tokens`; leave it in eval() mode."""
    check_token_stream(tokens, context)
    if params.steps < 1 or params.batch_size < 1 or params.norm_lr_scale < 0:
        raise IncompatibleDatasetError(
            f"steps and batch_size must be positive, norm_lr_scale not negative: {params}"
        )
    groups = _param_groups(model, params.weight_decay, params.lr * params.norm_lr_scale)
    optimizer = torch.optim.AdamW(groups, lr=params.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(params.steps))
    generator = torch.Generator().manual_seed(seed)
    offsets = torch.arange(context + 1)
    losses: list[float] = []
    start = time.perf_counter()
    model.train()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for step in range(params.steps):
                starts = torch.randint(
                    0, len(tokens) - context, (params.batch_size,), generator=generator
                )
                windows = tokens[starts[:, None] + offsets]
                loss = _next_token_loss(model, windows)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), params.grad_clip)
                optimizer.step()
                scheduler.step()
                losses.append(float(loss.detach()))
                if on_step is not None:
                    on_step(step + 1, params.steps, losses[-1])
    finally:
        model.eval()
    share = max(1, round(params.steps * WARMUP_SHARE))
    return LMTrainReport(
        steps=params.steps,
        first_loss=sum(losses[:share]) / share,
        final_loss=sum(losses[-share:]) / share,
        seconds=time.perf_counter() - start,
        seed=seed,
        threads=torch.get_num_threads(),
    )


@torch.no_grad()
def block_perplexity(
    model: nn.Module, tokens: torch.Tensor, context: int, batch_size: int = 32
) -> tuple[float, int]:
    """exp(mean next-token loss) over non-overlapping windows of `context` + 1 tokens.

    Every window predicts its last `context` tokens from the ones before (each token is
    predicted once, with 0 to context-1 tokens of history); returns (perplexity, tokens).
    """
    check_token_stream(tokens, context)
    count = (len(tokens) - 1) // context
    starts = torch.arange(count) * context
    total, predicted = 0.0, 0
    model.eval()
    for first in range(0, count, batch_size):
        chunk = starts[first : first + batch_size]
        windows = tokens[chunk[:, None] + torch.arange(context + 1)]
        logits = model(input_ids=windows[:, :-1]).logits
        nll = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).double(),
            windows[:, 1:].reshape(-1),
            reduction="sum",
        )
        total += float(nll)
        predicted += windows[:, 1:].numel()
    return math.exp(total / predicted), predicted


def _next_token_loss(model: nn.Module, windows: torch.Tensor) -> torch.Tensor:
    logits = model(input_ids=windows[:, :-1]).logits
    return nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), windows[:, 1:].reshape(-1)
    )


def _param_groups(model: nn.Module, weight_decay: float, norm_lr: float) -> list[dict[str, Any]]:
    """Decayed matrices; norm gains at their own learning rate; the rest undecayed."""
    gains = {id(gain) for gain in norm_gains(model).values()}
    decayed, norms, kept = [], [], []
    for name, parameter in model.named_parameters():
        matrix = parameter.ndim >= 2 and "embed" not in name
        group = decayed if matrix else norms if id(parameter) in gains else kept
        group.append(parameter)
    return [
        {"params": decayed, "weight_decay": weight_decay},
        {"params": norms, "weight_decay": 0.0, "lr": norm_lr},
        {"params": kept, "weight_decay": 0.0},
    ]


def _lr_factor(steps: int) -> Callable[[int], float]:
    warmup = max(1, round(steps * WARMUP_SHARE))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return FINAL_LR_SHARE + (1 - FINAL_LR_SHARE) * cosine

    return factor


def check_token_stream(tokens: torch.Tensor, context: int) -> None:
    """Refuse a stream too short for one window of `context` tokens and its next token."""
    if context < 1:
        raise IncompatibleDatasetError(f"context must be positive, got {context}")
    if tokens.ndim != 1 or len(tokens) <= context + 1:
        raise IncompatibleDatasetError(
            f"a token stream of {tuple(tokens.shape)} is too short for windows of {context} "
            "tokens; give more text or a shorter context"
        )
