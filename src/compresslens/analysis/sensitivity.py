"""Per-layer sensitivity: compress one layer at a time and see how much the metric drops.

Pure functions over measured scores: the ranking, and what it turns into for the compression
operations: an exclude list of module names (e.g. `prune.magnitude`'s ``exclude``) and a
layer → bits map for mixed precision. The sweep that runs the models is the facade's
(`compresslens.workspace.sensitivity.layer_sensitivity`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from compresslens.errors import CompressLensError


class SensitivityError(CompressLensError, ValueError):
    """Layers that do not exist or cannot be compressed, or out-of-range settings."""


# ------------------------------------------------------------------------ ranking


def check_layer_names(layers: Sequence[str]) -> None:
    """Fail before any evaluation: at least one layer, none listed twice."""
    if not layers:
        raise SensitivityError("no layers given to measure")
    if len(set(layers)) != len(layers):
        raise SensitivityError(f"layers are listed more than once: {list(layers)}")


def score_drop(baseline: float, score: float, higher_is_better: bool = True) -> float:
    """How much worse the score got; a non-finite score (a broken model) is an infinite drop."""
    if not math.isfinite(score):
        return math.inf
    return baseline - score if higher_is_better else score - baseline


def rank_layers(
    baseline: float, scores: Sequence[tuple[str, float]], higher_is_better: bool = True
) -> list[dict[str, Any]]:
    """Rows {layer, baseline, score, drop, rank} from each layer's score with it compressed
    alone, most sensitive (largest drop) first; equal drops keep the given order."""
    rows = [
        {
            "layer": layer,
            "baseline": float(baseline),
            "score": float(score),
            "drop": score_drop(float(baseline), float(score), higher_is_better),
        }
        for layer, score in scores
    ]
    rows.sort(key=lambda row: -row["drop"])  # stable: ties keep the given order
    return [{**row, "rank": rank} for rank, row in enumerate(rows, start=1)]


def _ranked(ranking: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows in rank order, whatever order the caller kept them in."""
    return sorted(ranking, key=lambda row: row["rank"])


def sensitivity_to_exclude_list(ranking: Sequence[dict[str, Any]], max_drop: float) -> list[str]:
    """Layers whose drop exceeds `max_drop`: leave them out of the compression."""
    return [row["layer"] for row in _ranked(ranking) if row["drop"] > max_drop]


def sensitivity_to_mixed_precision(
    ranking: Sequence[dict[str, Any]],
    keep_share: float,
    high_bits: int = 8,
    low_bits: int = 4,
) -> dict[str, int]:
    """Layer → bits: the most sensitive ⌈keep_share · layers⌉ keep `high_bits`, others go low."""
    if not 0 <= keep_share <= 1:
        raise SensitivityError(f"keep_share must be within [0, 1], got {keep_share}")
    rows = _ranked(ranking)
    keep = math.ceil(keep_share * len(rows))
    return {row["layer"]: high_bits if i < keep else low_bits for i, row in enumerate(rows)}
