"""Datasets: their descriptions and instances (image thumbnails, texts)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from compresslens.server.routes.deps import workspace_of
from compresslens.workspace import Workspace

router = APIRouter(tags=["datasets"])
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


class InstanceText(BaseModel):
    """One instance of a text dataset: what the UI shows in place of a thumbnail."""

    dataset: str
    instance: int
    text: str


@router.get("/datasets")
def list_datasets(ws: WorkspaceDep) -> dict[str, Any]:
    return {"datasets": [d.to_dict() for d in ws.datasets()]}


@router.get(
    "/datasets/{key}/instances/{index}",
    response_model=None,
    responses={
        200: {
            "description": "image data: a PNG thumbnail; text data: the instance's text as JSON",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "model": InstanceText,
        }
    },
)
def render_instance(key: str, index: Annotated[int, Path(ge=0)], ws: WorkspaceDep) -> Response:
    """A PNG thumbnail for image data; {dataset, instance, text} for text data."""
    rendered = ws.render_instance(key, index)
    if isinstance(rendered, bytes):
        return Response(rendered, media_type="image/png")
    answer = InstanceText(dataset=ws.dataset(key).name, instance=index, text=rendered)
    return JSONResponse(answer.model_dump())
