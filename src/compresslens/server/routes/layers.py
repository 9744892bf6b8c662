"""Layers view: per-module weight comparison of a model against its base."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from compresslens.jsonable import jsonable
from compresslens.server.routes.deps import workspace_of
from compresslens.workspace import Workspace

router = APIRouter(tags=["layers"])
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


@router.get("/layers")
def layers(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1)],
    model: Annotated[str, Query(min_length=1)],
    dataset: Annotated[str | None, Query(min_length=1)] = None,
) -> dict[str, Any]:
    """Sparsity, zero overlap, relative weight change and SQNR per module (cached)."""
    comparison = ws.compare(base, model, dataset, n_boot=0)
    return jsonable(
        {
            "base": comparison.base.name,
            "model": comparison.model.name,
            "layers": comparison.layers(),
        }
    )


@router.get("/layers/histogram")
def layer_histogram(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1)],
    model: Annotated[str, Query(min_length=1)],
    module: Annotated[str, Query(min_length=1, description="module name, e.g. body.0")],
    dataset: Annotated[str | None, Query(min_length=1)] = None,
    bins: Annotated[int, Query(ge=2, le=200)] = 50,
) -> dict[str, Any]:
    """Both models' weights of one module on shared bins, to overlay."""
    comparison = ws.compare(base, model, dataset, n_boot=0)
    return jsonable(comparison.weight_histograms(module, bins=bins))
