"""Robustness view: accuracy of models under common corruptions × severities."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from compresslens.analysis.robustness import CORRUPTIONS, SEVERITIES
from compresslens.jsonable import jsonable
from compresslens.server.routes.deps import workspace_of
from compresslens.workspace import Workspace

router = APIRouter(tags=["robustness"])
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


def _names(value: str | None, default: tuple[str, ...]) -> list[str]:
    return list(default) if value is None else [v.strip() for v in value.split(",") if v.strip()]


@router.get("/robustness")
def robustness(
    ws: WorkspaceDep,
    models: Annotated[str, Query(min_length=1, description="model selector")],
    dataset: Annotated[str, Query(min_length=1, description="an image dataset")],
    base: Annotated[str | None, Query(min_length=1)] = None,
    corruptions: Annotated[
        str | None, Query(min_length=1, description="comma-separated corruption names")
    ] = None,
    severities: Annotated[
        str | None, Query(min_length=1, description="comma-separated severities 1-5")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="first N instances")] = 500,
    seed: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Models × corruption × severity: accuracy and drop versus the base (cached metrics)."""
    chosen = _names(corruptions, CORRUPTIONS)
    unknown = sorted(set(chosen) - set(CORRUPTIONS))
    if unknown or not chosen:
        raise HTTPException(
            status_code=422,
            detail=f"unknown corruption(s) {unknown}; choose from {', '.join(CORRUPTIONS)}",
        )
    try:
        levels = [int(s) for s in _names(severities, tuple(map(str, SEVERITIES)))]
    except ValueError as exc:
        raise HTTPException(status_code=422, detail="severities are integers 1-5") from exc
    if not levels or any(s not in SEVERITIES for s in levels):
        raise HTTPException(status_code=422, detail="severities are integers 1-5")
    rows = ws.robustness(
        models, dataset, base=base, corruptions=chosen, severities=levels, limit=limit, seed=seed
    )
    return jsonable(
        {"corruptions": chosen, "severities": levels, "limit": limit, "seed": seed, "rows": rows}
    )
