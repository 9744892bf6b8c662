"""Models: the list with metrics (for the map and scatter), one model in full."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from compresslens.server.routes.deps import workspace_of
from compresslens.workspace import Workspace

router = APIRouter(tags=["models"])
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


@router.get("/models")
def list_models(ws: WorkspaceDep) -> dict[str, Any]:
    """Every model with provenance, efficiency and scalar metrics (no per-instance rows)."""
    return {"models": [model.to_dict() for model in ws.models()]}


@router.get("/models/{key}")
def get_model(key: str, ws: WorkspaceDep) -> dict[str, Any]:
    model = ws.model(key)
    return {
        "model": model.to_dict(),
        "lineage": [{"id": m.id, "name": m.name} for m in ws.lineage(model.id)],
        "evaluations": [e.to_dict() for e in ws.evaluations(model.id)],
    }
