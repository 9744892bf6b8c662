"""Behaviour view: a base against one model (summary, classes, subgroups, a page of
instances, transitions), against up to 50 models at once (/behaviours), calibration curves
and the pairwise agreement of a selection. Each route is one call of
`compresslens.workspace.behaviours`; this module only speaks HTTP.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from compresslens.server.arrow import arrow_response
from compresslens.server.routes.deps import ARROW_ANSWER, KEY_LENGTH, SELECTOR_LENGTH, WorkspaceDep
from compresslens.workspace import behaviours as views
from compresslens.workspace.behaviours import EXCESS_MEANING, FLIP_FILTERS, SORT_KEYS

router = APIRouter(tags=["behaviour"])

FlipFilter = Literal[FLIP_FILTERS]  # type: ignore[valid-type]
SortKey = Literal[SORT_KEYS]  # type: ignore[valid-type]
MAX_BATCH_MODELS = 50

EXCESS_DESCRIPTION = (
    "the direction of a significant excess change (delta − the model's overall change, "
    "two-sided bootstrap test at p ≤ 0.05): "
    + "; ".join(f'"{word}" = {meaning}' for word, meaning in EXCESS_MEANING.items())
    + "; null when not significant"
)


class GroupChange(BaseModel):
    """One group's accuracy change versus the base (null where the group is empty)."""

    count: int
    base_accuracy: float | None
    accuracy: float | None
    delta: float | None
    delta_low: float | None = Field(description="95% bootstrap interval of delta")
    delta_high: float | None
    excess_delta: float | None = Field(description="delta − the model's overall change")
    p_value: float | None = Field(description="two-sided p of excess_delta ≠ 0")
    p_adjusted: float | None = Field(
        description="p_value after Benjamini–Hochberg over the groups of this list"
    )
    excess: Literal["loss", "gain"] | None = Field(description=EXCESS_DESCRIPTION)


class ClassChange(GroupChange):
    model_config = ConfigDict(populate_by_name=True)
    class_name: str = Field(alias="class")


class SubgroupChange(GroupChange):
    value: str = Field(description="the attribute's value")


class CompareAnswer(BaseModel):
    summary: dict[str, Any]
    per_class: list[ClassChange]
    per_subgroup: dict[str, list[SubgroupChange]]


class ModelName(BaseModel):
    id: str
    name: str


class ModelBehaviour(BaseModel):
    model: ModelName
    summary: dict[str, Any]
    per_class: list[ClassChange]
    per_subgroup: dict[str, list[SubgroupChange]]


class BehavioursAnswer(BaseModel):
    base: ModelName
    dataset: str
    class_names: list[str]
    n_boot: int
    models: list[ModelBehaviour]


class InstancePage(BaseModel):
    """One page of the per-instance table; each row maps `columns` to values."""

    base: str
    model: str
    dataset: str
    class_names: list[str]
    total: int = Field(description="rows kept by the filter, over all pages")
    offset: int
    limit: int
    sort: str
    columns: list[str]
    rows: list[dict[str, Any]]


class TransitionsAnswer(BaseModel):
    base: ModelName
    model: ModelName
    dataset: str
    class_names: list[str]
    matrix: list[list[int]] = Field(description="[C, C]: row = base class, column = model's")


class Reliability(BaseModel):
    """A 15-bin reliability curve: per bin its count, accuracy and mean confidence."""

    edges: list[float]
    count: list[int]
    accuracy: list[float | None]
    mean_confidence: list[float | None]


class ModelCalibration(BaseModel):
    id: str
    name: str
    ece: float | None
    reliability: Reliability


class CalibrationAnswer(BaseModel):
    dataset: str
    base: ModelCalibration
    models: list[ModelCalibration]


class AgreementAnswer(BaseModel):
    dataset: str
    models: list[str]
    matrix: list[list[float | None]] = Field(description="[M, M] share of equal predictions")


@router.get("/compare", response_model=CompareAnswer)
def compare(
    ws: WorkspaceDep,
    base: Annotated[
        str, Query(min_length=1, max_length=KEY_LENGTH, description="base model id or name")
    ],
    model: Annotated[
        str, Query(min_length=1, max_length=KEY_LENGTH, description="compared model id or name")
    ],
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
    n_boot: Annotated[int, Query(ge=1, le=10_000, description="bootstrap resamples")] = 1000,
) -> dict[str, Any]:
    """Headline changes, per-class and per-subgroup accuracy change with 95% intervals."""
    return ws.compare_view(base, model, dataset, n_boot=n_boot)


