"""The Pareto set of points under k objectives, each minimized or maximized.

A point is dominated when another is at least as good on every objective and strictly
better on one; ties (identical points) dominate neither, so all copies stay on the front.
A point with a missing (NaN or infinite) value cannot be compared: it is excluded and
reported, never silently ranked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

_BLOCK = 512  # rows compared at once: memory O(block × n × k), not O(n² × k)


@dataclass(frozen=True)
class ParetoSet:
    """Row indices (ascending) of the non-dominated, dominated and excluded points."""

    frontier: np.ndarray
    dominated: np.ndarray
    excluded: np.ndarray


def pareto_set(values: ArrayLike, maximize: Sequence[bool]) -> ParetoSet:
    """Split the rows of `values` [n, k] into frontier, dominated and excluded (missing a value).

    `maximize[j]` says whether objective j is better high (accuracy) or low (bytes).
    """
    points = np.asarray(values, dtype=np.float64)
    if points.ndim != 2:
        raise ValueError(f"values must be a 2-D array [points, objectives], got {points.ndim}-D")
    if len(maximize) != points.shape[1]:
        raise ValueError(
            f"{len(maximize)} directions for {points.shape[1]} objectives; give one each"
        )
    if points.shape[1] == 0:
        raise ValueError("a Pareto set needs at least one objective")
    complete = np.isfinite(points).all(axis=1)
    rows = np.flatnonzero(complete)
    # as costs: every objective minimized
    costs = np.where(np.asarray(maximize, dtype=bool), -points[rows], points[rows])
    dominated = np.zeros(len(rows), dtype=bool)
    for start in range(0, len(rows), _BLOCK):
        block = costs[start : start + _BLOCK, None, :]  # [b, 1, k] vs others [1, n, k]
        no_worse = (costs[None, :, :] <= block).all(axis=2)
        better = (costs[None, :, :] < block).any(axis=2)
        dominated[start : start + _BLOCK] = (no_worse & better).any(axis=1)
    return ParetoSet(
        frontier=rows[~dominated],
        dominated=rows[dominated],
        excluded=np.flatnonzero(~complete),
    )
