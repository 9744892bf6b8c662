"""The Layers view of a pair: per-module weight comparison, one module's weight histograms
and the activation comparison with its first diverging layer at each threshold the view
offers (the rule stays `analysis.activations.first_divergent_layer`, computed here once per
threshold so the page only picks an answer: no copy of the rule in TypeScript)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from compresslens.analysis.activations import first_divergent_layer
from compresslens.jsonable import jsonable

if TYPE_CHECKING:
    from compresslens.workspace.core import Workspace

DIVERGENCE_THRESHOLDS = (0.9, 0.95, 0.99, 0.999)


def first_divergent_layers(
    rows: Sequence[Mapping[str, Any]], thresholds: Iterable[float] = DIVERGENCE_THRESHOLDS
) -> dict[str, str | None]:
    """Per threshold (as text, "0.95"), the first module whose CKA is below it, or None."""
    return {str(t): first_divergent_layer(rows, t) for t in thresholds}


def layers(ws: Workspace, base: str, model: str, dataset: str | None) -> dict[str, Any]:
    """Sparsity, zero overlap, relative weight change and SQNR per module (stored)."""
    comparison = ws.compare(base, model, dataset, n_boot=0)
    names = {"base": comparison.base.name, "model": comparison.model.name}
    return jsonable({**names, "layers": comparison.layers()})


def layer_histogram(
    ws: Workspace, base: str, model: str, module: str, dataset: str | None, bins: int
) -> dict[str, Any]:
    """Both models' weights of one module on shared bins, with who was compared on what."""
    comparison = ws.compare(base, model, dataset, n_boot=0)
    about = {
        "base": {"id": comparison.base.id, "name": comparison.base.name},
        "model": {"id": comparison.model.id, "name": comparison.model.name},
        "dataset": comparison.dataset.name,
    }
    return jsonable({**about, **comparison.weight_histograms(module, bins=bins)})


def activations(
    ws: Workspace,
    base: str,
    model: str,
    dataset: str | None,
    *,
    sample: int,
    threshold: float,
    cached_only: bool,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Comparison.activations with the models, dataset and sample it ran on, and the first
    diverging module at each of DIVERGENCE_THRESHOLDS and `threshold`."""
    comparison = ws.compare(base, model, dataset, n_boot=0)
    result = comparison.activations(
        sample=sample, threshold=threshold, cached_only=cached_only, progress=progress
    )
    divergent = first_divergent_layers(result["modules"], {*DIVERGENCE_THRESHOLDS, threshold})
    context = {
        "base": comparison.base.name,
        "model": comparison.model.name,
        "dataset": comparison.dataset.name,
        "sample": sample,
    }
    return jsonable({**context, **result, "first_divergent_layers": divergent})
