"""Datasets: their descriptions and instances (image thumbnails, texts)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from compresslens.server.routes.deps import KEY_LENGTH, WorkspaceDep

router = APIRouter(tags=["datasets"])


class InstanceText(BaseModel):
    """One instance of a text dataset: what the UI shows in place of a thumbnail."""

    dataset: str
    instance: int
    text: str


class DatasetDescription(BaseModel):
    """A registered dataset: what its instances are and how they are labelled."""

    id: str
    name: str
    modality: str = Field(description="image, text, tabular, …")
    num_instances: int
    num_classes: int
    class_names: list[str]
    input_shape: list[int]
    input_dtype: str
    attribute_names: list[str] = Field(description="per-instance attributes (subgroups)")
    content_hash: str
    description: str


class DatasetList(BaseModel):
    datasets: list[DatasetDescription]


@router.get("/datasets", response_model=DatasetList)
def list_datasets(ws: WorkspaceDep) -> dict[str, Any]:
    """Every dataset, in registration order."""
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
def render_instance(
    key: Annotated[str, Path(max_length=KEY_LENGTH)],
    index: Annotated[int, Path(ge=0)],
    ws: WorkspaceDep,
) -> Response:
    """A PNG thumbnail for image data; {dataset, instance, text} for text data."""
    rendered = ws.render_instance(key, index)
    if isinstance(rendered, bytes):
        return Response(rendered, media_type="image/png")
    answer = InstanceText(dataset=ws.dataset(key).name, instance=index, text=rendered)
    return JSONResponse(answer.model_dump())
