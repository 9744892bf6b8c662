"""Compare a base model with one or many compressed models, instance by instance.

Inputs are the per-instance columns evaluate stores (see evaluate.outputs.OUTPUT_COLUMNS):
predictions [N] or [M, N] (integer class ids), labels [N], and optionally float16/float32
logits [N, C] or [M, N, C]. One model given as [N] counts as M = 1, so results always keep
the model axis M. Everything is vectorised over models and instances; logits are processed
in float32 blocks of bounded size, so models × instances × classes never exists in float64.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Sequence
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from compresslens.errors import CompressLensError, IncompatibleDatasetError, InvalidOutputError
from compresslens.evaluate.metrics import expected_calibration_error, reliability_bins
from compresslens.evaluate.outputs import first_indices

BLOCK_ELEMENTS = 1 << 21
"""Elements per float32 work block (8 MiB): the bound on every temporary array here."""

_TINY = np.finfo(np.float32).tiny


# ---------------------------------------------------------------- prediction agreement


def agreement_rate(base_pred: ArrayLike, preds: ArrayLike) -> np.ndarray:
    """Per model, the fraction of instances predicted as the base predicts: [M] float64."""
    base_pred = _as_ids("base_pred", base_pred)
    preds = _as_model_rows("preds", preds, base_pred.size)
    return _fraction(np.count_nonzero(preds == base_pred, axis=1), base_pred.size)


def pairwise_agreement(preds_all: ArrayLike) -> np.ndarray:
    """Agreement rate of every pair of models, [M, M] float64 with 1 on the diagonal.

    A one-hot product Σ_c X_c X_cᵀ, split for speed: per instance the most voted class
    goes through one dense matrix product, the few other votes through pair counting.
    """
    preds_all = _as_model_rows("preds_all", preds_all)
    models, instances = preds_all.shape
    if instances == 0:
        return np.full((models, models), math.nan)
    num_ids = _id_count("preds_all", preds_all)
    shared = np.zeros((models, models), dtype=np.int64)
    for block in _slices(instances, max(1, BLOCK_ELEMENTS // max(models, num_ids))):
        shared += _shared_prediction_counts(preds_all[:, block], num_ids)
    np.fill_diagonal(shared, instances)
    return shared / instances


def _shared_prediction_counts(block: np.ndarray, num_ids: int) -> np.ndarray:
    """For a block [M, n] of predictions, how many instances each pair of models shares."""
    models, instances = block.shape
    codes = np.arange(instances, dtype=np.int64) * num_ids + block  # (instance, class)
    votes = np.bincount(codes.ravel(), minlength=instances * num_ids)
    modal = votes.reshape(instances, num_ids).argmax(axis=1)
    on_modal = block == modal
    dense = on_modal.astype(np.float32)  # 0/1 sums stay exact below 2**24 instances
    shared = np.rint(dense @ dense.T).astype(np.int64)
    model_ids, instance_ids = np.nonzero(~on_modal)
    return shared + _minority_pair_counts(codes[model_ids, instance_ids], model_ids, models)


def _minority_pair_counts(codes: np.ndarray, model_ids: np.ndarray, models: int) -> np.ndarray:
    """How often each pair of models casts the same minority (instance, class) vote: [M, M].

    Only the off-diagonal is meaningful; the caller sets the diagonal.
    """
    order = np.argsort(codes, kind="stable")
    codes, model_ids = codes[order], model_ids[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, codes.size])
    shared_vote = sizes > 1  # a vote cast by one model pairs it only with itself
    starts, sizes = starts[shared_vote], sizes[shared_vote]
    counts = np.zeros(models * models, dtype=np.int64)
    for part in _budget_slices(np.cumsum(sizes * sizes), BLOCK_ELEMENTS):
        rows, cols = _pairs_within_runs(model_ids, starts[part], sizes[part])
        counts += np.bincount(rows * models + cols, minlength=models * models)
    return counts.reshape(models, models)


def _pairs_within_runs(
    members: np.ndarray, starts: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (a, b) of members within each run members[start : start + size]."""
    partners = np.repeat(sizes, sizes)  # one entry per run member: its run's size
    run_start = np.repeat(starts, sizes)
    member = run_start + (np.arange(partners.size) - np.repeat(np.cumsum(sizes) - sizes, sizes))
    first = np.repeat(run_start, partners)
    offset = np.arange(first.size) - np.repeat(np.cumsum(partners) - partners, partners)
    return np.repeat(members[member], partners), members[first + offset]


