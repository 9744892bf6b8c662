"""Which rows of a per-instance comparison table a page shows, and in what order (pure numpy)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from compresslens.errors import IncompatibleDatasetError


def instance_order(
    table: Mapping[str, np.ndarray],
    *,
    flip: str = "any",
    label: int | None = None,
    sort: str = "instance",
    descending: bool = True,
    by_magnitude: bool = True,
) -> np.ndarray:
    """Indices of the rows kept by the flip kind and true class, in the chosen order.

    `flip` is a flip kind, "unchanged", "changed" (every kind but unchanged) or "any". A
    column sorts by value (|value| with `by_magnitude`), NaN last either way, ties by row;
    "instance" sorts by row number. A column the table lacks (divergences need logits) is
    an IncompatibleDatasetError naming the available ones.
    """
    if sort not in table:
        raise IncompatibleDatasetError(
            f"cannot sort by {sort!r}: the evaluations kept no logits "
            f"(available: {', '.join(sorted(table))})"
        )
    keep = np.ones(table["instance"].shape, dtype=bool)
    if flip == "changed":
        keep &= table["flip"] != "unchanged"
    elif flip != "any":
        keep &= table["flip"] == flip
    if label is not None:
        keep &= table["label"] == label
    rows = np.flatnonzero(keep)
    if sort == "instance":
        return rows[::-1] if descending else rows
    values = table[sort][rows].astype(float)
    if by_magnitude:
        values = np.abs(values)
    values = np.where(np.isnan(values), -np.inf if descending else np.inf, values)
    key = -values if descending else values
    return rows[np.argsort(key, kind="stable")]
