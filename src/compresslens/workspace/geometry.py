"""Geometry (Li et al.): one model's last-layer geometry, the map of models, occlusion,
and the aggregates the Geometry view shows of them.

The per-sample arrays (10k+ rows) are what a script wants but not what a page should
download, so `geometry_view` also answers aggregates: a margin histogram, the first
fragile/robust samples with their margins, no per-sample deltas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from compresslens.analysis.geometry import (
    fragile_robust_samples,
    fragility_samples,
    geometry_scales,
    geometry_vector,
    margin,
    margin_histogram,
    model_map,
    per_class_angle_length,
    sample_deltas,
    sample_geometry,
)
from compresslens.data.corruptions import corrupt
from compresslens.errors import IncompatibleDatasetError, NotComputedError, NotFoundError
from compresslens.evaluate.harness import evaluate_arrays, penultimate_module
from compresslens.evaluate.occlusion import GeometryError
from compresslens.ids import content_id
from compresslens.jsonable import jsonable
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.workspace.comparison import classifier_parameters, occlusion_attribution
from compresslens.workspace.selectors import common_dataset

if TYPE_CHECKING:
    from compresslens.workspace.core import DatasetRef, ModelRef, Workspace

MAP_VERSION = 1  # bump when geometry_map changes its output
MAX_OCCLUSION_PATCHES = 4096  # one forward pass per patch: keep a request to a second or so
SAMPLE_COLUMNS = {"angle": "theta_y", "length": "feature_norm", "margin": "margin"}


# ---------------------------------------------------------------- the Workspace methods


def geometry_inputs(
    ws: Workspace, model: ModelRef, dataset: DatasetRef
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Penultimate features f [N, D] and the final layer's W [C, D], b [C].

    Features that were not stored are computed once (re-evaluating with features=True).
    """
    info, data_info = ws.model(model), ws.dataset(dataset)
    evaluation = ws.evaluation(info.id, data_info.id)
    if not evaluation.has_features:
        ws.evaluate(info.id, data_info.id, features=True, logits=evaluation.has_logits)
        evaluation = ws.evaluation(info.id, data_info.id)
    features = ws.features(info.id, data_info.id).numpy()
    W, b = classifier_parameters(ws.load_model(info.id), evaluation.features_module or "")
    return features, W, b


def geometry(ws: Workspace, model: ModelRef, dataset: DatasetRef | None = None) -> dict[str, Any]:
    """One model's last-layer geometry per class: θ_y, ‖f‖ and margin summaries."""
    info = ws.model(model)
    data_info = model_dataset(ws, info, dataset)
    f, W, b = geometry_inputs(ws, info.id, data_info.id)
    labels = ws.outputs(info.id, data_info.id)["label"]
    summary = per_class_angle_length(f, W, b, labels, data_info.num_classes)
    return {
        "model": info.name,
        "dataset": data_info.name,
        "per_class": summary,
        "class_names": data_info.class_names,
    }


def geometry_map(
    ws: Workspace,
    models: str | Sequence[ModelRef],
    dataset: DatasetRef,
    *,
    base: ModelRef | None = None,
    method: str = "auto",
) -> dict[str, Any]:
    """A 2-D map of models by their geometry vectors [θ_y ‖ ‖f‖ ‖ m], with the MST.

    Every model is scaled by the base model's block RMS (the first selected by default),
    so an overall shrinkage of features or margins stays visible (Li et al.).
    """
    chosen = ws.select(models)
    data_info = ws.dataset(dataset)
    base_info = ws.model(base) if base is not None else chosen[0]
    labels = ws.outputs(base_info.id, data_info.id)["label"]
    scales = geometry_scales(*geometry_inputs(ws, base_info.id, data_info.id), labels)
    vectors = np.stack(
        [
            geometry_vector(*geometry_inputs(ws, m.id, data_info.id), labels, scales=scales)
            for m in chosen
        ]
    )
    layout = model_map(vectors, method=method)  # type: ignore[arg-type]
    return {
        "models": [{"id": m.id, "name": m.name} for m in chosen],
        "coordinates": layout["coordinates"],
        "edges": [
            {"source": chosen[i].name, "target": chosen[j].name, "distance": d}
            for i, j, d in layout["edges"]
        ],
        "method": layout["method"],
    }