# ------------------------------------------------------------------------------- flips


def flip_masks(labels: ArrayLike, base_pred: ArrayLike, preds: ArrayLike) -> dict[str, np.ndarray]:
    """Which instances each model flipped relative to the base, as boolean [M, N] masks.

    `incorrect_to_other_incorrect` is wrong in both but with a different class; the three
    masks are disjoint and together are exactly the changed predictions.
    """
    labels = _as_ids("labels", labels, IncompatibleDatasetError)
    base_pred = _as_ids("base_pred", base_pred)
    _check_length("base_pred", base_pred, labels.size)
    preds = _as_model_rows("preds", preds, labels.size)
    base_correct = base_pred == labels
    correct = preds == labels
    return {
        "correct_to_incorrect": base_correct & ~correct,
        "incorrect_to_correct": ~base_correct & correct,
        "incorrect_to_other_incorrect": ~base_correct & ~correct & (preds != base_pred),
    }


def flip_counts(labels: ArrayLike, base_pred: ArrayLike, preds: ArrayLike) -> dict[str, np.ndarray]:
    """Per model, how many instances fall in each flip_masks category: [M] int64 each."""
    return {
        name: np.count_nonzero(mask, axis=1).astype(np.int64)
        for name, mask in flip_masks(labels, base_pred, preds).items()
    }


# ------------------------------------------------------------------ class transitions


