"""Robustness view: accuracy of models under common corruptions × severities.

Running every model over every corrupted copy takes a while, so the endpoint follows the
long-analysis protocol of `compresslens.server.jobs`: POST starts the sweep, GET answers 202
with progress while it runs and 200 with the table once the accuracies are stored (workspace
metrics, so a restart answers at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from compresslens.jsonable import jsonable
from compresslens.server.jobs import JobSpec
from compresslens.server.routes.deps import (
    JOB_LOOKUP,
    JOB_START,
    KEY_LENGTH,
    SELECTOR_LENGTH,
    JobsDep,
    WorkspaceDep,
)

router = APIRouter(tags=["robustness"])
MAX_MODELS = 50  # one sweep per model: more would hold the single worker for too long
# what the view asks for until the user picks: a quick first table (3 × 3 conditions)
VIEW_CORRUPTIONS = ("gaussian_noise", "defocus_blur", "contrast")
VIEW_SEVERITIES = (1, 3, 5)


class Corruptions(BaseModel):
    """What the robustness sweep can generate, and the view's first choice of them."""

    corruptions: list[str]
    severities: list[int]
    default_corruptions: list[str]
    default_severities: list[int]


class RobustnessRow(BaseModel):
    """One model under one condition (`analysis.robustness.robustness_table`)."""

    model: str = Field(description="the model's name")
    corruption: str
    severity: int
    accuracy: float | None
    base_accuracy: float | None
    drop: float | None = Field(description="base accuracy − accuracy under the same condition")
    relative_drop: float | None = Field(description="drop / base accuracy")


class RobustnessAnswer(BaseModel):
    corruptions: list[str]
    severities: list[int]
    limit: int
    seed: int
    computed: bool = Field(description="false (with peek) when nothing is stored yet")
    rows: list[RobustnessRow] | None = Field(
        description="per model × condition: accuracy and the drop versus the base"
    )


def _names(value: str | None, default: Sequence[Any]) -> list[str]:
    if value is None:
        return [str(v) for v in default]
    return [v.strip() for v in value.split(",") if v.strip()]


def _corruptions(value: str | None, known: list[str]) -> list[str]:
    chosen = _names(value, known)
    unknown = sorted(set(chosen) - set(known))
    if unknown or not chosen:
        raise HTTPException(
            status_code=422,
            detail=f"unknown corruption(s) {unknown}; choose from {', '.join(known)}",
        )
    return list(dict.fromkeys(chosen))


def _severities(value: str | None, known: list[int]) -> list[int]:
    try:
        levels = [int(s) for s in _names(value, known)]
    except ValueError as exc:
        raise HTTPException(status_code=422, detail="severities are integers 1-5") from exc
    if not levels or any(s not in known for s in levels):
        raise HTTPException(status_code=422, detail="severities are integers 1-5")
    return sorted(set(levels))


@router.get("/robustness/corruptions", response_model=Corruptions)
def list_corruptions(ws: WorkspaceDep) -> dict[str, Any]:
    """The corruption names and severities `/robustness` accepts, and the view's defaults."""
    return {
        **ws.corruptions(),
        "default_corruptions": list(VIEW_CORRUPTIONS),
        "default_severities": list(VIEW_SEVERITIES),
    }


def robustness_job(
    ws: WorkspaceDep,
    models: Annotated[
        str, Query(min_length=1, max_length=SELECTOR_LENGTH, description="model selector")
    ],
    dataset: Annotated[
        str, Query(min_length=1, max_length=KEY_LENGTH, description="an image dataset")
    ],
    base: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
    corruptions: Annotated[
        str | None,
        Query(min_length=1, max_length=2000, description="comma-separated corruption names"),
    ] = None,
    severities: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="comma-separated severities 1-5"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="first N instances")] = 500,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> JobSpec:
    """The sweep a request asks for, checked (422/404 before any job exists)."""
    known = ws.corruptions()
    chosen = _corruptions(corruptions, known["corruptions"])
    levels = _severities(severities, known["severities"])
    selected = ws.select(models)
    if len(selected) > MAX_MODELS:
        raise HTTPException(
            status_code=422,
            detail=f"{len(selected)} models selected; robustness takes at most {MAX_MODELS}",
        )
    compared = {m.id for m in selected} | ({ws.model(base).id} if base else set())
    conditions = 1 + len(chosen) * len(levels)  # clean first
    params = {
        "models": [m.id for m in selected],
        "dataset": dataset,
        "base": base,
        "corruptions": chosen,
        "severities": levels,
        "limit": limit,
        "seed": seed,
    }
    table = partial(
        ws.robustness,
        params["models"],
        dataset,
        base=base,
        corruptions=chosen,
        severities=levels,
        limit=limit,
        seed=seed,
    )
    setup = {"corruptions": chosen, "severities": levels, "limit": limit, "seed": seed}

    def answer(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return jsonable({**setup, "computed": True, "rows": rows})

    return JobSpec(
        "robustness",
        params,
        stored=lambda: answer(table(cached_only=True)),
        compute=lambda report: answer(table(progress=report)),
        message=f"robustness of {len(compared)} models × {conditions} conditions",
        total=len(compared) * conditions,
    )


RobustnessJob = Annotated[JobSpec, Depends(robustness_job)]


@router.get("/robustness", response_model=RobustnessAnswer, responses=JOB_LOOKUP)
def robustness(
    jobs: JobsDep,
    job: RobustnessJob,
    peek: Annotated[
        bool, Query(description="answer 200 with rows=null instead of 409 when not stored")
    ] = False,
) -> Any:
    """Models × corruption × severity: accuracy and drop versus the base, when stored (200);
    202 with progress while a sweep runs; 409 when neither (POST to start). Starts nothing.

    With `peek`, a table neither stored nor under way answers `{"computed": false, "rows":
    null}` (200) instead of the 409 — the view offers a button then.
    """
    found = jobs.lookup(job)
    if peek and isinstance(found, JSONResponse) and found.status_code == 409:
        params = job.params
        setup = {k: params[k] for k in ("corruptions", "severities", "limit", "seed")}
        return {**setup, "computed": False, "rows": None}
    return found


@router.post("/robustness", response_model=RobustnessAnswer, responses=JOB_START)
def start_robustness(jobs: JobsDep, job: RobustnessJob) -> Any:
    """Start the sweep (202 with the job; the same job for the same parameters), or answer the
    stored table (200); 429 when the job queue is full."""
    return jobs.start(job)
