"""Datasets: their descriptions and instance thumbnails."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import PlainTextResponse, Response

from compresslens.server.routes.deps import workspace_of
from compresslens.workspace import Workspace

router = APIRouter(tags=["datasets"])
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


@router.get("/datasets")
def list_datasets(ws: WorkspaceDep) -> dict[str, Any]:
    return {"datasets": [d.to_dict() for d in ws.datasets()]}


@router.get("/datasets/{key}/instances/{index}")
def render_instance(key: str, index: Annotated[int, Path(ge=0)], ws: WorkspaceDep) -> Response:
    """A PNG thumbnail for image data, plain text for text data."""
    rendered = ws.render_instance(key, index)
    if isinstance(rendered, bytes):
        return Response(rendered, media_type="image/png")
    return PlainTextResponse(rendered)