def transition_matrix(base_pred: ArrayLike, pred: ArrayLike, num_classes: int) -> np.ndarray:
    """Counts [C, C]: row = the base's predicted class, column = the model's predicted class."""
    base_pred = _as_ids("base_pred", base_pred)
    pred = _as_ids("pred", pred)
    _check_length("pred", pred, base_pred.size)
    _check_ids_in_range("base_pred", base_pred, num_classes, InvalidOutputError)
    _check_ids_in_range("pred", pred, num_classes, InvalidOutputError)
    codes = base_pred.astype(np.int64) * num_classes + pred
    return np.bincount(codes, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def top_transitions(
    matrix: ArrayLike, class_names: Sequence[str] | None = None, k: int = 10
) -> list[dict[str, Any]]:
    """The k most frequent changes "A ▸ B" (diagonal excluded), largest count first.

    `share` is the fraction of all changed predictions; count ties go to the lower (A, B).
    """
    if k < 0:
        raise ValueError(f"k must be at least 0, got {k}")
    counts = np.array(matrix, dtype=np.int64)  # a copy: the diagonal is zeroed below
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise InvalidOutputError(f"expected a square [C, C] matrix, got shape {counts.shape}")
    names = _class_names(class_names, counts.shape[0])
    np.fill_diagonal(counts, 0)
    changed = int(counts.sum())
    flat = np.argsort(-counts.ravel(), kind="stable")[:k]
    flat = flat[counts.ravel()[flat] > 0]
    sources, targets = np.divmod(flat, counts.shape[0])
    return [
        {
            "transition": f"{names[a]} ▸ {names[b]}",
            "from_class": int(a),
            "to_class": int(b),
            "count": int(counts[a, b]),
            "share": float(counts[a, b] / changed),
        }
        for a, b in zip(sources.tolist(), targets.tolist(), strict=True)
    ]


def _class_names(class_names: Sequence[str] | None, num_classes: int) -> list[str]:
    """The given names, checked to be one per class; class ids as text when none are given."""
    if class_names is None:
        return [str(c) for c in range(num_classes)]
    if len(class_names) != num_classes:
        raise IncompatibleDatasetError(
            f"got {len(class_names)} class names for a {num_classes}-class matrix"
        )
    return [str(name) for name in class_names]


# ------------------------------------------------------------ per-group accuracy change

# A group's significant excess change (delta_group − delta_overall) has a direction; the words
# every client (Python rows, --json, the API, the CLI text, the UI legend) uses for it.
EXCESS_MEANING = {
    "loss": "lost more than the model overall",
    "gain": "fared better than the model overall",
}


def per_group_accuracy_change(
    labels: ArrayLike,
    base_correct: ArrayLike,
    correct: ArrayLike,
    groups: ArrayLike | None = None,
    num_groups: int | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> dict[str, np.ndarray]:
    """Per model and group: base and model accuracy, their change, a CI and a test.

    Groups default to the labels (per class); pass attribute codes for subgroups. The CI is
    a paired bootstrap of delta = acc_model − acc_base, resampling instances within each
    group (stratified, so no replicate loses a rare group). Each instance's pair outcome is
    gained (base wrong, model right), lost, or unchanged, so a group's resample is exactly a
    multinomial draw of those three counts: drawn directly, B × M × G numbers instead of
    B × N. `p_value` is two-sided for excess = delta_group − delta_overall (did this group
    change more than the model overall?), from the same replicates; `excess` names the
    direction of a significant one (p_value ≤ 1 − ci): "loss" or "gain" (EXCESS_MEANING),
    else None — so an unchanged group of a model that lost is a "gain", never a loss.
    Arrays are [M, G] except `count` [G] and `overall_delta` [M]; an empty group is NaN
    throughout with no excess. Reproducible given the seed and the same inputs (models draw
    from one stream in order).
    """
    _check_bootstrap_parameters(n_boot, ci)
    labels = _as_ids("labels", labels, IncompatibleDatasetError)
    base_correct = _as_mask("base_correct", base_correct, labels.size)
    correct = _as_mask_rows("correct", correct, labels.size)
    if groups is None:
        groups = labels
    groups = _as_ids("groups", groups, IncompatibleDatasetError)
    _check_length("groups", groups, labels.size)
    if num_groups is None:
        num_groups = int(groups.max()) + 1 if groups.size else 0
    _check_ids_in_range("groups", groups, num_groups, IncompatibleDatasetError)

    sizes = np.bincount(groups, minlength=num_groups).astype(np.int64)
    gained = _count_by_group(correct & ~base_correct, groups, num_groups)
    lost = _count_by_group(~correct & base_correct, groups, num_groups)
    base_hits = _count_by_group(base_correct[None, :], groups, num_groups)
    return group_change_from_counts(gained, lost, base_hits, sizes, labels.size, n_boot, seed, ci)


def group_change_from_counts(
    gained: np.ndarray,
    lost: np.ndarray,
    base_hits: np.ndarray,
    sizes: np.ndarray,
    total: int,
    n_boot: int,
    seed: int,
    ci: float,
) -> dict[str, np.ndarray]:
    """Per-group accuracy change with bootstrap intervals from (models × groups) counts of
    instances gained and lost; shared by the one-pair and the batched comparisons."""
    size = sizes.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        base_accuracy = np.broadcast_to(base_hits / size, gained.shape).copy()
        delta = (gained - lost) / size
    overall_delta = _fraction(gained.sum(axis=1) - lost.sum(axis=1), total)
    replicates = _bootstrap_deltas(gained, lost, sizes, n_boot, seed, ci)
    empty = sizes == 0
    p_value = np.where(empty, math.nan, replicates["p_value"])
    excess_delta = delta - overall_delta[:, None]
    return {
        "base_accuracy": base_accuracy,
        "accuracy": base_accuracy + delta,
        "delta": delta,
        "delta_low": np.where(empty, math.nan, replicates["low"]),
        "delta_high": np.where(empty, math.nan, replicates["high"]),
        "excess_delta": excess_delta,
        "p_value": p_value,
        "excess": excess_direction(excess_delta, p_value, alpha=1.0 - ci),
        "count": sizes,
        "overall_delta": overall_delta,
    }


def excess_direction(excess_delta: np.ndarray, p_value: np.ndarray, alpha: float) -> np.ndarray:
    """Each significant (p ≤ alpha) excess change's direction, "loss" or "gain", else None:
    an object array, so that a row carries the direction rather than a two-sided flag."""
    significant = p_value <= alpha  # NaN (an empty group) compares False
    direction = np.full(np.shape(excess_delta), None, dtype=object)
    direction[significant & (excess_delta < 0)] = "loss"
    direction[significant & (excess_delta > 0)] = "gain"
    return direction


def _count_by_group(mask: np.ndarray, groups: np.ndarray, num_groups: int) -> np.ndarray:
    """Per row of a boolean [M, N] mask, its True entries in each group: [M, G] int64.

    Costs what the True entries cost (flips are rare), in blocks of models to bound memory.
    """
    models, instances = mask.shape
    counts = np.empty((models, num_groups), dtype=np.int64)
    for block in _slices(models, max(1, BLOCK_ELEMENTS // max(instances, 1))):
        rows, cols = np.nonzero(mask[block])
        codes = rows * num_groups + groups[cols]
        size = (block.stop - block.start) * num_groups
        counts[block] = np.bincount(codes, minlength=size).reshape(-1, num_groups)
    return counts


def _bootstrap_deltas(
    gained: np.ndarray, lost: np.ndarray, sizes: np.ndarray, n_boot: int, seed: int, ci: float
) -> dict[str, np.ndarray]:
    """Percentile CI of each group's delta and the p-value of its excess, in model chunks.

    A chunk holds B × m × G replicates (m models) within BLOCK_ELEMENTS, so memory is bounded.
    """
    rng = np.random.default_rng(seed)
    models, num_groups = gained.shape
    out = {key: np.empty((models, num_groups)) for key in ("low", "high", "p_value")}
    per_model = max(1, BLOCK_ELEMENTS // max(1, n_boot * num_groups))
    for chunk in _slices(models, per_model):
        deltas, overall = _delta_replicates(gained[chunk], lost[chunk], sizes, n_boot, rng)
        low, high = np.quantile(deltas, [(1.0 - ci) / 2.0, (1.0 + ci) / 2.0], axis=0)
        out["low"][chunk], out["high"][chunk] = low, high
        out["p_value"][chunk] = _two_sided_bootstrap_p(deltas - overall[:, :, None])
    return out


def _delta_replicates(
    gained: np.ndarray, lost: np.ndarray, sizes: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """B resampled deltas per (model, group), [B, m, G], and per model overall, [B, m].

    Resampling a group's n_g instances with replacement draws (gained, lost, unchanged)
    counts from Multinomial(n_g, observed shares), done as two binomial draws.
    """
    n = np.maximum(sizes, 1).astype(np.float64)
    p_gain = gained / n
    with np.errstate(invalid="ignore", divide="ignore"):
        p_lost_given_not_gained = np.where(p_gain < 1.0, (lost / n) / (1.0 - p_gain), 0.0)
    shape = (n_boot, *gained.shape)
    gained_draw = rng.binomial(sizes, p_gain, size=shape)
    lost_draw = rng.binomial(sizes - gained_draw, np.clip(p_lost_given_not_gained, 0.0, 1.0))
    net = gained_draw - lost_draw
    return net / n, net.sum(axis=2) / max(int(sizes.sum()), 1)


def _two_sided_bootstrap_p(excess: np.ndarray) -> np.ndarray:
    """Two-sided p of 'excess ≠ 0' from replicates [B, ...]: 2·min tail share, (k+1)/(B+1)."""
    replicates = excess.shape[0]
    below = np.count_nonzero(excess <= 0.0, axis=0)
    above = np.count_nonzero(excess >= 0.0, axis=0)
    tail = (np.minimum(below, above) + 1.0) / (replicates + 1.0)
    return np.minimum(1.0, 2.0 * tail)


def _check_bootstrap_parameters(n_boot: int, ci: float) -> None:
    """Refuse a bootstrap with no replicates or a confidence level outside (0, 1)."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must lie strictly between 0 and 1, got {ci}")


# ------------------------------------------------------------------ output divergence


DIVERGENCE_MEASURES = ("kl", "js", "abs_true_prob_change", "margin_change")


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
    float32 throughout (absolute error about 1e-6), in blocks of BLOCK_ELEMENTS logits;
    `measures` picks a subset, since each costs a pass over models × instances × classes.
    """
    unknown = sorted(set(measures) - set(DIVERGENCE_MEASURES))
    if unknown:
        raise ValueError(f"unknown measures {unknown}; choose from {list(DIVERGENCE_MEASURES)}")
    base_logits = _as_logits("base_logits", base_logits, rank=2)
    logits = _as_logits("logits", logits, rank=3)
    labels = _as_ids("labels", labels, IncompatibleDatasetError)
    instances, classes = base_logits.shape
    if logits.shape[1:] != base_logits.shape:
        raise InvalidOutputError(
            f"logits of shape {logits.shape} do not match base_logits of shape "
            f"{base_logits.shape} (expected [M, {instances}, {classes}])"
        )
    _check_length("labels", labels, instances)
    _check_ids_in_range("labels", labels, classes, IncompatibleDatasetError)
    out = {key: np.empty((logits.shape[0], instances), dtype=np.float32) for key in measures}
    for rows in _slices(instances, max(1, BLOCK_ELEMENTS // classes)):
        base = _Softmax(base_logits[rows], labels[rows])
        per_model = max(1, BLOCK_ELEMENTS // ((rows.stop - rows.start) * classes))
        for models in _slices(logits.shape[0], per_model):
            model = _Softmax(logits[models, rows], labels[rows])
            for key in measures:
                out[key][models, rows] = _finite_result(key, _MEASURES[key](base, model), rows)
    return out


class _Softmax:
    """Softmax of a block of logits [..., n, C] in float32, kept as the pieces measures use.

    shifted = z − max z (so its maximum is 0) and log p = shifted − log_total.
    """

    def __init__(self, logits: np.ndarray, labels: np.ndarray) -> None:
        self.shifted = logits.astype(np.float32)  # a copy, shifted in place
        self.shifted -= self.shifted.max(axis=-1, keepdims=True)
        self.exp = np.exp(self.shifted)
        total = self.exp.sum(axis=-1)
        self.log_total = np.log(total)
        self.total = total
        self.labels = labels

    @cached_property
    def prob(self) -> np.ndarray:
        """Probabilities [..., n, C]."""
        return self.exp / self.total[..., None]

    @cached_property
    def neg_entropy(self) -> np.ndarray:
        """Σ p log p per row, [..., n]."""
        return np.vecdot(self.prob, self.shifted) - self.log_total

    @cached_property
    def true_prob(self) -> np.ndarray:
        """Probability of the label per row, [..., n]."""
        index = np.broadcast_to(self.labels[:, None], (*self.exp.shape[:-1], 1))
        return np.take_along_axis(self.exp, index, axis=-1)[..., 0] / self.total

    @cached_property
    def margin(self) -> np.ndarray:
        """Top-1 minus top-2 logit, [..., n]; 0 for one class (as in the stored outputs)."""
        if self.shifted.shape[-1] < 2:
            return np.zeros(self.shifted.shape[:-1], dtype=np.float32)
        best = self.shifted.argmax(axis=-1)[..., None]
        top = np.take_along_axis(self.shifted, best, axis=-1)  # 0: the row maximum
        np.put_along_axis(self.shifted, best, -np.inf, axis=-1)
        second = self.shifted.max(axis=-1)
        np.put_along_axis(self.shifted, best, top, axis=-1)
        return -second


def _kl(base: _Softmax, model: _Softmax) -> np.ndarray:
    """KL(p ‖ q) = Σ p log p − Σ p·shifted_q + log_total_q; clipped at 0 (rounding)."""
    cross = np.vecdot(base.prob, model.shifted) - model.log_total
    return np.maximum(base.neg_entropy - cross, 0.0)


def _js(base: _Softmax, model: _Softmax) -> np.ndarray:
    """H(m) − ½H(p) − ½H(q) with m = (p + q)/2, in [0, ln 2]; m underflowing counts as 0."""
    doubled = base.prob + model.prob
    np.maximum(doubled, _TINY, out=doubled)
    mix_neg_entropy = 0.5 * np.vecdot(doubled, np.log(doubled)) - math.log(2.0)
    js = 0.5 * (base.neg_entropy + model.neg_entropy) - mix_neg_entropy
    return np.clip(js, 0.0, math.log(2.0))


_MEASURES = {
    "kl": _kl,
    "js": _js,
    "abs_true_prob_change": lambda base, model: np.abs(model.true_prob - base.true_prob),
    "margin_change": lambda base, model: model.margin - base.margin,
}


def _finite_result(measure: str, values: np.ndarray, rows: slice) -> np.ndarray:
    """Pass a block of results through, refusing NaN/inf, which only non-finite logits cause."""
    finite = np.isfinite(values).reshape(-1, values.shape[-1]).all(axis=0)
    if not finite.all():
        bad = np.flatnonzero(~finite) + rows.start
        raise InvalidOutputError(
            f"{measure} is undefined for {bad.size} instances ({first_indices(bad)}): "
            "their logits hold NaN or infinite values (float16 overflows past ±65504)"
        )
    return values


# ------------------------------------------------------------------------- calibration


def calibration_change(
    base_conf: ArrayLike,
    base_correct: ArrayLike,
    conf: ArrayLike,
    correct: ArrayLike,
    n_bins: int = 15,
) -> dict[str, Any]:
    """ECE and reliability bins of the base and each model: compression often shifts both.

    `ece` and `ece_change` (model − base) are [M]; `reliability` is one dict per model.
    """
    base_correct = _as_mask("base_correct", base_correct)
    instances = base_correct.size
    base_conf = _as_scores("base_conf", base_conf, instances)[0]
    conf = _as_scores("conf", conf, instances)
    correct = _as_mask_rows("correct", correct, instances)
    if correct.shape != conf.shape:
        raise InvalidOutputError(f"conf has shape {conf.shape} but correct has {correct.shape}")
    base_ece = expected_calibration_error(base_conf, base_correct, n_bins)
    ece = np.array(
        [expected_calibration_error(c, k, n_bins) for c, k in zip(conf, correct, strict=True)]
    )
    return {
        "base_ece": base_ece,
        "ece": ece,
        "ece_change": ece - base_ece,
        "base_reliability": reliability_bins(base_conf, base_correct, n_bins),
        "reliability": [reliability_bins(c, k, n_bins) for c, k in zip(conf, correct, strict=True)],
    }


# -------------------------------------------------------------------- shared checks


def _as_ids(
    name: str, values: ArrayLike, error: type[CompressLensError] = InvalidOutputError
) -> np.ndarray:
    """A rank-1 array of integer class ids (its dtype kept), or an error naming it."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise error(f"expected {name} of shape [N], got shape {array.shape}")
    _check_integer(name, array, error)
    return array


def _as_model_rows(name: str, values: ArrayLike, instances: int | None = None) -> np.ndarray:
    """Integer predictions as [M, N] (dtype kept); one model's [N] becomes [1, N]."""
    array = np.asarray(values)
    array = array[None, :] if array.ndim == 1 else array
    if array.ndim != 2:
        raise InvalidOutputError(f"expected {name} of shape [M, N] or [N], got {array.shape}")
    _check_integer(name, array, InvalidOutputError)
    if instances is not None:
        _check_length(name, array, instances, axis=1)
    return array


def _as_mask(name: str, values: ArrayLike, instances: int | None = None) -> np.ndarray:
    """A boolean [N] mask such as `correct`; integers and floats are refused, not guessed."""
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype != np.bool_:
        raise InvalidOutputError(
            f"expected {name} as a boolean array of shape [N], got {array.dtype} {array.shape}"
        )
    if instances is not None:
        _check_length(name, array, instances)
    return array


def _as_mask_rows(name: str, values: ArrayLike, instances: int) -> np.ndarray:
    """A boolean [M, N] mask; one model's [N] becomes [1, N]."""
    array = np.asarray(values)
    array = array[None, :] if array.ndim == 1 else array
    if array.ndim != 2 or array.dtype != np.bool_:
        raise InvalidOutputError(
            f"expected {name} as a boolean array of shape [M, N] or [N], "
            f"got {array.dtype} {array.shape}"
        )
    _check_length(name, array, instances, axis=1)
    return array


def _as_scores(name: str, values: ArrayLike, instances: int) -> np.ndarray:
    """Finite float scores as [M, N] float64 (one model's [N] becomes [1, N])."""
    array = np.asarray(values)
    array = array[None, :] if array.ndim == 1 else array
    if array.ndim != 2 or array.dtype.kind != "f":
        raise InvalidOutputError(
            f"expected {name} as floats of shape [M, N] or [N], got {array.dtype} {array.shape}"
        )
    _check_length(name, array, instances, axis=1)
    finite = np.isfinite(array).all(axis=0)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise InvalidOutputError(
            f"{name} is NaN or infinite for {bad.size} instances ({first_indices(bad)})"
        )
    return array.astype(np.float64, copy=False)


def _as_logits(name: str, values: ArrayLike, rank: int) -> np.ndarray:
    """Float logits of the given rank (rank 3 also accepts one model's [N, C]); not copied."""
    array = np.asarray(values)
    if rank == 3 and array.ndim == 2:
        array = array[None]
    shape = "[N, C]" if rank == 2 else "[M, N, C] or [N, C]"
    if array.ndim != rank or array.dtype.kind != "f":
        raise InvalidOutputError(
            f"expected {name} as float logits of shape {shape}, got {array.dtype} {array.shape}"
        )
    if array.shape[-1] == 0:
        raise InvalidOutputError(f"{name} has 0 classes (shape {array.shape})")
    return array


def _check_integer(name: str, array: np.ndarray, error: type[CompressLensError]) -> None:
    """Refuse booleans and floats where class or group ids are expected."""
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise error(f"{name} must hold integer ids, got dtype {array.dtype}")


def _check_length(name: str, array: np.ndarray, instances: int, axis: int = 0) -> None:
    """Refuse an array that does not describe the same N instances."""
    if array.shape[axis] != instances:
        raise InvalidOutputError(
            f"{name} covers {array.shape[axis]} instances but the other inputs cover {instances}"
        )


def _check_ids_in_range(
    name: str, ids: np.ndarray, count: int, error: type[CompressLensError]
) -> None:
    """Refuse ids outside [0, count), naming the first offending instances."""
    if ids.size == 0 or (int(ids.min()) >= 0 and int(ids.max()) < count):
        return
    outside = ((ids < 0) | (ids >= count)).reshape(-1, ids.shape[-1]).any(axis=0)
    bad = np.flatnonzero(outside)
    raise error(
        f"{name} must lie in [0, {count}); {bad.size} of {ids.shape[-1]} instances do not "
        f"({first_indices(bad)})"
    )


def _id_count(name: str, ids: np.ndarray) -> int:
    """One more than the largest id, after refusing negative ids."""
    if ids.size == 0:
        return 1
    lowest = int(ids.min())
    if lowest < 0:
        raise InvalidOutputError(f"{name} holds negative class ids (down to {lowest})")
    return int(ids.max()) + 1


def _fraction(count: np.ndarray, total: int) -> np.ndarray:
    """count / total as float64; NaN (not a warning) when there are no instances."""
    if total == 0:
        return np.full(np.shape(count), math.nan)
    return np.asarray(count) / total


def _slices(total: int, step: int) -> Iterator[slice]:
    """Consecutive slices of range(total), each at most `step` long."""
    return (slice(start, min(start + step, total)) for start in range(0, total, step))


def _budget_slices(cumulative_cost: np.ndarray, budget: int) -> Iterator[slice]:
    """Runs of consecutive items whose summed cost stays within budget (≥ 1 item each)."""
    start, spent = 0, 0
    while start < cumulative_cost.size:
        stop = int(np.searchsorted(cumulative_cost, spent + budget, side="right"))
        stop = max(stop, start + 1)
        yield slice(start, stop)
        start, spent = stop, int(cumulative_cost[stop - 1])
