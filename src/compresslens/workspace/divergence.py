"""The first diverging layer at each threshold the Layers view offers, from one activation
comparison: the rule stays `analysis.activations.first_divergent_layer`, computed here once
per threshold so the page only picks an answer (no copy of the rule in TypeScript)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from compresslens.analysis.activations import first_divergent_layer

DIVERGENCE_THRESHOLDS = (0.9, 0.95, 0.99, 0.999)


def first_divergent_layers(
    rows: Sequence[Mapping[str, Any]], thresholds: Iterable[float] = DIVERGENCE_THRESHOLDS
) -> dict[str, str | None]:
    """Per threshold (as text, "0.95"), the first module whose CKA is below it, or None."""
    return {str(t): first_divergent_layer(rows, t) for t in thresholds}
