"""Geometry view (Li et al.): one model's last-layer geometry, and the map of models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from compresslens.jsonable import jsonable
from compresslens.server.routes.deps import workspace_of
from compresslens.workspace import Workspace

router = APIRouter(tags=["geometry"])
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


@router.get("/geometry")
def geometry(
    ws: WorkspaceDep,
    model: Annotated[str, Query(min_length=1)],
    base: Annotated[
        str | None, Query(min_length=1, description="also give the change versus this model")
    ] = None,
    dataset: Annotated[str | None, Query(min_length=1)] = None,
) -> dict[str, Any]:
    """Per-class angle θ_y, feature length ‖f‖ and margin; with `base`, the per-sample
    deltas and the samples that turn fragile or robust."""
    result = ws.geometry(model, dataset)
    if base is not None:
        comparison = ws.compare(base, model, result["dataset"], n_boot=0)
        change = comparison.geometry()
        result["base"] = {"name": comparison.base.name, "per_class": change["base"]}
        result["deltas"] = change["deltas"]
        result["fragility"] = change["fragility"]
    return jsonable(result)


@router.get("/geometry/map")
def geometry_map(
    ws: WorkspaceDep,
    models: Annotated[str, Query(min_length=1, description="model selector")],
    dataset: Annotated[str, Query(min_length=1)],
    base: Annotated[str | None, Query(min_length=1)] = None,
    method: Literal["auto", "umap", "pca"] = "auto",
) -> dict[str, Any]:
    """Models placed in 2-D by their geometry vectors, with the minimum spanning tree."""
    return jsonable(ws.geometry_map(models, dataset, base=base, method=method))
