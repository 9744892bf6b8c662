"""How a model's predictions changed against a reference on the same instances, as scalars.

The negative flip rate (Yan et al., "Positive-Congruent Training", CVPR 2021) is the share
of instances the reference gets right and the model gets wrong; the positive flip rate the
reverse. The worst class change is the most negative per-class accuracy change (a fraction,
as accuracy is). These are the metrics a trade-off can weigh beside size and accuracy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from compresslens.analysis.paired_tests import flip_counts

FLIP_METRICS = ("negative_flip_rate", "positive_flip_rate", "worst_class_change")


def flip_metrics(
    labels: ArrayLike, reference: ArrayLike, predictions: ArrayLike, num_classes: int
) -> dict[str, float]:
    """negative_flip_rate, positive_flip_rate and worst_class_change of `predictions` against
    `reference` (both predicted class ids per instance, labels the true ones).

    worst_class_change = min over classes with instances of (model − reference) accuracy.
    """
    labels, reference, predictions = (
        np.asarray(a).astype(np.int64, copy=False) for a in (labels, reference, predictions)
    )
    if not labels.ndim == reference.ndim == predictions.ndim == 1:
        raise ValueError("labels and predictions must be 1-D arrays of class ids")
    if not len(labels) == len(reference) == len(predictions):
        raise ValueError(
            f"labels ({len(labels)}), reference ({len(reference)}) and predictions "
            f"({len(predictions)}) must cover the same instances"
        )
    if len(labels) == 0:
        raise ValueError("no instances to compare")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must be class ids in [0, {num_classes})")
    was_right, is_right = reference == labels, predictions == labels
    per_class = np.bincount(labels, minlength=num_classes)
    change = np.bincount(
        labels, weights=is_right.astype(np.float64) - was_right, minlength=num_classes
    )
    present = per_class > 0
    lost, gained = flip_counts(was_right, is_right)  # the verdict's count, one definition
    return {
        "negative_flip_rate": lost / len(labels),
        "positive_flip_rate": gained / len(labels),
        "worst_class_change": float(np.min(change[present] / per_class[present])),
    }
