"""Per-group (per-class, per-subgroup) accuracy change of a base and many models, with
paired-bootstrap intervals and a test of whether a group changed more than the model overall.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from compresslens.analysis.inputs import (
    as_ids,
    as_mask,
    as_mask_rows,
    check_ids_in_range,
    check_length,
    fraction,
    slices,
)
from compresslens.analysis.multiple_testing import benjamini_hochberg_rows
from compresslens.errors import IncompatibleDatasetError

BLOCK_ELEMENTS = 1 << 21
"""Elements per work block (8 MiB of float32): the bound on every temporary array here."""


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
    change more than the model overall?), from the same replicates. `p_adjusted` is `p_value`
    after Benjamini–Hochberg over the groups of each model, and `excess` names the direction
    of a significant one by it (p_adjusted ≤ 1 − ci: with ten classes, one raw p ≤ 0.05 is no
    finding): "loss" or "gain" (EXCESS_MEANING), else None — so an unchanged group of a
    model that lost is a "gain", never a loss.
    Arrays are [M, G] except `count` [G] and `overall_delta` [M]; an empty group is NaN
    throughout with no excess. Reproducible given the seed and the same inputs (models draw
    from one stream in order).
    """
    check_bootstrap_parameters(n_boot, ci)
    labels = as_ids("labels", labels, IncompatibleDatasetError)
    base_correct = as_mask("base_correct", base_correct, labels.size)
    correct = as_mask_rows("correct", correct, labels.size)
    if groups is None:
        groups = labels
    groups = as_ids("groups", groups, IncompatibleDatasetError)
    check_length("groups", groups, labels.size)
    if num_groups is None:
        num_groups = int(groups.max()) + 1 if groups.size else 0
    check_ids_in_range("groups", groups, num_groups, IncompatibleDatasetError)

    sizes = np.bincount(groups, minlength=num_groups).astype(np.int64)
    gained = count_by_group(correct & ~base_correct, groups, num_groups)
    lost = count_by_group(~correct & base_correct, groups, num_groups)
    base_hits = count_by_group(base_correct[None, :], groups, num_groups)
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
    overall_delta = fraction(gained.sum(axis=1) - lost.sum(axis=1), total)
    replicates = _bootstrap_deltas(gained, lost, sizes, n_boot, seed, ci)
    empty = sizes == 0
    p_value = np.where(empty, math.nan, replicates["p_value"])
    excess_delta = delta - overall_delta[:, None]
    p_adjusted = benjamini_hochberg_rows(p_value)
    return {
        "base_accuracy": base_accuracy,
        "accuracy": base_accuracy + delta,
        "delta": delta,
        "delta_low": np.where(empty, math.nan, replicates["low"]),
        "delta_high": np.where(empty, math.nan, replicates["high"]),
        "excess_delta": excess_delta,
        "p_value": p_value,
        "p_adjusted": p_adjusted,
        "excess": excess_direction(excess_delta, p_adjusted, alpha=1.0 - ci),
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


def count_by_group(mask: np.ndarray, groups: np.ndarray, num_groups: int) -> np.ndarray:
    """Per row of a boolean [M, N] mask, its True entries in each group: [M, G] int64.

    Costs what the True entries cost (flips are rare), in blocks of models to bound memory.
    """
    models, instances = mask.shape
    counts = np.empty((models, num_groups), dtype=np.int64)
    for block in slices(models, max(1, BLOCK_ELEMENTS // max(instances, 1))):
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
    for chunk in slices(models, per_model):
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


def check_bootstrap_parameters(n_boot: int, ci: float) -> None:
    """Refuse a bootstrap with no replicates or a confidence level outside (0, 1)."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must lie strictly between 0 and 1, got {ci}")
