"""How a language model's next-token distributions moved from its base's, on identical tokens.

Why compact: a base's full logits over a held-out text are T × V floats (llama.cpp keeps
11–37 GiB of them on disk). Its top-k log-probabilities plus the log of the remaining mass
are enough for KL(base ‖ model): the top-k terms exactly, the rest as one bucket — a lower
bound of the full KLD by the log-sum inequality, whose gap shrinks as k grows. Logits are
taken in chunks of tokens, so a [T, V] never materialises in float32 at once when it is
given as chunks (an array is sliced; float16 stays float16 until a chunk is read).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike

from compresslens.analysis.inputs import slices
from compresslens.errors import IncompatibleDatasetError, InvalidInputError, InvalidOutputError
from compresslens.evaluate.outputs import first_indices

LogitsSource = np.ndarray | torch.Tensor | Iterable[np.ndarray | torch.Tensor]
"""Logits [T, V] as one array, or as consecutive chunks [T_i, V] (e.g. one per window)."""

CHUNK_ELEMENTS = 1 << 19
"""Logits per chunk when an array is sliced (2 MiB in float32; measured on one thread at
V = 8192: 2^17–2^20 are alike, 2^22 is ~20% slower)."""

DEFAULT_MARGIN_BINS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
"""Edges of the base top-1 margin (p1 − p2) bins; [low, high), the last one closed."""

DELTA_P_PERCENTILES = (1, 5, 50, 95, 99)
KLD_PERCENTILES = (50, 90, 99, 99.9)


@dataclass(frozen=True)
class CompactTokenOutputs:
    """A base's per-token outputs without the full vocabulary: what KLD and flips need.

    `top_ids` [T, k] int32 by descending probability (ties by lower id; slot 0 is numpy's
    argmax; which of several tokens tied at the k-th place are kept is torch.topk's choice);
    `top_logprobs` [T, k] float32; `log_rest` [T] float32 = log(1 − Σ top-k p),
    −inf when nothing remains; `top1_margin` [T] float32 = p1 − p2 (exact, whatever k);
    `targets` and `target_logprobs` [T] when the true next tokens were given.
    """

    top_ids: np.ndarray
    top_logprobs: np.ndarray
    log_rest: np.ndarray
    top1_margin: np.ndarray
    vocab_size: int
    targets: np.ndarray | None = None
    target_logprobs: np.ndarray | None = None

    def __post_init__(self) -> None:
        tokens = self.top_ids.shape[0] if self.top_ids.ndim == 2 else -1
        rows = [self.log_rest, self.top1_margin, self.targets, self.target_logprobs]
        if (
            tokens < 0
            or self.top_logprobs.shape != self.top_ids.shape
            or any(a is not None and a.shape != (tokens,) for a in rows)
            or (self.targets is None) != (self.target_logprobs is None)
        ):
            raise InvalidOutputError("compact token outputs of inconsistent shapes")

    @property
    def tokens(self) -> int:
        return int(self.top_ids.shape[0])

    @property
    def k(self) -> int:
        return int(self.top_ids.shape[1])

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by field name (for storage); `vocab_size` is kept apart."""
        names = ("top_ids", "top_logprobs", "log_rest", "top1_margin", "targets")
        fields = {name: getattr(self, name) for name in (*names, "target_logprobs")}
        return {name: values for name, values in fields.items() if values is not None}

    @classmethod
    def concatenate(cls, parts: Iterable[CompactTokenOutputs]) -> CompactTokenOutputs:
        """One record of consecutive chunks' records (same k, vocabulary and targets or not)."""
        parts = list(parts)
        if not parts:
            raise InvalidOutputError("no compact token outputs to concatenate")
        if len({(p.k, p.vocab_size, p.targets is None) for p in parts}) != 1:
            raise InvalidOutputError("compact token outputs differ in k, vocabulary or targets")

        def joined(name: str) -> np.ndarray | None:
            values = [getattr(p, name) for p in parts]
            return None if values[0] is None else np.concatenate(values)

        return cls(
            top_ids=np.concatenate([p.top_ids for p in parts]),
            top_logprobs=np.concatenate([p.top_logprobs for p in parts]),
            log_rest=np.concatenate([p.log_rest for p in parts]),
            top1_margin=np.concatenate([p.top1_margin for p in parts]),
            vocab_size=parts[0].vocab_size,
            targets=joined("targets"),
            target_logprobs=joined("target_logprobs"),
        )


@dataclass(frozen=True)
class TokenFlips:
    """Tokens whose correctness changed one way: positions and the base's top-1 margin there."""

    positions: np.ndarray
    base_margin: np.ndarray
    rate: float

    @property
    def count(self) -> int:
        return int(self.positions.size)


@dataclass(frozen=True)
class MarginBin:
    """Tokens whose base top-1 margin lies in [low, high): how often the top-1 token changed."""

    low: float
    high: float
    tokens: int
    top_changed: int
    correct_to_incorrect: int

    @property
    def flip_rate(self) -> float:
        return self.top_changed / self.tokens if self.tokens else math.nan


@dataclass(frozen=True)
class TokenComparison:
    """A model against its base on identical tokens: per-token arrays and their summary.

    Δp = p_model(true token) − p_base(true token); KLD in nats, KL(base ‖ model) from the
    base's compact outputs (a lower bound of the full KLD). Percentiles are numpy's linear ones.
    """

    kld: np.ndarray
    base_top1: np.ndarray
    model_top1: np.ndarray
    targets: np.ndarray
    base_target_logprobs: np.ndarray
    model_target_logprobs: np.ndarray
    base_margin: np.ndarray
    correct_to_incorrect: TokenFlips
    incorrect_to_correct: TokenFlips
    margin_bins: list[MarginBin]

    @property
    def tokens(self) -> int:
        return int(self.kld.size)

    @property
    def same_top(self) -> np.ndarray:
        return self.base_top1 == self.model_top1

    @property
    def delta_p(self) -> np.ndarray:
        model = np.exp(self.model_target_logprobs.astype(np.float64))
        return model - np.exp(self.base_target_logprobs.astype(np.float64))

    def kld_stats(self) -> dict[str, float]:
        """mean, median, p90, p99, p99.9 and max of the per-token KLD."""
        kld = self.kld.astype(np.float64)
        median, p90, p99, p999 = np.percentile(kld, KLD_PERCENTILES)
        return {
            "mean": float(kld.mean()),
            "median": float(median),
            "p90": float(p90),
            "p99": float(p99),
            "p99.9": float(p999),
            "max": float(kld.max()),
        }

    def delta_p_stats(self) -> dict[str, float]:
        """mean and the p1, p5, p50, p95, p99 percentiles of Δp of the true token."""
        delta = self.delta_p
        points = np.percentile(delta, DELTA_P_PERCENTILES)
        stats = {f"p{q}": float(v) for q, v in zip(DELTA_P_PERCENTILES, points, strict=True)}
        return {"mean": float(delta.mean()), **stats}

    def summary(self) -> dict[str, Any]:
        """The aggregates as plain JSON-able values (no per-token arrays)."""
        return {
            "tokens": self.tokens,
            "kld": self.kld_stats(),
            "same_top_rate": float(self.same_top.mean()),
            "delta_p": self.delta_p_stats(),
            "base_perplexity": perplexity(self.base_target_logprobs),
            "model_perplexity": perplexity(self.model_target_logprobs),
            "correct_to_incorrect": flips_summary(self.correct_to_incorrect),
            "incorrect_to_correct": flips_summary(self.incorrect_to_correct),
            "flips_by_base_margin": [
                {**asdict(b), "flip_rate": b.flip_rate} for b in self.margin_bins
            ],
        }


def flips_summary(flips: TokenFlips) -> dict[str, float]:
    """Count, rate and the base margin's median over one direction of flips."""
    median = float(np.median(flips.base_margin)) if flips.count else math.nan
    return {"count": flips.count, "rate": flips.rate, "median_base_margin": median}


def perplexity(target_logprobs: ArrayLike) -> float:
    """exp(mean negative log-likelihood) of the true tokens, in float64."""
    values = np.asarray(target_logprobs, dtype=np.float64)
    return float(np.exp(-values.mean())) if values.size else math.nan


def compact_token_outputs(
    logits: LogitsSource, k: int, targets: ArrayLike | None = None
) -> CompactTokenOutputs:
    """The base's top-k log-probabilities, remainder and top-1 margin for each token [T, V].

    With `targets` (the true next token of each row), their log-probabilities are kept too,
    for Δp and perplexity. Computed in float32 (float64 input stays float64), stored float32.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInputError(f"k must be a positive integer, got {k!r}")
    target_ids = None if targets is None else _as_targets(targets)
    parts, start = [], 0
    for chunk in _chunks("logits", logits):
        rows, vocab = chunk.shape
        if k > vocab:
            raise InvalidInputError(f"k = {k} exceeds the vocabulary of {vocab} tokens")
        chunk_targets = None
        if target_ids is not None:
            chunk_targets = _target_slice(target_ids, start, rows, vocab)
        parts.append(_compact_chunk(chunk, k, chunk_targets))
        start += rows
    result = CompactTokenOutputs.concatenate(parts)
    if target_ids is not None and start != target_ids.size:
        raise IncompatibleDatasetError(f"{target_ids.size} targets for {start} tokens of logits")
    return result


def token_kld(base: CompactTokenOutputs, model_logits: LogitsSource) -> np.ndarray:
    """Per-token KL(base ‖ model) [T] float64 from the base's compact outputs (a lower bound)."""
    return _model_stats(base, model_logits, None)["kld"]


def token_kld_full(base_logits: LogitsSource, model_logits: LogitsSource) -> np.ndarray:
    """Per-token KL(base ‖ model) [T] float64 over the full vocabulary (0·log 0 = 0).

    Both as arrays, or as chunks of the same shapes; float32 arithmetic (float64 kept)."""
    out = []
    base_chunks = _chunks("base_logits", base_logits)
    for model_chunk in _chunks("model_logits", model_logits):
        base_chunk = next(base_chunks, None)
        if base_chunk is None or base_chunk.shape != model_chunk.shape:
            shape = None if base_chunk is None else tuple(base_chunk.shape)
            raise InvalidOutputError(
                f"model logits chunk {tuple(model_chunk.shape)} does not match the base's "
                f"{shape}: give both as arrays or as chunks of the same shapes"
            )
        model_chunk = model_chunk.to(base_chunk.dtype)
        log_p = torch.log_softmax(base_chunk, dim=1)
        log_q = torch.log_softmax(model_chunk, dim=1)
        p = log_p.exp()
        terms = torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p))
        out.append(terms.sum(dim=1).clamp_min(0).double().cpu().numpy())
    if next(base_chunks, None) is not None:
        raise InvalidOutputError("the base's logits cover more tokens than the model's")
    return np.concatenate(out) if out else np.zeros(0)


