"""The Pareto frontier of the workspace's models under chosen metrics: `Workspace.pareto`.

Cheap (the stored metrics of every model, no model is run), so it answers at once; an
unknown metric or dataset is a 404 naming what exists, a bad direction a 400.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from compresslens.server.routes.deps import KEY_LENGTH, WorkspaceDep

router = APIRouter(tags=["pareto"])


class ParetoObjective(BaseModel):
    objective: str = Field(description="as requested, e.g. 'nfr' or 'accuracy:max'")
    metric: str = Field(description="the metric's full name, e.g. negative_flip_rate")
    direction: str = Field(description="min or max")
    group: str | None = Field(description="'model' for model metrics, else the dataset's name")


class ParetoModel(BaseModel):
    id: str
    name: str
    values: dict[str, float | None] = Field(description="metric → value (null: missing)")


class ExcludedModel(ParetoModel):
    missing: list[str] = Field(description="the objectives this model has no value for")


class ParetoAnswer(BaseModel):
    """The frontier (best first on the first objective), the dominated and the excluded."""

    dataset: str | None = Field(description="the dataset the dataset metrics were read on")
    objectives: list[ParetoObjective]
    frontier: list[ParetoModel]
    dominated: list[ParetoModel]
    excluded: list[ExcludedModel]


@router.get("/pareto", response_model=ParetoAnswer)
def pareto(
    ws: WorkspaceDep,
    objective: Annotated[
        list[str],
        Query(
            min_length=2,
            max_length=16,
            description="metric[:min|max], repeated (aliases: bytes, nfr, latency, kld, worst, …)",
        ),
    ],
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
) -> ParetoAnswer:
    return ParetoAnswer.model_validate(ws.pareto(objective, dataset))
