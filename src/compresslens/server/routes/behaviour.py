"""Behaviour view: a base against one model (summary, classes, subgroups, a page of
instances) and the pairwise agreement of a selection."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query

from compresslens.comparison import FLIP_KINDS
from compresslens.jsonable import jsonable
from compresslens.server.routes.deps import workspace_of
from compresslens.workspace import Workspace

router = APIRouter(tags=["behaviour"])
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]

FlipFilter = Literal["any", "changed", "unchanged", *FLIP_KINDS]  # type: ignore[valid-type]
SortKey = Literal[
    "instance",
    "kl",
    "js",
    "true_prob_change",
    "margin_change",
    "confidence",
    "base_confidence",
]


@router.get("/compare")
def compare(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1, description="base model id or name")],
    model: Annotated[str, Query(min_length=1, description="compared model id or name")],
    dataset: Annotated[str | None, Query(min_length=1)] = None,
    n_boot: Annotated[int, Query(ge=0, le=10_000, description="bootstrap resamples")] = 1000,
) -> dict[str, Any]:
    """Headline changes, per-class and per-subgroup accuracy change with 95% intervals."""
    comparison = ws.compare(base, model, dataset, n_boot=n_boot)
    return jsonable(
        {
            "summary": comparison.summary(),
            "per_class": comparison.per_class(),
            "per_subgroup": comparison.per_subgroup(),
        }
    )


@router.get("/compare/instances")
def compare_instances(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1)],
    model: Annotated[str, Query(min_length=1)],
    dataset: Annotated[str | None, Query(min_length=1)] = None,
    flip: Annotated[FlipFilter, Query(description="keep only this flip kind")] = "any",
    label: Annotated[int | None, Query(ge=0, description="keep only this true class")] = None,
    sort: Annotated[SortKey, Query(description="column to sort by")] = "instance",
    descending: bool = True,
    by_magnitude: Annotated[bool, Query(description="sort by |value|")] = True,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """One page of the per-instance table, filtered by flip kind and sorted by a column."""
    comparison = ws.compare(base, model, dataset, n_boot=0)
    table = comparison.instances()
    if sort not in table:
        raise HTTPException(
            status_code=400,
            detail=f"cannot sort by {sort!r}: the evaluations kept no logits "
            f"(available: {', '.join(sorted(table))})",
        )
    keep = np.ones(table["instance"].shape, dtype=bool)
    if flip == "changed":
        keep &= table["flip"] != "unchanged"
    elif flip != "any":
        keep &= table["flip"] == flip
    if label is not None:
        keep &= table["label"] == label
    rows = np.flatnonzero(keep)
    if sort == "instance":
        order = rows[::-1] if descending else rows
    else:
        values = table[sort][rows].astype(float)
        if by_magnitude:
            values = np.abs(values)
        values = np.where(np.isnan(values), -np.inf if descending else np.inf, values)
        key = -values if descending else values
        order = rows[np.argsort(key, kind="stable")]
    page = order[offset : offset + limit]
    columns = list(table)
    return jsonable(
        {
            "base": comparison.base.name,
            "model": comparison.model.name,
            "dataset": comparison.dataset.name,
            "class_names": comparison.dataset.class_names,
            "total": int(rows.shape[0]),
            "offset": offset,
            "limit": limit,
            "sort": sort,
            "columns": columns,
            "rows": [{c: table[c][i] for c in columns} for i in page],
        }
    )


@router.get("/agreement")
def agreement(
    ws: WorkspaceDep,
    models: Annotated[str, Query(min_length=1, description="model selector")],
    dataset: Annotated[str | None, Query(min_length=1)] = None,
) -> dict[str, Any]:
    """The pairwise prediction-agreement matrix of the selected models."""
    return jsonable(ws.agreement(models, dataset))