def occlusion(
    ws: Workspace,
    model: ModelRef,
    dataset: DatasetRef,
    index: int,
    *,
    patch: int = 4,
    stride: int = 4,
) -> dict[str, Any]:
    """How occluding each patch of one image changes θ_y, ‖f‖ and the margin."""
    info, data_info = ws.model(model), ws.dataset(dataset)
    if not 0 <= index < data_info.num_instances:
        raise NotFoundError(f"instance {index} is outside 0..{data_info.num_instances - 1}")
    arrays = ws.load_dataset(data_info.id)
    module = ws.load_model(info.id)
    maps = occlusion_attribution(
        module,
        arrays.inputs[index : index + 1],
        int(arrays.labels[index]),
        patch=patch,
        stride=stride,
        feature_module=penultimate_module(module),
    )
    return {"model": info.name, "instance": index, "patch": patch, "stride": stride, **maps}


def corrupted_margins(
    ws: Workspace,
    model: ModelRef,
    dataset: DatasetRef,
    corruption: str,
    severity: int,
    *,
    limit: int = 2000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Margins m of the first `limit` instances, clean and under one corruption."""
    info, data_info = ws.model(model), ws.dataset(dataset)
    arrays = ws.load_dataset(data_info.id)
    inputs, labels = arrays.inputs[:limit], arrays.labels[:limit]
    module = ws.load_model(info.id)
    margins = []
    for images in (inputs, corrupt(inputs, corruption, severity, seed=seed)):
        result = evaluate_arrays(module, images, labels, data_info.num_classes, features=True)
        W, b = classifier_parameters(module, result.features_module or "")
        assert result.features is not None
        margins.append(margin(result.features.numpy(), W, b, labels.numpy()))
    return margins[0], margins[1]


# ---------------------------------------------------------------- what the view shows


def model_dataset(ws: Workspace, model: ModelInfo, dataset: DatasetRef | None) -> DatasetInfo:
    """The named dataset, or the model's first (workspace.selectors.common_dataset)."""
    return common_dataset(ws.datasets(), [model]) if dataset is None else ws.dataset(dataset)


def sample_margins(
    ws: Workspace, model: ModelRef, base: ModelRef | None, dataset: DatasetRef
) -> dict[str, np.ndarray]:
    """Per-sample margins of the model and, when given, of the base, on one dataset."""
    labels = ws.outputs(model, dataset)["label"]
    margins = {"model": sample_geometry(*geometry_inputs(ws, model, dataset), labels)["margin"]}
    if base is not None:
        margins["base"] = sample_geometry(*geometry_inputs(ws, base, dataset), labels)["margin"]
    return margins


def geometry_view(
    ws: Workspace,
    model: str,
    *,
    base: str | None = None,
    dataset: str | None = None,
    bins: int | None = None,
    limit: int | None = None,
    deltas: bool = True,
) -> dict[str, Any]:
    """`geometry`, with `base` the change versus it (per-sample deltas unless `deltas` is
    False, the samples that turn fragile or robust: the first `limit` of each group), with
    `bins` a margin histogram of model and base on shared edges. JSON-ready."""
    result = geometry(ws, model, dataset)
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
        margins = sample_margins(ws, model, base, result["dataset"])
        if bins is not None:
            result["margin_histogram"] = margin_histogram(margins, bins)
        if limit is not None and base is not None:
            labels = ws.outputs(model, result["dataset"])["label"]
            result["fragility_samples"] = fragility_samples(result["fragility"], margins, labels)
    return jsonable(result)


def sample_table(
    ws: Workspace, model: str, base: str | None, dataset: str | None, deltas: bool = True
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The per-sample geometry of `model` (and its change from `base`) as columns, with
    what they are about: instance, label, theta_y, feature_norm, margin; with `base` also
    delta_* (unless `deltas` is False) and the fragile/robust `transition`."""
    model_info = ws.model(model)
    data_info = model_dataset(ws, model_info, dataset)  # the dataset the JSON answer uses
    labels = ws.outputs(model_info.id, data_info.id)["label"]
    parts = sample_geometry(*geometry_inputs(ws, model_info.id, data_info.id), labels)
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
            *geometry_inputs(ws, comparison.base.id, data_info.id), comparison.labels
        )
        if deltas:
            change = sample_deltas(base_parts, parts)
            columns.update({f"delta_{name}": change[p] for p, name in SAMPLE_COLUMNS.items()})
        transition = np.empty(labels.shape[0], dtype=object)
        for group, ids in fragile_robust_samples(base_parts["margin"], parts["margin"]).items():
            transition[ids] = group
        columns["transition"] = transition
        metadata["base"] = comparison.base.name
    return columns, metadata


def occlusion_view(
    ws: Workspace, model: str, dataset: str, index: int, *, patch: int = 4, stride: int = 4
) -> dict[str, Any]:
    """`occlusion` plus the instance's label and the image's [H, W], so a page can lay the
    maps over its thumbnail; a grid over MAX_OCCLUSION_PATCHES copies is refused."""
    data_info = ws.dataset(dataset)
    if data_info.modality != "image":
        raise IncompatibleDatasetError(
            f"occlusion needs image data; {data_info.name} holds {data_info.modality} instances"
        )
    height, width = (int(s) for s in data_info.input_shape[-2:])
    check_occlusion_grid(height, width, patch, stride)
    result = occlusion(ws, model, data_info.id, index, patch=patch, stride=stride)
    result["label"] = int(ws.load_dataset(data_info.id).labels[index])
    result["dataset"] = data_info.name
    result["shape"] = [height, width]
    return jsonable(result)


def check_occlusion_grid(height: int, width: int, patch: int, stride: int) -> None:
    """The patch fits the image and the grid stays small enough to answer in about a second."""
    if patch > min(height, width):
        raise GeometryError(f"patch {patch} does not fit in a {height}×{width} image")
    cells = ((height - patch) // stride + 1) * ((width - patch) // stride + 1)
    if cells > MAX_OCCLUSION_PATCHES:
        raise GeometryError(
            f"patch {patch} with stride {stride} makes {cells} occluded copies "
            f"(at most {MAX_OCCLUSION_PATCHES}); use a larger stride"
        )


@dataclass(frozen=True)
class MapRequest:
    """A geometry map named by resolved ids: the key it is stored under."""

    models: list[str]
    dataset: str
    base: str | None
    method: str

    def key(self) -> dict[str, Any]:
        return {"models": self.models, "dataset": self.dataset, "base": self.base,
                "method": self.method}  # fmt: skip

    def stored_as(self) -> str:
        return content_id("geometry-map", MAP_VERSION, self.key(), length=64)


def map_request(
    ws: Workspace, models: str, dataset: str, base: str | None = None, method: str = "auto"
) -> MapRequest:
    """The selected models, dataset and base resolved to ids (a clear 404 for unknown ones)."""
    ids = [m.id for m in ws.select(models)]
    base_id = ws.model(base).id if base is not None else None
    return MapRequest(ids, ws.dataset(dataset).id, base_id, method)


def map_answer(ws: Workspace, request: MapRequest) -> dict[str, Any]:
    """The map of the request, computed now (JSON-ready)."""
    return jsonable(
        geometry_map(ws, request.models, request.dataset, base=request.base, method=request.method)
    )


def stored_map(ws: Workspace, request: MapRequest) -> dict[str, Any]:
    """The map stored by `computed_map`; NotComputedError when there is none yet."""
    found = ws.store.get_result("geometry-map", request.stored_as())
    if found is None:
        raise NotComputedError("this geometry map is not stored yet")
    return found


def computed_map(ws: Workspace, request: MapRequest) -> dict[str, Any]:
    """The map computed now and stored in the workspace (later asks read it back)."""
    result = map_answer(ws, request)
    ws.store.put_result("geometry-map", request.stored_as(), result)
    return result
