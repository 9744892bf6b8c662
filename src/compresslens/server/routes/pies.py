"""PIE view: Pruning (Compression) Identified Exemplars of two model populations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from compresslens.jsonable import jsonable
from compresslens.server.routes.deps import workspace_of
from compresslens.workspace import Workspace

router = APIRouter(tags=["pies"])
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


@router.get("/pies")
def pies(
    ws: WorkspaceDep,
    baseline: Annotated[str, Query(min_length=1, description="selector: the baseline population")],
    compressed: Annotated[str, Query(min_length=1, description="selector: compressed models")],
    by: Annotated[
        str | None, Query(min_length=1, description="split the compressed by this op parameter")
    ] = None,
    dataset: Annotated[str | None, Query(min_length=1)] = None,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    correction: Literal["none", "bh"] = "none",
) -> dict[str, Any]:
    """One report for the whole compressed selection, or one per level of `by`."""
    if by is None:
        report = ws.pies(baseline, compressed, dataset, alpha=alpha, correction=correction)
        return jsonable({"by": None, "levels": [{"level": None, **report}]})
    levels = ws.pies_by_level(baseline, compressed, by, dataset, alpha=alpha, correction=correction)
    return jsonable({"by": by, "levels": levels})
