"""Benjamini–Hochberg adjustment of many p-values (classes, subgroups) at once.

Its own module because populations (Hooker et al.'s per-class Welch test), the per-group
accuracy change and the verdict all adjust their p-values the same way.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def benjamini_hochberg(p_values: ArrayLike) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), same shape as given.

    adjusted_(i) = min over j ≥ i of m·p_(j)/j, capped at 1; NaN entries stay NaN and do
    not count towards m.
    """
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, math.nan)
    tested = ~np.isnan(p)
    values = p[tested]
    order = np.argsort(values, kind="stable")
    scaled = values[order] * values.size / np.arange(1, values.size + 1)
    stepped_up = np.minimum.accumulate(scaled[::-1])[::-1]
    ranked = np.empty_like(values)
    ranked[order] = np.minimum(stepped_up, 1.0)
    adjusted[tested] = ranked
    return adjusted


def benjamini_hochberg_rows(p_values: ArrayLike) -> np.ndarray:
    """Benjamini–Hochberg within each row of [M, G] p-values (per model, over its groups)."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"expected p-values of shape [M, G], got {p.shape}")
    return np.stack([benjamini_hochberg(row) for row in p]) if p.shape[0] else p.copy()