def token_comparison(
    base: CompactTokenOutputs,
    model_logits: LogitsSource,
    targets: ArrayLike | None = None,
    margin_bins: ArrayLike = DEFAULT_MARGIN_BINS,
) -> TokenComparison:
    """A model's logits [T, V] against the base's compact outputs on the same T tokens.

    `targets` are the true next tokens; they must equal the ones the base was encoded with
    (identical tokens), and may be left out to use those. "Correct" = top-1 is the target.
    """
    if base.targets is None or base.target_logprobs is None:
        raise InvalidOutputError(
            "the base's compact outputs hold no targets: encode them with "
            "compact_token_outputs(logits, k, targets=...)"
        )
    if targets is not None:
        given = _as_targets(targets)
        if given.shape != base.targets.shape or not np.array_equal(given, base.targets):
            raise IncompatibleDatasetError(
                "targets differ from the tokens the base was encoded on; a token-level "
                "comparison needs identical tokens"
            )
    edges = _margin_edges(margin_bins)
    stats = _model_stats(base, model_logits, base.targets)
    base_top1 = base.top_ids[:, 0].astype(np.int64)
    model_top1 = stats["top1"]
    base_correct = base_top1 == base.targets
    model_correct = model_top1 == base.targets
    lost, gained = base_correct & ~model_correct, ~base_correct & model_correct
    return TokenComparison(
        kld=stats["kld"],
        base_top1=base_top1,
        model_top1=model_top1,
        targets=base.targets.astype(np.int64),
        base_target_logprobs=base.target_logprobs,
        model_target_logprobs=stats["target_logprobs"],
        base_margin=base.top1_margin,
        correct_to_incorrect=_flips(lost, base.top1_margin),
        incorrect_to_correct=_flips(gained, base.top1_margin),
        margin_bins=_margin_bins(edges, base.top1_margin, base_top1 != model_top1, lost),
    )


