"""Per-layer sensitivity: compress one layer at a time, rank the accuracy drops (Layers view).

One evaluation per layer takes a while, so the endpoint follows the long-analysis protocol of
`compresslens.server.jobs` (POST starts it; GET answers 202 with progress, then 200); the sweep
is stored in the workspace, so asking again, even after a restart, answers at once.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from compresslens.jsonable import jsonable
from compresslens.server.jobs import JobSpec
from compresslens.server.routes.deps import (
    JOB_LOOKUP,
    JOB_START,
    KEY_LENGTH,
    JobsDep,
    WorkspaceDep,
)

router = APIRouter(tags=["layers"])
# keyword arguments of Workspace.sensitivity itself: not operation parameters
RESERVED = {"model", "dataset", "operation", "limit", "max_drop", "keep_share", "seed"}
RESERVED |= {"progress", "cached_only"}


def _operation_params(value: str | None) -> dict[str, Any]:
    """The operation's parameters from a JSON object, e.g. {"amount": 0.8}."""
    if value is None:
        return {}
    try:
        params = json.loads(value)
    except json.JSONDecodeError as exc:
        raise HTTPException(status_code=422, detail=f"params is not JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise HTTPException(status_code=422, detail='params must be a JSON object: {"amount": 0.8}')
    clash = sorted(RESERVED & set(params))
    if clash:
        raise HTTPException(status_code=422, detail=f"pass {clash} as query parameters")
    return params


class LayerSensitivity(BaseModel):
    """One layer's row of the ranking (`analysis.sensitivity.layer_sensitivity`)."""

    layer: str
    baseline: float | None = Field(description="the metric of the uncompressed model")
    score: float | None = Field(description="the metric with only this layer compressed")
    drop: float | None = Field(description="baseline − score (±inf, a broken layer: null)")
    rank: int = Field(description="1 = the most sensitive layer")


class SensitivityAnswer(BaseModel):
    """Workspace.sensitivity: the ranking and what the ops would do with each layer."""

    model_config = ConfigDict(extra="allow")
    ranking: list[LayerSensitivity] = Field(description="per layer: its drop and rank")
    exclude: list[str] = Field(description="layers that drop more than max_drop")
    mixed_precision: dict[str, int] = Field(description="layer → bits")


def sensitivity_job(
    ws: WorkspaceDep,
    model: Annotated[
        str, Query(min_length=1, max_length=KEY_LENGTH, description="one model (id or name)")
    ],
    dataset: Annotated[
        str, Query(min_length=1, max_length=KEY_LENGTH, description="the dataset to score on")
    ],
    operation: Annotated[
        str,
        Query(
            min_length=1, max_length=KEY_LENGTH, description="an operation with a layer selection"
        ),
    ] = "prune.magnitude",
    params: Annotated[
        str | None,
        Query(
            min_length=2,
            max_length=10_000,
            description='operation parameters as JSON: {"amount": 0.8}',
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="first N instances")] = 2000,
    max_drop: Annotated[
        float, Query(ge=0, le=1, description="exclude layers that drop more")
    ] = 0.01,
    keep_share: Annotated[
        float, Query(ge=0, le=1, description="share of layers kept at 8 bits")
    ] = 0.25,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> JobSpec:
    """The sweep a request asks for, checked (4xx before any job exists)."""
    op_params = _operation_params(params)
    info = ws.model(model)
    run = partial(
        ws.sensitivity,
        info.id,
        dataset,
        operation,
        limit=limit,
        max_drop=max_drop,
        keep_share=keep_share,
        seed=seed,
        **op_params,
    )
    key = {
        "model": info.id,
        "dataset": dataset,
        "operation": operation,
        "params": op_params,
        "limit": limit,
        "max_drop": max_drop,
        "keep_share": keep_share,
        "seed": seed,
    }
    return JobSpec(
        "sensitivity",
        key,
        stored=lambda: jsonable(run(cached_only=True)),
        compute=lambda report: jsonable(run(progress=report)),
        message=f"sensitivity of {info.name}'s layers to {operation}",
    )


SensitivityJob = Annotated[JobSpec, Depends(sensitivity_job)]


@router.get("/sensitivity", response_model=SensitivityAnswer, responses=JOB_LOOKUP)
def sensitivity(jobs: JobsDep, job: SensitivityJob) -> Any:
    """Workspace.sensitivity as JSON (a broken layer's ±inf drop becomes null) when stored;
    202 with progress while it runs; 409 when neither (POST to start). Starts nothing."""
    return jobs.lookup(job)


@router.post("/sensitivity", response_model=SensitivityAnswer, responses=JOB_START)
def start_sensitivity(jobs: JobsDep, job: SensitivityJob) -> Any:
    """Start the sweep (202; the same job for the same parameters), or answer it stored (200);
    429 when the job queue is full."""
    return jobs.start(job)
