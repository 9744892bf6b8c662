"""Geometry view (Li et al.): one model's last-layer geometry, the map of models, occlusion.

`GET /api/geometry` answers per-class summaries; with `base` it adds the change versus the
base. Per-sample arrays (10k+ rows) are what a script wants but not what a page should
download, so the view asks for aggregates instead: `bins` (a margin histogram, base and model
on the same edges), `limit` (only the first fragile/robust samples, with their margins) and
`deltas=false` (no per-sample deltas). Without those parameters the answer is the Python API's.
`format=arrow` answers the per-sample table itself as an Arrow IPC stream (see `geometry`).
Each route is one call of `compresslens.workspace.geometry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from compresslens.server.arrow import arrow_response
from compresslens.server.jobs import JobSpec, Report
from compresslens.server.routes.deps import (
    ARROW_ANSWER,
    JOB_LOOKUP,
    JOB_START,
    KEY_LENGTH,
    SELECTOR_LENGTH,
    JobsDep,
    WorkspaceDep,
)
from compresslens.workspace import geometry as views

router = APIRouter(tags=["geometry"])

MAP_JOB_MODELS = 8  # a larger map (~0.1 s per model) is a background job, stored once made


class GeometryAnswer(BaseModel):
    """Per-class geometry; with base the change versus it (see the route's parameters)."""

    model_config = ConfigDict(extra="allow")
    model: str
    dataset: str
    per_class: dict[str, Any]
    class_names: list[str]


class ModelPoint(BaseModel):
    id: str
    name: str


class MapEdge(BaseModel):
    source: str
    target: str
    distance: float | None


class GeometryMap(BaseModel):
    models: list[ModelPoint]
    coordinates: list[list[float | None]] = Field(description="[M, 2], one row per model")
    edges: list[MapEdge] = Field(description="the minimum spanning tree")
    method: str


class OcclusionAnswer(BaseModel):
    model: str
    dataset: str
    instance: int
    label: int
    patch: int
    stride: int
    shape: list[int] = Field(description="the image's [H, W]")
    angle: list[list[float | None]] = Field(description="change of θ_y per occluded patch [H', W']")
    length: list[list[float | None]]
    margin: list[list[float | None]]


@router.get("/geometry", response_model=GeometryAnswer, responses=ARROW_ANSWER)
def geometry(
    ws: WorkspaceDep,
    model: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    base: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=KEY_LENGTH,
            description="also give the change versus this model",
        ),
    ] = None,
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
    bins: Annotated[
        int | None, Query(ge=2, le=200, description="add a margin histogram with this many bins")
    ] = None,
    limit: Annotated[
        int | None,
        Query(ge=0, le=1000, description="with base: keep only this many samples per group"),
    ] = None,
    deltas: Annotated[bool, Query(description="with base: include per-sample deltas")] = True,
    format: Annotated[
        Literal["json", "arrow"],
        Query(description="arrow: the per-sample table as an Arrow IPC stream"),
    ] = "json",
) -> Any:
    """Per-class angle θ_y, feature length ‖f‖ and margin; with `base`, the per-sample
    deltas and the samples that turn fragile or robust.

    `format=arrow` answers one row per sample instead: instance, label, theta_y,
    feature_norm, margin (the model's); with `base` also delta_theta_y, delta_feature_norm,
    delta_margin (model − base; left out with deltas=false) and `transition` (robust_to_fragile,
    fragile_to_robust, stayed_robust, stayed_fragile). `bins` and `limit` shape the JSON
    answer only, so they are a 400 with arrow.
    """
    if format == "arrow":
        if bins is not None or limit is not None:
            raise HTTPException(
                status_code=400,
                detail="bins and limit shape the JSON answer; format=arrow returns every sample",
            )
        table = ws.geometry_samples(model, base=base, dataset=dataset, deltas=deltas)
        return arrow_response(table.columns, table.context)
    return ws.geometry_view(
        model, base=base, dataset=dataset, bins=bins, limit=limit, deltas=deltas
    )


@dataclass(frozen=True)
class MapAsk:
    """A map request: answered in the request when small (`quick`), else a job (`job`)."""

    quick: Callable[[], dict[str, Any]] | None
    job: JobSpec | None


def map_ask(
    ws: WorkspaceDep,
    models: Annotated[
        str, Query(min_length=1, max_length=SELECTOR_LENGTH, description="model selector")
    ],
    dataset: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    base: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
    method: Literal["auto", "umap", "pca"] = "auto",
) -> MapAsk:
    """Up to MAP_JOB_MODELS models are placed in the request; more make a job."""
    request = views.map_request(ws, models, dataset, base, method)
    if len(request.models) <= MAP_JOB_MODELS:
        return MapAsk(quick=lambda: views.map_answer(ws, request), job=None)

    def compute(report: Report) -> dict[str, Any]:
        report(0, 1)
        result = views.computed_map(ws, request)
        report(1, 1)
        return result

    return MapAsk(
        quick=None,
        job=JobSpec(
            "geometry-map",
            request.key(),
            stored=lambda: views.stored_map(ws, request),
            compute=compute,
            message=f"placing {len(request.models)} models by their geometry",
            cost=len(request.models),  # about one pass per model: orders the job queue
        ),
    )


MapDep = Annotated[MapAsk, Depends(map_ask)]


@router.get("/geometry/map", response_model=GeometryMap, responses=JOB_LOOKUP)
def geometry_map(jobs: JobsDep, ask: MapDep) -> Any:
    """Models placed in 2-D by their geometry vectors, with the minimum spanning tree.

    Up to MAP_JOB_MODELS models answer at once. A larger map (every model of a workspace,
    say) reads each model's features and weights, seconds in all, so it is a job (POST to
    start): GET answers 200 once stored (even after a restart), 202 while it runs, else 409.
    """
    return ask.quick() if ask.quick is not None else jobs.lookup(ask.job)


@router.post("/geometry/map", response_model=GeometryMap, responses=JOB_START)
def start_geometry_map(jobs: JobsDep, ask: MapDep) -> Any:
    """Start placing a large map (202; one job per parameters), or answer it (200)."""
    return ask.quick() if ask.quick is not None else jobs.start(ask.job)


@router.get("/geometry/occlusion", response_model=OcclusionAnswer)
def occlusion(
    ws: WorkspaceDep,
    model: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    dataset: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    index: Annotated[int, Query(ge=0, description="instance index in the dataset")],
    patch: Annotated[int, Query(ge=1, le=64, description="side of the occluded square")] = 4,
    stride: Annotated[int, Query(ge=1, le=64)] = 4,
) -> dict[str, Any]:
    """How hiding each patch of one image changes θ_y, ‖f‖ and the margin: small [H', W']
    maps, plus the image's [H, W] so a page can lay them over its thumbnail."""
    return ws.occlusion_view(model, dataset, index, patch=patch, stride=stride)