def _compact_chunk(
    chunk: torch.Tensor, k: int, targets: torch.Tensor | None
) -> CompactTokenOutputs:
    """Top-k (ties by id, slot 0 = argmax), remainder, margin and targets of one chunk."""
    vocab = chunk.shape[1]
    lse = torch.logsumexp(chunk, dim=1)
    values, ids = torch.topk(chunk, k, dim=1)
    by_id = ids.argsort(dim=1)
    values, ids = values.gather(1, by_id), ids.gather(1, by_id)
    by_value = values.argsort(dim=1, descending=True, stable=True)
    values, ids = values.gather(1, by_value), ids.gather(1, by_value)
    first = chunk.argmax(dim=1)
    missing = ~(ids == first[:, None]).any(dim=1)
    ids[missing, 0] = first[missing]  # a tie at the top wider than k: same value, lowest id
    log_rest = torch.logsumexp(chunk.scatter(1, ids, -math.inf), dim=1) - lse
    best_two = values if k >= 2 else torch.topk(chunk, min(2, vocab), dim=1).values
    best_two = best_two[:, :2] - lse[:, None]
    margin = best_two[:, 0].exp() - (best_two[:, 1].exp() if vocab > 1 else 0.0)
    target_logprobs = None
    if targets is not None:
        target_logprobs = chunk.gather(1, targets[:, None].to(chunk.device))[:, 0] - lse
    return CompactTokenOutputs(
        top_ids=_numpy(ids, np.int32),
        top_logprobs=_numpy(values - lse[:, None], np.float32),
        log_rest=_numpy(log_rest, np.float32),
        top1_margin=_numpy(margin, np.float32),
        vocab_size=vocab,
        targets=None if targets is None else targets.numpy().astype(np.int64),
        target_logprobs=None if target_logprobs is None else _numpy(target_logprobs, np.float32),
    )


