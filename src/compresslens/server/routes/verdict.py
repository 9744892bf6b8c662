"""The no-regression verdict of a compressed model (or population) against its base: the
same record as `Workspace.verdict` and `compresslens verdict --json`; this module only
speaks HTTP. Unknown models are a 404, bad tolerances a 422/400.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from compresslens.server.routes.deps import KEY_LENGTH, SELECTOR_LENGTH, WorkspaceDep

router = APIRouter(tags=["verdict"])

Call = Literal["pass", "regression", "inconclusive"]


class VerdictRow(BaseModel):
    """One tested group against its tolerance; differences and bounds in accuracy points."""

    family: str = Field(description='"overall", "class", or the attribute\'s name')
    group: str
    count: int
    base_accuracy: float | None
    accuracy: float | None
    difference_pts: float | None = Field(description="model − base, accuracy points")
    lower_pts: float | None = Field(description="one-sided lower bound at 1 − alpha")
    upper_pts: float | None = Field(description="one-sided upper bound at 1 − alpha")
    margin_pts: float = Field(description="the tolerated drop δ (points)")
    p_no_worse: float | None = Field(description='one-sided p of "the drop is ≥ δ"')
    lost: int | None = Field(description="correct → incorrect instances (null across seeds)")
    gained: int | None
    mcnemar_p: float | None = Field(description="McNemar exact two-sided p, raw")
    p_adjusted: float | None = Field(description="mcnemar_p after Benjamini–Hochberg over groups")
    call: Call


class McNemar(BaseModel):
    lost: int
    gained: int
    p_value: float
    mid_p: float


class BootstrapInterval(BaseModel):
    """Paired bootstrap of the accuracy difference (fraction), two-sided at 1 − 2·alpha."""

    difference: float | None
    low: float | None
    high: float | None


class VerdictAnswer(BaseModel):
    verdict: Literal["equivalent", "regression", "inconclusive"]
    passed: bool = Field(description="true only for equivalent (the CLI exits 0)")
    meaning: str
    mode: Literal["instances", "seeds-paired", "seeds-welch"]
    base: list[str]
    model: list[str]
    dataset: str
    alpha: float
    confidence: float
    max_drop: float
    max_class_drop: float
    overall: VerdictRow
    rows: list[VerdictRow] = Field(description="each class, then each subgroup value")
    nfr: float | None = Field(description="negative flip rate (Yan et al.): lost / all")
    mcnemar: McNemar | None
    bootstrap: BootstrapInterval | None


@router.get("/verdict", response_model=VerdictAnswer)
def verdict(
    ws: WorkspaceDep,
    base: Annotated[
        str,
        Query(
            min_length=1,
            max_length=SELECTOR_LENGTH,
            description="base model id or name, or a selector (a population of seeds)",
        ),
    ],
    model: Annotated[
        str,
        Query(
            min_length=1,
            max_length=SELECTOR_LENGTH,
            description="compressed model id or name, or a selector",
        ),
    ],
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
    max_drop: Annotated[float, Query(ge=0, le=100, description="δ overall, points")] = 0.5,
    max_class_drop: Annotated[
        float, Query(ge=0, le=100, description="δ_c per class or subgroup, points")
    ] = 2.0,
    alpha: Annotated[float, Query(ge=1e-9, lt=0.5)] = 0.05,
) -> dict[str, Any]:
    """Is a drop beyond δ overall (or δ_c in any class or subgroup) excluded at 1 − alpha?"""
    result = ws.verdict(
        base, model, dataset, max_drop=max_drop, max_class_drop=max_class_drop, alpha=alpha
    )
    return result.to_dict()
