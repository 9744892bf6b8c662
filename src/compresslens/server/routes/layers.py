"""Layers view: per-module weight and activation comparison of a model against its base.

/layers and /layers/histogram read weights only (fast); /layers/activations runs both models
and so follows the long-analysis protocol (POST starts it; GET answers 202 with progress, then
200).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from compresslens.server.jobs import JobSpec
from compresslens.server.routes.deps import (
    JOB_LOOKUP,
    JOB_START,
    KEY_LENGTH,
    JobsDep,
    WorkspaceDep,
)

Key = Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)]
OptionalKey = Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)]

router = APIRouter(tags=["layers"])


class LayerComparison(BaseModel):
    """Comparison.layers: per module and per module prefix (rollup), on shared edges."""

    model_config = ConfigDict(extra="allow")
    modules: list[dict[str, Any]] = Field(
        description="per module: sparsity, zero overlap, relative change, SQNR"
    )
    rollup: list[dict[str, Any]]
    only_in_base: list[str]
    only_in_model: list[str]
    relative_change_edges: list[float]


class LayersAnswer(BaseModel):
    base: str
    model: str
    layers: LayerComparison


class WeightHistograms(BaseModel):
    """Both models' weights of one module counted on shared bins."""

    model_config = ConfigDict(extra="allow")
    module: str
    missing: list[str] = Field(description="models without this module")


class ActivationsAnswer(BaseModel):
    """Comparison.activations with the models, dataset and sample it ran on."""

    model_config = ConfigDict(extra="allow")
    base: str
    model: str
    dataset: str
    sample: int
    modules: list[dict[str, Any]] = Field(
        description="per module: CKA, cosine, rel_l2, SQNR (null when identical), identical"
    )
    threshold: float
    first_divergent_layer: str | None
    first_divergent_layers: dict[str, str | None] = Field(
        description="per CKA threshold (as text: the view's and `threshold`) the first module below"
    )
    first_diverging: dict[str, dict[str, str | None]] = Field(
        description="per metric (cka, cosine, sqnr_db), per offered threshold (as text) the "
        "first module below it; an identical layer (`identical` in its row) never is"
    )


@router.get("/layers", response_model=LayersAnswer)
def layers(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    model: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
) -> dict[str, Any]:
    """Sparsity, zero overlap, relative weight change and SQNR per module (cached)."""
    return ws.layers(base, model, dataset)


@router.get("/layers/histogram", response_model=WeightHistograms)
def layer_histogram(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    model: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    module: Annotated[
        str, Query(min_length=1, max_length=KEY_LENGTH, description="module name, e.g. body.0")
    ],
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
    bins: Annotated[int, Query(ge=2, le=200)] = 50,
) -> dict[str, Any]:
    """Both models' weights of one module on shared bins, to overlay."""
    return ws.layer_histogram(base, model, module, dataset, bins=bins)


def activations_job(
    ws: WorkspaceDep,
    base: Key,
    model: Key,
    dataset: OptionalKey = None,
    sample: Annotated[int, Query(ge=8, le=4096, description="first N instances")] = 1024,
    threshold: Annotated[
        float, Query(ge=0, le=1, description="CKA below this marks a diverging layer")
    ] = 0.9,
) -> JobSpec:
    """The comparison a request asks for, resolved once (its ids are the job's key)."""
    pair = ws.compare(base, model, dataset, n_boot=0)
    ids = {"base": pair.base.id, "model": pair.model.id, "dataset": pair.dataset.id}
    activations = partial(ws.activations, **ids, sample=sample, threshold=threshold)

    return JobSpec(
        "layer-activations",
        {**ids, "sample": sample, "threshold": threshold},
        stored=lambda: activations(cached_only=True),
        compute=lambda report: activations(progress=report),
        total=3,
        message=f"activations of {pair.base.name} and {pair.model.name} on {sample} instances",
    )


ActivationsJob = Annotated[JobSpec, Depends(activations_job)]


@router.get("/layers/activations", response_model=ActivationsAnswer, responses=JOB_LOOKUP)
def layer_activations(jobs: JobsDep, job: ActivationsJob) -> Any:
    """Comparison.activations (CKA / cosine / SQNR per module, first diverging layer).

    Both models run on the sample, which takes seconds, so it is a job (POST to start): GET
    answers 200 once stored (even after a restart), 202 with progress while it runs, else 409.
    """
    return jobs.lookup(job)


@router.post("/layers/activations", response_model=ActivationsAnswer, responses=JOB_START)
def start_layer_activations(jobs: JobsDep, job: ActivationsJob) -> Any:
    """Start the activation comparison (202; one job per parameters), or answer it stored."""
    return jobs.start(job)
