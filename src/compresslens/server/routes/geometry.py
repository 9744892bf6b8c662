"""Geometry view (Li et al.): one model's last-layer geometry, the map of models, occlusion.

`GET /api/geometry` answers per-class summaries; with `base` it adds the change versus the
base. Per-sample arrays (10k+ rows) are what a script wants but not what a page should
download, so the view asks for aggregates instead: `bins` (a margin histogram, base and model
on the same edges), `limit` (only the first fragile/robust samples, with their margins) and
`deltas=false` (no per-sample deltas). Without those parameters the answer is the Python API's.
`format=arrow` answers the per-sample table itself as an Arrow IPC stream (see `geometry`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from compresslens.analysis.geometry import fragile_robust_samples, sample_deltas, sample_geometry
from compresslens.errors import IncompatibleDatasetError, NotComputedError
from compresslens.evaluate.occlusion import GeometryError
from compresslens.ids import content_id
from compresslens.jsonable import jsonable
from compresslens.server.arrow import arrow_response
from compresslens.server.jobs import JobRunner, Report, jobs_of
from compresslens.server.routes.deps import workspace_of
from compresslens.workspace import Workspace
from compresslens.workspace.selectors import common_dataset

router = APIRouter(tags=["geometry"])
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]
JobsDep = Annotated[JobRunner, Depends(jobs_of)]

MAP_JOB_MODELS = 8  # a larger map (~0.1 s per model) is a background job, stored once made
MAP_VERSION = 1  # bump when Workspace.geometry_map changes its output

MAX_OCCLUSION_PATCHES = 4096  # one forward pass per patch: keep a request to a second or so
CLIP_QUANTILES = (0.005, 0.995)  # histogram range: a few extreme margins must not flatten it
SAMPLE_GROUPS = ("robust_to_fragile", "fragile_to_robust")  # the groups worth looking at


@router.get("/geometry", response_model=None)
def geometry(
    ws: WorkspaceDep,
    model: Annotated[str, Query(min_length=1)],
    base: Annotated[
        str | None, Query(min_length=1, description="also give the change versus this model")
    ] = None,
    dataset: Annotated[str | None, Query(min_length=1)] = None,
    bins: Annotated[
        int | None, Query(ge=2, le=200, description="add a margin histogram with this many bins")
    ] = None,
    limit: Annotated[
        int | None,
        Query(ge=0, le=1000, description="with base: keep only this many samples per group"),
    ] = None,
    deltas: Annotated[bool, Query(description="with base: include per-sample deltas")] = True,
    format: Annotated[
        Literal["json", "arrow"],
        Query(description="arrow: the per-sample table as an Arrow IPC stream"),
    ] = "json",
) -> dict[str, Any] | Response:
    """Per-class angle θ_y, feature length ‖f‖ and margin; with `base`, the per-sample
    deltas and the samples that turn fragile or robust.

    `format=arrow` answers one row per sample instead: instance, label, theta_y,
    feature_norm, margin (the model's); with `base` also delta_theta_y, delta_feature_norm,
    delta_margin (model − base; left out with deltas=false) and `transition` (robust_to_fragile,
    fragile_to_robust, stayed_robust, stayed_fragile). `bins` and `limit` shape the JSON
    answer only, so they are a 400 with arrow.
    """
    if format == "arrow":
        if bins is not None or limit is not None:
            raise HTTPException(
                status_code=400,
                detail="bins and limit shape the JSON answer; format=arrow returns every sample",
            )
        return _sample_table(ws, model, base, dataset, deltas)
    result = ws.geometry(model, dataset)
    if base is not None:
        comparison = ws.compare(base, model, result["dataset"], n_boot=0)
        change = comparison.geometry()
        result["base"] = {"name": comparison.base.name, "per_class": change["base"]}
        if deltas:
            result["deltas"] = change["deltas"]
        fragility = change["fragility"]
        result["fragility_counts"] = {group: len(ids) for group, ids in fragility.items()}
        if limit is not None:
            fragility = {group: ids[:limit] for group, ids in fragility.items()}
        result["fragility"] = fragility
    if bins is not None or (limit is not None and base is not None):
        margins = _sample_margins(ws, model, base, result["dataset"])
        if bins is not None:
            result["margin_histogram"] = margin_histogram(margins, bins)
        if limit is not None and base is not None:
            result["fragility_samples"] = _fragility_samples(
                result["fragility"], margins, ws.outputs(model, result["dataset"])["label"]
            )
    return jsonable(result)


@router.get("/geometry/map", response_model=None)
def geometry_map(
    ws: WorkspaceDep,
    jobs: JobsDep,
    models: Annotated[str, Query(min_length=1, description="model selector")],
    dataset: Annotated[str, Query(min_length=1)],
    base: Annotated[str | None, Query(min_length=1)] = None,
    method: Literal["auto", "umap", "pca"] = "auto",
) -> Any:
    """Models placed in 2-D by their geometry vectors, with the minimum spanning tree.

    Up to MAP_JOB_MODELS models answer at once. A larger map (every model of a workspace,
    say) reads each model's features and weights, seconds in all, so the first ask answers 202
    with progress (`compresslens.server.jobs`) and the map is stored in the workspace: later
    asks for the same models, even after a restart, answer 200 at once.
    """
    chosen = ws.select(models)
    if len(chosen) <= MAP_JOB_MODELS:
        return jsonable(ws.geometry_map(models, dataset, base=base, method=method))
    ids = [m.id for m in chosen]
    data_id = ws.dataset(dataset).id
    base_id = ws.model(base).id if base is not None else None
    key = {"models": ids, "dataset": data_id, "base": base_id, "method": method}
    stored_as = content_id("geometry-map", MAP_VERSION, key, length=64)

    def stored() -> dict[str, Any]:
        found = ws.store.cached_result(stored_as)
        if found is None:
            raise NotComputedError("this geometry map is not stored yet")
        return json.loads(found)

    def compute(report: Report) -> dict[str, Any]:
        report(0, 1)
        result = jsonable(ws.geometry_map(ids, data_id, base=base_id, method=method))
        ws.store.cache_result(stored_as, "geometry-map", json.dumps(result).encode())
        report(1, 1)
        return result

    message = f"placing {len(ids)} models by their geometry"
    return jobs.answer("geometry-map", key, stored=stored, compute=compute, message=message)


@router.get("/geometry/occlusion")
def occlusion(
    ws: WorkspaceDep,
    model: Annotated[str, Query(min_length=1)],
    dataset: Annotated[str, Query(min_length=1)],
    index: Annotated[int, Query(ge=0, description="instance index in the dataset")],
    patch: Annotated[int, Query(ge=1, le=64, description="side of the occluded square")] = 4,
    stride: Annotated[int, Query(ge=1, le=64)] = 4,
) -> dict[str, Any]:
    """How hiding each patch of one image changes θ_y, ‖f‖ and the margin: small [H', W']
    maps, plus the image's [H, W] so a page can lay them over its thumbnail."""
    data_info = ws.dataset(dataset)
    if data_info.modality != "image":
        raise IncompatibleDatasetError(
            f"occlusion needs image data; {data_info.name} holds {data_info.modality} instances"
        )
    height, width = (int(s) for s in data_info.input_shape[-2:])
    _check_occlusion_grid(height, width, patch, stride)
    result = ws.occlusion(model, data_info.id, index, patch=patch, stride=stride)
    result["label"] = int(ws.load_dataset(data_info.id).labels[index])
    result["dataset"] = data_info.name
    result["shape"] = [height, width]
    return jsonable(result)


def _check_occlusion_grid(height: int, width: int, patch: int, stride: int) -> None:
    """The patch fits the image and the grid stays small enough to answer in about a second."""
    if patch > min(height, width):
        raise GeometryError(f"patch {patch} does not fit in a {height}×{width} image")
    cells = ((height - patch) // stride + 1) * ((width - patch) // stride + 1)
    if cells > MAX_OCCLUSION_PATCHES:
        raise GeometryError(
            f"patch {patch} with stride {stride} makes {cells} occluded copies "
            f"(at most {MAX_OCCLUSION_PATCHES}); use a larger stride"
        )


SAMPLE_COLUMNS = {"angle": "theta_y", "length": "feature_norm", "margin": "margin"}


def _sample_table(
    ws: Workspace, model: str, base: str | None, dataset: str | None, deltas: bool
) -> Response:
    """The per-sample geometry of `model` (and its change from `base`) as an Arrow stream."""
    model_info = ws.model(model)
    # the dataset the JSON answer uses: the named one, or the model's first
    data_info = (
        common_dataset(ws.datasets(), [model_info]) if dataset is None else ws.dataset(dataset)
    )
    labels = ws.outputs(model_info.id, data_info.id)["label"]
    parts = sample_geometry(*ws.geometry_inputs(model_info.id, data_info.id), labels)
    columns: dict[str, np.ndarray] = {"instance": np.arange(labels.shape[0]), "label": labels}
    columns.update({name: parts[part] for part, name in SAMPLE_COLUMNS.items()})
    metadata: dict[str, Any] = {
        "model": model_info.name,
        "dataset": data_info.name,
        "class_names": data_info.class_names,
        "total": int(labels.shape[0]),
    }
    if base is not None:
        comparison = ws.compare(base, model_info.id, data_info.id, n_boot=0)
        base_parts = sample_geometry(
            *ws.geometry_inputs(comparison.base.id, data_info.id), comparison.labels
        )
        if deltas:
            change = sample_deltas(base_parts, parts)
            columns.update({f"delta_{name}": change[p] for p, name in SAMPLE_COLUMNS.items()})
        transition = np.empty(labels.shape[0], dtype=object)
        for group, ids in fragile_robust_samples(base_parts["margin"], parts["margin"]).items():
            transition[ids] = group
        columns["transition"] = transition
        metadata["base"] = comparison.base.name
    return arrow_response(columns, metadata)


def _sample_margins(
    ws: Workspace, model: str, base: str | None, dataset: str
) -> dict[str, np.ndarray]:
    """Per-sample margins of the model and, when given, of the base, on one dataset."""
    labels = ws.outputs(model, dataset)["label"]
    margins = {"model": sample_geometry(*ws.geometry_inputs(model, dataset), labels)["margin"]}
    if base is not None:
        margins["base"] = sample_geometry(*ws.geometry_inputs(base, dataset), labels)["margin"]
    return margins


def margin_histogram(margins: dict[str, np.ndarray], bins: int) -> dict[str, Any]:
    """Counts of each margin series on shared edges, so base and model overlay directly.

    The range spans the 0.5–99.5% quantiles of all finite margins (and always 0, the decision
    boundary); values beyond it, ±inf included, are counted in the end bins and reported as
    `clipped`. Also gives each series' share of margins ≤ 0 (misclassified) and its median.
    """
    finite = np.concatenate([m[np.isfinite(m)] for m in margins.values()])
    if finite.size:
        lo, hi = np.quantile(finite, CLIP_QUANTILES)
    else:
        lo, hi = -1.0, 1.0
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    result: dict[str, Any] = {"edges": edges, "series": {}}
    for name, values in margins.items():
        clipped = np.clip(values, lo, hi)
        counts, _ = np.histogram(clipped, bins=edges)
        result["series"][name] = {
            "counts": counts,
            "clipped": int(np.count_nonzero((values < lo) | (values > hi))),
            "total": int(values.size),
            "negative_share": float(np.mean(values <= 0)) if values.size else None,
            "median": float(np.median(values)) if values.size else None,
        }
    return result


def _fragility_samples(
    fragility: dict[str, np.ndarray], margins: dict[str, np.ndarray], labels: np.ndarray
) -> dict[str, list[dict[str, Any]]]:
    """The listed samples of the transition groups with their label and both margins."""
    return {
        group: [
            {
                "index": int(i),
                "label": int(labels[i]),
                "base_margin": float(margins["base"][i]),
                "margin": float(margins["model"][i]),
            }
            for i in fragility[group]
        ]
        for group in SAMPLE_GROUPS
    }
