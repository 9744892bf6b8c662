"""Flip-to-layer attribution: which modules of a compressed model cause its flips.

One re-run of the flipped instances per module (and per greedy step) takes a while, so the
endpoint follows the long-analysis protocol of `compresslens.server.jobs` (POST starts it;
GET answers 202 with progress, then 200); the result is stored in the workspace, so asking
again, even after a restart, answers at once.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from compresslens.jsonable import jsonable
from compresslens.server.jobs import JobSpec
from compresslens.server.routes.deps import (
    JOB_LOOKUP,
    JOB_START,
    KEY_LENGTH,
    JobsDep,
    WorkspaceDep,
)

router = APIRouter(tags=["attribution"])


class AttributionRow(BaseModel):
    """One module (or group) restored alone to the base's weights."""

    module: str = Field(description="module name, block, or kind:<kind> group")
    members: list[str] = Field(description="the modules restored together")
    parameters: int = Field(description="the base's parameters in the group")
    restorable: bool
    reason: str | None = Field(description="why a member cannot be restored (shapes, int8)")
    unchanged: bool = Field(description="holds the base's values already: not re-run")
    undone: int = Field(description="flips whose prediction returns to the base's")
    undone_share: float = Field(description="undone / flips")
    created: int = Field(description="control instances whose prediction leaves the base's")
    undone_by_class: dict[str, int] = Field(description="undone flips per label")


class AttributionStep(BaseModel):
    """The greedy set after adding `module`."""

    module: str
    undone: int
    cumulative_share: float
    created: int


class AttributionClass(BaseModel):
    label: int
    flips: int
    greedy_undone: int = Field(description="of this class's flips, undone by the greedy set")


class AttributionCost(BaseModel):
    flips: int = Field(description="flipped instances re-run per evaluation")
    control: int = Field(description="unchanged instances re-run per evaluation")
    evaluations: int
    forward_instances: int = Field(description="instances run in all")
    seconds: float
    seconds_per_group: float
    seconds_per_flip: float


class AttributionContext(BaseModel):
    base: str
    model: str
    dataset: str
    flip_kind: str
    class_: int | None = Field(alias="class")
    class_names: list[str]
    groups: str


class AttributionAnswer(BaseModel):
    """Workspace.attribute_flips: the ranked groups, the greedy set, per class, the cost."""

    flips: int
    not_reproduced: int = Field(description="selected flips the model does not repeat on re-run")
    target: float
    rows: list[AttributionRow] = Field(description="most flips undone first")
    greedy: list[AttributionStep]
    reached: bool = Field(description="whether the greedy set undoes at least target")
    by_class: list[AttributionClass]
    cost: AttributionCost
    context: AttributionContext


def attribution_job(
    ws: WorkspaceDep,
    base: Annotated[
        str, Query(min_length=1, max_length=KEY_LENGTH, description="the base model (id or name)")
    ],
    model: Annotated[
        str, Query(min_length=1, max_length=KEY_LENGTH, description="the compressed model")
    ],
    dataset: Annotated[
        str | None,
        Query(min_length=1, max_length=KEY_LENGTH, description="default: the shared one"),
    ] = None,
    flips: Annotated[
        Literal["correct_to_incorrect", "any"], Query(description="which changed instances")
    ] = "correct_to_incorrect",
    class_: Annotated[
        str | None,
        Query(
            alias="class",
            min_length=1,
            max_length=KEY_LENGTH,
            description="only instances of this class (id or name)",
        ),
    ] = None,
    groups: Annotated[
        Literal["modules", "blocks", "kinds"], Query(description="what is restored at a time")
    ] = "modules",
    target: Annotated[float, Query(gt=0, le=1, description="share the greedy set must undo")] = 0.9,
    control: Annotated[int, Query(ge=0, le=10_000, description="unchanged instances re-run")] = 256,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> JobSpec:
    """The attribution a request asks for, checked (4xx before any job exists)."""
    base_info, model_info = ws.model(base), ws.model(model)
    run = partial(
        ws.attribute_flips,
        base_info.id,
        model_info.id,
        dataset,
        flips=flips,
        class_=class_,
        groups=groups,
        target=target,
        control=control,
        seed=seed,
    )
    key = {
        "base": base_info.id,
        "model": model_info.id,
        "dataset": dataset,
        "flips": flips,
        "class": class_,
        "groups": groups,
        "target": target,
        "control": control,
        "seed": seed,
    }
    return JobSpec(
        "attribution",
        key,
        stored=lambda: jsonable(run(cached_only=True).to_json()),
        compute=lambda report: jsonable(run(progress=report).to_json()),
        message=f"flips of {model_info.name} attributed to its modules",
    )


AttributionJob = Annotated[JobSpec, Depends(attribution_job)]


@router.get("/attribution", response_model=AttributionAnswer, responses=JOB_LOOKUP)
def attribution(jobs: JobsDep, job: AttributionJob) -> Any:
    """Workspace.attribute_flips as JSON when stored; 202 with progress while it runs; 409
    when neither (POST to start). Starts nothing."""
    return jobs.lookup(job)


@router.post("/attribution", response_model=AttributionAnswer, responses=JOB_START)
def start_attribution(jobs: JobsDep, job: AttributionJob) -> Any:
    """Start the attribution (202; the same job for the same parameters), or answer it
    stored (200); 429 when the job queue is full."""
    return jobs.start(job)
