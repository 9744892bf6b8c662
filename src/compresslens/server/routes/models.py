"""Models: the list with metrics (for the map and scatter), one model in full."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from compresslens.server.routes.deps import KEY_LENGTH, WorkspaceDep

router = APIRouter(tags=["models"])


class ModelDescription(BaseModel):
    """A model's provenance, efficiency and scalar metrics (`ModelInfo.to_dict`)."""

    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    source: str
    status: str
    operation: dict[str, Any] | None = Field(description="the edge that produced the model")
    efficiency: dict[str, Any]
    metrics: dict[str, dict[str, float | None]] = Field(description="per dataset: name → value")
    tags: list[str]
    notes: list[str]
    created_at: str


class ModelList(BaseModel):
    models: list[ModelDescription]


class ModelLink(BaseModel):
    id: str
    name: str


class ModelDetails(BaseModel):
    model: ModelDescription
    lineage: list[ModelLink] = Field(description="root → model along the first parent")
    evaluations: list[dict[str, Any]]


@router.get("/models", response_class=JSONResponse, response_model=ModelList)
def list_models(ws: WorkspaceDep) -> JSONResponse:
    """Every model with provenance, efficiency and scalar metrics (no per-instance rows)."""
    # A ready response: the records are plain JSON already, and FastAPI's jsonable_encoder
    # walk over 1,000 models took longer than the queries (benchmarks/bench_api.py).
    return JSONResponse({"models": [model.to_dict() for model in ws.models()]})


@router.get("/models/{key}", response_model=ModelDetails)
def get_model(key: Annotated[str, Path(max_length=KEY_LENGTH)], ws: WorkspaceDep) -> dict[str, Any]:
    model = ws.model(key)
    return {
        "model": model.to_dict(),
        "lineage": [{"id": m.id, "name": m.name} for m in ws.lineage(model.id)],
        "evaluations": [e.to_dict() for e in ws.evaluations(model.id)],
    }
