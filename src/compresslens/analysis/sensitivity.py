"""Per-layer sensitivity: compress one layer at a time and see how much the metric drops.

The ranking turns into inputs the compression operations already take: an exclude list of
module names (e.g. `prune.magnitude`'s ``exclude``) and a layer → bits map for mixed
precision. The model runs only through the caller's `compress_one` and `evaluate`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from compresslens.errors import CompressLensError

CompressOne = Callable[[nn.Module, str], nn.Module]
Evaluate = Callable[[nn.Module], float]


class SensitivityError(CompressLensError, ValueError):
    """Layers that do not exist or cannot be compressed, or out-of-range settings."""


# ------------------------------------------------------------------------ ranking


def _check_layers(model: nn.Module, layers: Sequence[str]) -> None:
    """Fail before any evaluation: names must be unique modules of the model."""
    if not layers:
        raise SensitivityError("no layers given to measure")
    if len(set(layers)) != len(layers):
        raise SensitivityError(f"layers are listed more than once: {list(layers)}")
    for layer in layers:
        try:
            model.get_submodule(layer)
        except AttributeError:
            raise SensitivityError(f"the model has no module {layer!r}") from None


def _drop(baseline: float, score: float, higher_is_better: bool) -> float:
    """How much worse the score got; a non-finite score (a broken model) is an infinite drop."""
    if not math.isfinite(score):
        return math.inf
    return baseline - score if higher_is_better else score - baseline


def layer_sensitivity(
    model: nn.Module,
    layers: Sequence[str],
    compress_one: CompressOne,
    evaluate: Evaluate,
    higher_is_better: bool = True,
) -> list[dict[str, Any]]:
    """Rows {layer, baseline, score, drop, rank}, most sensitive (largest drop) first.

    Each layer is compressed alone in a deep copy; `model` itself is never changed.
    """
    _check_layers(model, layers)
    baseline = float(evaluate(model))
    rows = []
    for layer in layers:
        score = float(evaluate(compress_one(copy.deepcopy(model), layer)))
        drop = _drop(baseline, score, higher_is_better)
        rows.append({"layer": layer, "baseline": baseline, "score": score, "drop": drop})
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
