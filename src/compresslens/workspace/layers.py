"""The Layers view of a pair: per-module weight comparison, one module's weight histograms
and the activation comparison with its first diverging layer per metric at each threshold
the view offers (the rule stays `analysis.activations.first_divergent_layer`, computed here
once per threshold so the page only picks an answer: no copy of the rule in TypeScript)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from compresslens.analysis.activations import first_divergent_layer, is_identical
from compresslens.jsonable import jsonable

if TYPE_CHECKING:
    from compresslens.workspace.core import Workspace

# Per metric, the thresholds the view offers and its default. The defaults sit between
# half-precision rounding and int8 on the demo (lean_cnn-s0, 1024 instances): fp16 keeps
# 1 − CKA ≈ 5e-8 and SQNR ≥ 61 dB; dynamic int8 reaches 1 − CKA ≈ 2e-6 and 57 dB at its first
# quantized layer; 50–80% magnitude pruning 1 − CKA ≥ 3e-5 and ≤ 36 dB from the first conv on.
# So int8 is named where it diverges (`hidden`), pruning earlier, fp16 not at all.
DIVERGENCE_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "cka": (0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999),
    "cosine": (0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999),
    "sqnr_db": (10, 20, 30, 40, 50, 60),
}
DEFAULT_DIVERGENCE: dict[str, float] = {"cka": 0.999999, "cosine": 0.999999, "sqnr_db": 60}


def first_divergent_layers(
    rows: Sequence[Mapping[str, Any]],
    thresholds: Iterable[float] = DIVERGENCE_THRESHOLDS["cka"],
    metric: str = "cka",
) -> dict[str, str | None]:
    """Per threshold (as text, "0.95"), the first module whose `metric` is below it, or None."""
    return {str(t): first_divergent_layer(rows, t, metric) for t in thresholds}


def first_diverging(rows: Sequence[Mapping[str, Any]], threshold: float) -> dict[str, Any]:
    """Per metric, per offered threshold (and the request's CKA `threshold`), the first
    diverging module, so the page picks an answer for whichever metric it shows."""
    offered = {**DIVERGENCE_THRESHOLDS, "cka": (*DIVERGENCE_THRESHOLDS["cka"], threshold)}
    return {m: first_divergent_layers(rows, sorted(set(t)), m) for m, t in offered.items()}


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
    """Comparison.activations with the models, dataset and sample it ran on, each row marked
    `identical` (also rows stored before the flag), and the first diverging module per metric
    at each of DIVERGENCE_THRESHOLDS (`first_divergent_layers`: CKA's, with `threshold`)."""
    comparison = ws.compare(base, model, dataset, n_boot=0)
    result = comparison.activations(
        sample=sample, threshold=threshold, cached_only=cached_only, progress=progress
    )
    rows = [{**row, "identical": is_identical(row)} for row in result["modules"]]
    divergent = first_diverging(rows, threshold)
    context = {
        "base": comparison.base.name,
        "model": comparison.model.name,
        "dataset": comparison.dataset.name,
        "sample": sample,
    }
    return jsonable(
        {
            **context,
            **result,
            "modules": rows,
            "first_diverging": divergent,
            "first_divergent_layers": divergent["cka"],
        }
    )
