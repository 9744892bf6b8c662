"""Selection details: what differs between the selected models' provenance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from compresslens.server.routes.deps import SELECTOR_LENGTH, WorkspaceDep

router = APIRouter(tags=["details"])


class ModelLink(BaseModel):
    id: str
    name: str


class Step(BaseModel):
    """One operation of a model's lineage after the shared ancestor, in its slot."""

    slot: str = Field(description='"origin", an operation family, or "family #k"')
    op: str
    params: dict[str, Any]
    seed: int | None
    teacher: str | None
    model_id: str
    model_name: str


class Level(BaseModel):
    label: str
    ids: list[str]


class Variable(BaseModel):
    """A way the models differ; variables splitting them alike are merged into `aliases`."""

    key: str
    label: str
    kind: str = Field(description="pipeline, presence, type, param or origin")
    slot: str
    levels: list[Level] = Field(description="in display order: none/no first, numbers up")
    value_of: dict[str, str] = Field(description="model id → level label")
    aliases: list[str]


class SharedFact(BaseModel):
    label: str
    value: str


class Differences(BaseModel):
    ancestor: ModelLink | None = Field(description="the deepest model all lineages go through")
    chains: dict[str, list[Step]] = Field(description="per model id: steps after the ancestor")
    slots: list[str]
    variables: list[Variable]
    shared: list[SharedFact]
    varying: dict[str, list[str]] = Field(description="per slot: parameters that differ")


@router.get("/differences", response_model=Differences)
def differences(
    ws: WorkspaceDep,
    models: Annotated[
        str,
        Query(
            min_length=1, max_length=SELECTOR_LENGTH, description="model selector (ids, names, …)"
        ),
    ],
) -> dict[str, Any]:
    """What differs between the models' provenance (2+ for anything to differ)."""
    return ws.differences(models)
