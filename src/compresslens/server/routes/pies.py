"""PIE view: Pruning (Compression) Identified Exemplars of two model populations.

The answer is an aggregate per level (PIE count and share, accuracy on PIEs and the rest,
per-class disparate impact) plus ONE page of the PIE gallery of one level, never every PIE of
every level: a level at 95% sparsity has thousands. It is `Workspace.pies_view`'s answer (which
keeps the reports in memory, so paging is cheap); an unknown level or class is a 400.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from compresslens.server.routes.deps import KEY_LENGTH, SELECTOR_LENGTH, WorkspaceDep

router = APIRouter(tags=["pies"])

GallerySort = Literal["instance", "baseline_vote", "compressed_vote"]


class GalleryPage(BaseModel):
    level: Any = Field(description="the level of `by` the page shows (null without `by`)")
    level_key: str = Field(description="the level as `?level=` names it")
    label: str | None
    sort: str
    descending: bool
    total: int
    offset: int
    limit: int
    rows: list[dict[str, Any]] = Field(description="per PIE: instance, label, votes")


class PiesAnswer(BaseModel):
    """Per level of `by` the PIE aggregates, and one page of one level's PIE gallery."""

    model_config = ConfigDict(extra="allow")
    by: str | None
    dataset: str
    baseline: list[str] = Field(description="the baseline models' names")
    class_names: list[str]
    levels: list[dict[str, Any]]
    warnings: list[str]
    gallery: GalleryPage


@router.get("/pies", response_model=PiesAnswer)
def pies(
    ws: WorkspaceDep,
    baseline: Annotated[
        str,
        Query(
            min_length=1,
            max_length=SELECTOR_LENGTH,
            description="selector: the baseline population",
        ),
    ],
    compressed: Annotated[
        str,
        Query(min_length=1, max_length=SELECTOR_LENGTH, description="selector: compressed models"),
    ],
    by: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=KEY_LENGTH,
            description="split the compressed by this op parameter",
        ),
    ] = None,
    dataset: Annotated[str | None, Query(min_length=1, max_length=KEY_LENGTH)] = None,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    correction: Literal["none", "bh"] = "none",
    level: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=KEY_LENGTH,
            description="the level whose PIEs the gallery pages",
        ),
    ] = None,
    label: Annotated[
        str | None,
        Query(
            min_length=1, max_length=KEY_LENGTH, description="gallery: only PIEs of this true class"
        ),
    ] = None,
    sort: Annotated[GallerySort, Query(description="gallery order")] = "instance",
    descending: bool = False,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 40,
) -> dict[str, Any]:
    """One report per level of `by` (or one for the whole selection) and a gallery page.

    The gallery shows `level` (by default the last level, the most compressed one); its rows
    give each PIE's true label, the modal label of both populations and their vote fractions.
    """
    return ws.pies_view(
        baseline,
        compressed,
        by,
        dataset,
        alpha=alpha,
        correction=correction,
        level=level,
        label=label,
        sort=sort,
        descending=descending,
        offset=offset,
        limit=limit,
    )
