"""Robustness to generated corruptions, from predictions already made: the accuracy under
each (corruption, severity) condition and its drop against a base model.

The corrupted images come from `compresslens.data.corruptions`; the model runs in
`compresslens.evaluate.corruption_runs`. Pure functions: nothing here makes images or runs
a model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from compresslens.data.corruptions import CorruptionError


def robustness_table(
    accuracy: Mapping[tuple[str, str, int], float], base: str
) -> list[dict[str, Any]]:
    """Rows {model, corruption, severity, accuracy, base_accuracy, drop, relative_drop}.

    drop = base accuracy − model accuracy under the same corruption and severity (positive:
    the compressed model lost robustness); relative_drop = drop / base accuracy. Any key works
    as a condition, e.g. ("m", "clean", 0). Rows keep the first-seen order, base model first.
    """
    base_accuracy = {(c, s): a for (m, c, s), a in accuracy.items() if m == base}
    missing = sorted({(c, s) for (_, c, s) in accuracy} - set(base_accuracy))
    if missing:
        raise CorruptionError(f"the base model {base!r} has no accuracy for {missing}")
    models = list(dict.fromkeys([base, *(m for m, _, _ in accuracy)]))
    rows = []
    for model in models:
        for (m, corruption, severity), value in accuracy.items():
            if m != model:
                continue
            reference = base_accuracy[(corruption, severity)]
            drop = reference - value
            rows.append(
                {
                    "model": model,
                    "corruption": corruption,
                    "severity": severity,
                    "accuracy": value,
                    "base_accuracy": reference,
                    "drop": drop,
                    "relative_drop": drop / reference if reference else math.nan,
                }
            )
    return rows


def condition_accuracy(
    predictions: Mapping[Any, torch.Tensor], labels: torch.Tensor
) -> dict[Any, float]:
    """Accuracy of each condition's predictions against `labels` (NaN when there are none)."""
    return {
        condition: float((predicted == labels).double().mean()) if len(labels) else math.nan
        for condition, predicted in predictions.items()
    }
