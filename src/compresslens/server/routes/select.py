"""The selector language, answered by the server: the front end sends selector strings and
gets ids back (no copy of the language in TypeScript)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from compresslens.server.routes.deps import SELECTOR_LENGTH, WorkspaceDep

router = APIRouter(tags=["models"])


class Selection(BaseModel):
    selector: str
    ids: list[str] = Field(description="the chosen models, in the selector's order")
    datasets: list[str] = Field(description="names of the datasets all of them are evaluated on")


@router.get("/select", response_model=Selection)
def select(
    ws: WorkspaceDep,
    selector: Annotated[
        str,
        Query(
            min_length=1,
            max_length=SELECTOR_LENGTH,
            description="ids/names, tag:T, op:NAME, source:S, key=value; & and ,",
        ),
    ],
) -> dict[str, Any]:
    """The models a selector picks (404 naming it when none does) and their shared datasets."""
    return ws.selection(selector)