def _model_stats(
    base: CompactTokenOutputs, model_logits: LogitsSource, targets: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Per token: compact KLD, the model's top-1 and (with targets) its target log-prob."""
    kld, top1, target_logprobs, start = [], [], [], 0
    for chunk in _chunks("model_logits", model_logits):
        rows, vocab = chunk.shape
        if vocab != base.vocab_size:
            raise InvalidOutputError(
                f"model logits have {vocab} tokens in their vocabulary, the base {base.vocab_size}"
            )
        if start + rows > base.tokens:
            raise InvalidOutputError(
                f"model logits cover more than the base's {base.tokens} tokens"
            )
        span = slice(start, start + rows)
        ids = torch.from_numpy(base.top_ids[span].astype(np.int64)).to(chunk.device)
        lse = torch.logsumexp(chunk, dim=1)
        log_q_top = (chunk.gather(1, ids) - lse[:, None]).double().cpu()
        log_q_rest = (torch.logsumexp(chunk.scatter(1, ids, -math.inf), dim=1) - lse).double().cpu()
        kld.append(_bucket_kld(base, span, log_q_top, log_q_rest))
        top1.append(chunk.argmax(dim=1).cpu().numpy().astype(np.int64))
        if targets is not None:
            target = torch.from_numpy(targets[span]).to(chunk.device)
            target_logprobs.append(_numpy(chunk.gather(1, target[:, None])[:, 0] - lse, np.float32))
        start += rows
    if start != base.tokens:
        raise InvalidOutputError(f"model logits cover {start} tokens, the base {base.tokens}")
    stats = {"kld": np.concatenate(kld), "top1": np.concatenate(top1)}
    if targets is not None:
        stats["target_logprobs"] = np.concatenate(target_logprobs)
    return stats


def _bucket_kld(
    base: CompactTokenOutputs, span: slice, log_q_top: torch.Tensor, log_q_rest: torch.Tensor
) -> np.ndarray:
    """Σ_top-k p·(log p − log q) + r·(log r − log q_rest), in float64; rounding below 0 → 0."""
    log_p = torch.from_numpy(base.top_logprobs[span]).double()
    log_r = torch.from_numpy(base.log_rest[span]).double()
    p, r = log_p.exp(), log_r.exp()
    top = torch.where(p > 0, p * (log_p - log_q_top), torch.zeros_like(p)).sum(dim=1)
    rest = torch.where(r > 0, r * (log_r - log_q_rest), torch.zeros_like(r))
    return (top + rest).clamp_min(0).numpy()


def _flips(mask: np.ndarray, margin: np.ndarray) -> TokenFlips:
    positions = np.flatnonzero(mask)
    return TokenFlips(positions, margin[positions], float(mask.mean()))


def _margin_bins(
    edges: np.ndarray, margin: np.ndarray, changed: np.ndarray, lost: np.ndarray
) -> list[MarginBin]:
    """Tokens, top-1 changes and correct→incorrect flips per base-margin bin."""
    index = np.clip(np.searchsorted(edges, margin, side="right") - 1, 0, edges.size - 2)
    bins = edges.size - 1
    tokens = np.bincount(index, minlength=bins)
    top_changed = np.bincount(index, weights=changed, minlength=bins)
    lost_count = np.bincount(index, weights=lost, minlength=bins)
    return [
        MarginBin(
            float(edges[i]),
            float(edges[i + 1]),
            int(tokens[i]),
            int(top_changed[i]),
            int(lost_count[i]),
        )
        for i in range(bins)
    ]


def _margin_edges(margin_bins: ArrayLike) -> np.ndarray:
    edges = np.asarray(margin_bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or not (np.diff(edges) > 0).all():
        raise InvalidInputError(f"margin_bins must be ≥ 2 increasing edges, got {margin_bins!r}")
    if edges[0] > 0 or edges[-1] < 1:
        raise InvalidInputError("margin_bins must cover [0, 1], the range of p1 − p2")
    return edges


def _as_targets(targets: ArrayLike) -> np.ndarray:
    array = np.asarray(targets)
    if array.ndim != 1 or array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise IncompatibleDatasetError(
            f"expected targets as integer token ids of shape [T], got {array.dtype} {array.shape}"
        )
    return array.astype(np.int64)


def _target_slice(targets: np.ndarray, start: int, rows: int, vocab: int) -> torch.Tensor:
    part = targets[start : start + rows]
    if part.size != rows:
        raise IncompatibleDatasetError(f"{targets.size} targets for more tokens of logits")
    outside = np.flatnonzero((part < 0) | (part >= vocab))
    if outside.size:
        raise IncompatibleDatasetError(
            f"targets must lie in [0, {vocab}); tokens {first_indices(outside + start)} do not"
        )
    return torch.from_numpy(part)


def _chunks(name: str, logits: LogitsSource) -> Iterator[torch.Tensor]:
    """Float32 (or float64) chunks [rows, V] of an array, or of the given chunks, checked."""
    if isinstance(logits, np.ndarray | torch.Tensor):
        tensor = _tensor(name, logits)
        rows = max(1, CHUNK_ELEMENTS // max(1, tensor.shape[1]))
        pieces: Iterable[torch.Tensor] = (tensor[span] for span in slices(tensor.shape[0], rows))
    else:
        pieces = (_tensor(name, chunk) for chunk in logits)
    for piece in pieces:
        chunk = piece if piece.dtype == torch.float64 else piece.to(torch.float32)
        _check_finite(name, chunk)
        yield chunk


def _tensor(name: str, values: np.ndarray | torch.Tensor) -> torch.Tensor:
    tensor = values.detach() if isinstance(values, torch.Tensor) else torch.from_numpy(values)
    if tensor.ndim != 2 or not tensor.is_floating_point():
        raise InvalidOutputError(
            f"expected {name} as float logits of shape [T, V], got {tensor.dtype} "
            f"{tuple(tensor.shape)}"
        )
    if tensor.shape[1] == 0:
        raise InvalidOutputError(f"{name} has an empty vocabulary (shape {tuple(tensor.shape)})")
    return tensor


def _check_finite(name: str, chunk: torch.Tensor) -> None:
    """−inf is a token given probability 0; NaN, +inf or a row of only −inf is refused.

    One reduction: a row's max is NaN, +inf or −inf exactly in those cases."""
    bad = ~torch.isfinite(chunk.amax(dim=1))
    if bool(bad.any()):
        rows = np.flatnonzero(bad.cpu().numpy())
        raise InvalidOutputError(
            f"{name} holds NaN, +inf or no finite logit in {rows.size} rows of a chunk "
            f"({first_indices(rows)})"
        )


def _numpy(tensor: torch.Tensor, dtype: type[np.generic]) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(dtype, copy=False)
