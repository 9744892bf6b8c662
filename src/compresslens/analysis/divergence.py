"""How far each model's output distribution moved from the base's, instance by instance.

Why torch: the headline comparison runs this over models × instances × classes (10⁹ logits
for 100 models of 100k instances and 100 classes). torch's fused float32 log-softmax is 2–3×
faster than a tight numpy pass (benchmarks/bench_compare.py). Blocks stay in cache, the
base's distribution is computed once per block of instances and reused for every model, and
blocks run on Python threads, each running torch single-threaded. The few cells a float32
pass cannot settle (−inf logits) are recomputed in float64 with the 0·log 0 = 0 convention."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np
import torch
from numpy.typing import ArrayLike

from compresslens.analysis.inputs import (
    as_ids,
    as_logits,
    check_ids_in_range,
    check_length,
    slices,
)
from compresslens.errors import IncompatibleDatasetError, InvalidOutputError
from compresslens.evaluate.outputs import first_indices

DIVERGENCE_MEASURES = ("kl", "js", "abs_true_prob_change", "margin_change")

BLOCK_ELEMENTS = 1 << 18
"""float32 logits per block of models (1 MiB): small enough to stay in a core's cache, large
enough that torch's per-operation overhead stays small (measured: 2^17–2^19 are best)."""

BASE_SHARE = 2
"""A block of the base's logits holds BLOCK_ELEMENTS / BASE_SHARE: it is reused by every
block of models, so it stays in cache beside them."""

_TINY = float(np.finfo(np.float32).tiny)
_LOWEST = float(np.finfo(np.float32).min)