@router.get("/compare/instances", response_model=InstancePage, responses=ARROW_ANSWER)
def compare_instances(
    ws: WorkspaceDep,
    request: Request,
    base: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    model: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
    flip: Annotated[FlipFilter, Query(description="keep only this flip kind")] = "any",
    label: Annotated[int | None, Query(ge=0, description="keep only this true class")] = None,
    sort: Annotated[SortKey, Query(description="column to sort by")] = "instance",
    descending: bool = True,
    by_magnitude: Annotated[bool, Query(description="sort by |value|")] = True,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    format: Annotated[
        Literal["json", "arrow"],
        Query(description="arrow: every filtered, sorted row as an Arrow IPC stream"),
    ] = "json",
) -> Any:
    """One page of the per-instance table, filtered by flip kind and sorted by a column.

    `format=arrow` answers the whole filtered, sorted table (no paging: it is the path for
    large arrays) as columns in an Arrow IPC stream (`compresslens.server.arrow`); giving
    `offset` or `limit` with it is a 400 rather than a silently ignored parameter.
    """
    if format == "arrow":
        paging = [p for p in ("offset", "limit") if p in request.query_params]
        if paging:
            raise HTTPException(
                status_code=400,
                detail=f"format=arrow returns every filtered row; drop {' and '.join(paging)}",
            )
    found = ws.instances(
        base,
        model,
        dataset,
        flip=flip,
        label=label,
        sort=sort,
        descending=descending,
        by_magnitude=by_magnitude,
    )
    if format == "arrow":
        setup = {"sort": sort, "descending": descending, "by_magnitude": by_magnitude}
        return arrow_response(
            found.columns, {**found.context, **setup, "flip": flip, "label": label}
        )
    return found.page(offset, limit, sort=sort)


@router.get("/compare/transitions", response_model=TransitionsAnswer)
def compare_transitions(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    model: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
) -> dict[str, Any]:
    """Counts [C, C]: row = the base's predicted class, column = the model's."""
    return ws.transitions(base, model, dataset)


ModelList = Annotated[
    str,
    Query(
        min_length=1,
        max_length=SELECTOR_LENGTH,
        description=f"comma-separated model ids or names (≤ {MAX_BATCH_MODELS})",
    ),
]


def model_refs(models: str) -> list[str]:
    """The comma list as distinct references in order; 422 when empty or over the cap."""
    refs = views.model_refs(models)
    if not refs:
        raise HTTPException(status_code=422, detail="models: give at least one model id or name")
    if len(refs) > MAX_BATCH_MODELS:
        raise HTTPException(
            status_code=422,
            detail=f"models: at most {MAX_BATCH_MODELS} models per request, got {len(refs)}",
        )
    return refs


@router.get("/behaviours", response_model=BehavioursAnswer)
def behaviours(
    ws: WorkspaceDep,
    base: Annotated[
        str, Query(min_length=1, max_length=KEY_LENGTH, description="base model id or name")
    ],
    models: ModelList,
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
    n_boot: Annotated[int, Query(ge=1, le=2000, description="bootstrap resamples")] = 200,
) -> JSONResponse:
    """Per model versus the base: {model, summary, per_class, per_subgroup}, in one pass.

    The same numbers as /api/compare for each model (deltas exactly; the bootstrap draws of
    all models come from one stream, so intervals can differ by Monte Carlo noise). Answered
    as a JSONResponse: the model documents the answer without validating 50 models' rows.
    """
    return JSONResponse(ws.behaviours(base, model_refs(models), dataset, n_boot=n_boot))


@router.get("/compare/calibration", response_model=CalibrationAnswer)
def compare_calibration(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)],
    models: ModelList,
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
) -> JSONResponse:
    """ECE and 15-bin reliability curves of the base and each model (Comparison.calibration's
    numbers, from the confidence, prediction and label columns only)."""
    return JSONResponse(ws.calibration(base, model_refs(models), dataset))


@router.get("/agreement", response_model=AgreementAnswer)
def agreement(
    ws: WorkspaceDep,
    models: Annotated[
        str, Query(min_length=1, max_length=SELECTOR_LENGTH, description="model selector")
    ],
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
) -> JSONResponse:
    """The pairwise prediction-agreement matrix of the selected models (ws.agreement's
    answer, from the prediction columns only)."""
    return JSONResponse(ws.agreement(models, dataset))
