"""Models: the list with metrics (for the map and scatter), one model in full."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from compresslens.server.routes.deps import workspace_of
from compresslens.workspace import Workspace

router = APIRouter(tags=["models"])
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


@router.get("/models", response_class=JSONResponse)
def list_models(ws: WorkspaceDep) -> JSONResponse:
    """Every model with provenance, efficiency and scalar metrics (no per-instance rows)."""
    # A ready response: the records are plain JSON already, and FastAPI's jsonable_encoder
    # walk over 1,000 models took longer than the queries (benchmarks/bench_api.py).
    return JSONResponse({"models": [model.to_dict() for model in ws.models()]})


@router.get("/models/{key}")
def get_model(key: str, ws: WorkspaceDep) -> dict[str, Any]:
    model = ws.model(key)
    return {
        "model": model.to_dict(),
        "lineage": [{"id": m.id, "name": m.name} for m in ws.lineage(model.id)],
        "evaluations": [e.to_dict() for e in ws.evaluations(model.id)],
    }