def output_divergence(
    base_logits: ArrayLike,
    logits: ArrayLike,
    labels: ArrayLike,
    measures: Collection[str] = DIVERGENCE_MEASURES,
) -> dict[str, np.ndarray]:
    """Per model and instance, how far its output distribution moved from the base: [M, N].

    `kl` = KL(base ‖ model) and `js` = Jensen–Shannon divergence (not its square root),
    both in nats; `abs_true_prob_change` = |p_model(y) − p_base(y)|; `margin_change` =
    model margin − base margin (margin = top-1 − top-2 logit, as in the stored outputs).
    float32 throughout (absolute error about 1e-6); `measures` picks a subset, since each
    costs a pass over models × instances × classes. A −inf logit is a class given
    probability 0; a result that is still undefined or infinite (NaN or +inf logits, a
    class the model rules out that the base does not) is refused.
    """
    unknown = sorted(set(measures) - set(DIVERGENCE_MEASURES))
    if unknown:
        raise ValueError(f"unknown measures {unknown}; choose from {list(DIVERGENCE_MEASURES)}")
    base_logits = as_logits("base_logits", base_logits, rank=2)
    logits = as_logits("logits", logits, rank=3)
    labels = as_ids("labels", labels, IncompatibleDatasetError)
    instances, classes = base_logits.shape
    if logits.shape[1:] != base_logits.shape:
        raise InvalidOutputError(
            f"logits of shape {logits.shape} do not match base_logits of shape "
            f"{base_logits.shape} (expected [M, {instances}, {classes}])"
        )
    check_length("labels", labels, instances)
    check_ids_in_range("labels", labels, classes, IncompatibleDatasetError)
    out = {key: np.empty((logits.shape[0], instances), dtype=np.float32) for key in measures}
    out_tensors = {key: torch.from_numpy(values) for key, values in out.items()}
    base_all, models_all = _tensor(base_logits), _tensor(logits)
    labels_all = torch.from_numpy(labels.astype(np.int64))

    def fill(rows: slice) -> None:
        """Every measure of every model for one block of instances."""
        base = _LogSoftmax(base_all[rows], labels_all[rows])
        per_model = max(1, BLOCK_ELEMENTS // ((rows.stop - rows.start) * classes))
        for models in slices(logits.shape[0], per_model):
            model = _LogSoftmax(models_all[models, rows], labels_all[rows])
            for key in measures:
                out_tensors[key][models, rows] = _MEASURES[key](base, model)

    blocks = list(slices(instances, max(1, BLOCK_ELEMENTS // (BASE_SHARE * classes))))
    _run_in_threads(fill, blocks)
    for key, values in out.items():
        _settle_in_float64(key, values, base_logits, logits, labels)
    return out


def _run_in_threads(work: Callable[[slice], None], blocks: list[slice]) -> None:
    """Run work on every block, on torch's thread count of Python threads, each running
    torch single-threaded: no OpenMP barrier after every operation, which under load (the
    cores shared) made a 1 s pass take 40 s."""
    workers = min(torch.get_num_threads(), len(blocks))
    if workers <= 1:
        for rows in blocks:
            work(rows)
        return
    with ThreadPoolExecutor(workers, initializer=torch.set_num_threads, initargs=(1,)) as pool:
        list(pool.map(work, blocks))  # list(): a block's error is raised here


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing the array's memory (read only here; float128 becomes float64)."""
    if array.dtype.itemsize > 8:
        array = array.astype(np.float64)
    if any(stride < 0 for stride in array.strides):
        array = np.ascontiguousarray(array)
    with warnings.catch_warnings():  # a read-only array (a memory map) is only read here
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


class _LogSoftmax:
    """A block of logits [..., n, C] as float32 log-probabilities, and the pieces measures use."""

    def __init__(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        # Converted first: log_softmax(dtype=float32) of float16 is several times slower.
        self.log_prob = torch.log_softmax(logits.to(torch.float32), dim=-1)
        self.labels = labels

    @cached_property
    def prob(self) -> torch.Tensor:
        """Probabilities [..., n, C]."""
        return self.log_prob.exp()

    @cached_property
    def neg_entropy(self) -> torch.Tensor:
        """Σ p log p per row, [..., n]; a class of probability 0 adds 0 (not 0·−inf)."""
        return (self.prob * self.log_prob.clamp(min=_LOWEST)).sum(dim=-1)

    @cached_property
    def true_prob(self) -> torch.Tensor:
        """Probability of the label per row, [..., n]."""
        index = self.labels[:, None].expand(*self.log_prob.shape[:-1], 1)
        return self.log_prob.gather(-1, index)[..., 0].exp()

    @cached_property
    def margin(self) -> torch.Tensor:
        """Top-1 minus top-2 logit, [..., n]; 0 for one class (as in the stored outputs).

        Differences of log-probabilities are differences of logits (tied logits give 0)."""
        if self.log_prob.shape[-1] < 2:
            return torch.zeros(self.log_prob.shape[:-1])
        top = self.log_prob.topk(2, dim=-1).values
        return top[..., 0] - top[..., 1]


def _kl(base: _LogSoftmax, model: _LogSoftmax) -> torch.Tensor:
    """KL(p ‖ q) = Σ p log p − Σ p log q; clipped at 0 (rounding)."""
    cross = (base.prob * model.log_prob).sum(dim=-1)
    return (base.neg_entropy - cross).clamp_(min=0.0)


def _js(base: _LogSoftmax, model: _LogSoftmax) -> torch.Tensor:
    """H(m) − ½H(p) − ½H(q) with m = (p + q)/2, in [0, ln 2]; m underflowing counts as 0."""
    doubled = (base.prob + model.prob).clamp_(min=_TINY)
    mix_neg_entropy = 0.5 * (doubled * doubled.log()).sum(dim=-1) - math.log(2.0)
    js = 0.5 * (base.neg_entropy + model.neg_entropy) - mix_neg_entropy
    return js.clamp_(0.0, math.log(2.0))


_MEASURES: dict[str, Callable[[_LogSoftmax, _LogSoftmax], torch.Tensor]] = {
    "kl": _kl,
    "js": _js,
    "abs_true_prob_change": lambda base, model: (model.true_prob - base.true_prob).abs(),
    "margin_change": lambda base, model: model.margin - base.margin,
}


# ------------------------------------------------------------ the cells float32 leaves open


def _settle_in_float64(
    measure: str,
    values: np.ndarray,
    base_logits: np.ndarray,
    logits: np.ndarray,
    labels: np.ndarray,
) -> None:
    """Recompute in place, in float64 with 0·log 0 = 0, the cells of values [M, N] that float32
    left NaN or infinite (−inf logits); refuse those that stay so."""
    model_ids, rows = np.nonzero(~np.isfinite(values))
    if rows.size == 0:
        return
    settled = np.empty(rows.size)
    for cells in slices(rows.size, max(1, BLOCK_ELEMENTS // base_logits.shape[1])):
        base_log_prob = _log_softmax64(base_logits[rows[cells]])
        model_log_prob = _log_softmax64(logits[model_ids[cells], rows[cells]])
        settled[cells] = _EXACT[measure](base_log_prob, model_log_prob, labels[rows[cells]])
    values[model_ids, rows] = settled
    bad = np.unique(rows[~np.isfinite(settled)])
    if bad.size:
        raise InvalidOutputError(
            f"{measure} is undefined or infinite for {bad.size} instances "
            f"({first_indices(bad)}): their logits hold NaN or infinite values "
            "(float16 overflows past ±65504), or the model rules out a class the base does not"
        )


def _log_softmax64(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax [k, C] in float64; −inf logits stay −inf, NaN/+inf give NaN."""
    z = logits.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        shifted = z - z.max(axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _xlogy_sum(x: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """Σ x·log y per row, where x = 0 adds 0 whatever log y is."""
    with np.errstate(invalid="ignore"):
        return np.where(x > 0.0, x * log_y, 0.0).sum(axis=-1)


def _exact_kl(log_p: np.ndarray, log_q: np.ndarray, labels: np.ndarray) -> np.ndarray:
    p = np.exp(log_p)
    return _xlogy_sum(p, log_p) - _xlogy_sum(p, log_q)


def _exact_js(log_p: np.ndarray, log_q: np.ndarray, labels: np.ndarray) -> np.ndarray:
    p, q = np.exp(log_p), np.exp(log_q)
    with np.errstate(divide="ignore"):
        log_mix = np.log((p + q) / 2.0)
    return 0.5 * (_xlogy_sum(p, log_p - log_mix) + _xlogy_sum(q, log_q - log_mix))


def _exact_true_prob_change(log_p: np.ndarray, log_q: np.ndarray, labels: np.ndarray) -> np.ndarray:
    rows = np.arange(labels.size)
    return np.abs(np.exp(log_q[rows, labels]) - np.exp(log_p[rows, labels]))


def _exact_margin_change(log_p: np.ndarray, log_q: np.ndarray, labels: np.ndarray) -> np.ndarray:
    if log_p.shape[-1] < 2:
        return np.zeros(labels.size)
    base_top, model_top = np.sort(log_p, axis=-1), np.sort(log_q, axis=-1)
    with np.errstate(invalid="ignore"):
        return (model_top[:, -1] - model_top[:, -2]) - (base_top[:, -1] - base_top[:, -2])


_EXACT = {
    "kl": _exact_kl,
    "js": _exact_js,
    "abs_true_prob_change": _exact_true_prob_change,
    "margin_change": _exact_margin_change,
}
