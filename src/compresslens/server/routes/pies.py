"""PIE view: Pruning (Compression) Identified Exemplars of two model populations.

The answer is an aggregate per level (PIE count and share, accuracy on PIEs and the rest,
per-class disparate impact) plus ONE page of the PIE gallery of one level, never every PIE of
every level: a level at 95% sparsity has thousands. The reports of a query are kept in a small
in-memory cache so that paging through the gallery does not recompute them (about a second on
the demo workspace), the facade's in-memory cache (`workspace.array_cache`); the key holds the
resolved models and their metrics, so a model that is added or re-evaluated gives a fresh report.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from compresslens.jsonable import jsonable
from compresslens.server.routes.deps import WorkspaceDep
from compresslens.workspace import Workspace
from compresslens.workspace.array_cache import ARRAYS

router = APIRouter(tags=["pies"])

GallerySort = Literal["instance", "baseline_vote", "compressed_vote"]
ROW_BYTES = 400  # about what one PIE row of a report holds (a dict of ~8 small values)


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
    baseline: Annotated[str, Query(min_length=1, description="selector: the baseline population")],
    compressed: Annotated[str, Query(min_length=1, description="selector: compressed models")],
    by: Annotated[
        str | None, Query(min_length=1, description="split the compressed by this op parameter")
    ] = None,
    dataset: Annotated[str | None, Query(min_length=1)] = None,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    correction: Literal["none", "bh"] = "none",
    level: Annotated[
        str | None, Query(min_length=1, description="the level whose PIEs the gallery pages")
    ] = None,
    label: Annotated[
        str | None, Query(min_length=1, description="gallery: only PIEs of this true class")
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
    reports = _cached_reports(
        ws, baseline, compressed, by, dataset, alpha=alpha, correction=correction
    )
    shown = _gallery_level(reports, by, level)
    return jsonable(
        {
            "by": by,
            "dataset": reports[0]["dataset"],
            "baseline": reports[0]["baseline"],
            "class_names": [row["class"] for row in reports[0]["classes"]],
            "levels": [_level_aggregate(report) for report in reports],
            "warnings": list(dict.fromkeys(m for report in reports for m in report["warnings"])),
            "gallery": _gallery_page(
                reports[shown], by, label, sort, descending, offset=offset, limit=limit
            ),
        }
    )


def _cached_reports(
    ws: Workspace,
    baseline: str,
    compressed: str,
    by: str | None,
    dataset: str | None,
    *,
    alpha: float,
    correction: str,
) -> list[dict[str, Any]]:
    """The per-level reports of a query, computed once per (models, metrics, options)."""
    chosen = (ws.select(baseline), ws.select(compressed))  # a clear 404 for an unknown selector
    models_key = tuple(
        tuple((m.id, repr(sorted(m.metrics.items()))) for m in group) for group in chosen
    )
    key = (id(ws), str(ws.location), models_key, by, dataset, alpha, correction)
    return ARRAYS.get(
        ("pies", key),
        lambda: _reports(ws, chosen, by, dataset, alpha, correction),
        lambda reports: ROW_BYTES * sum(1 + len(report["pies"]) for report in reports),
    )


def _reports(
    ws: Workspace,
    chosen: tuple[list[Any], list[Any]],
    by: str | None,
    dataset: str | None,
    alpha: float,
    correction: str,
) -> list[dict[str, Any]]:
    base_ids, comp_ids = ([m.id for m in group] for group in chosen)
    if by is None:
        report = ws.pies(base_ids, comp_ids, dataset, alpha=alpha, correction=correction)
        return [{"level": None, **report}]
    return ws.pies_by_level(base_ids, comp_ids, by, dataset, alpha=alpha, correction=correction)


def _level_aggregate(report: dict[str, Any]) -> dict[str, Any]:
    """What the charts and the class table need of one level: no per-instance rows."""
    return {
        "level": report["level"],
        "key": level_key(report["level"]),
        "compressed": report["compressed"],
        "summary": report["summary"],
        "impacted_classes": report["impacted_classes"],
        "classes": report["classes"],
        "warnings": report["warnings"],
    }


def _gallery_level(reports: list[dict[str, Any]], by: str | None, level: str | None) -> int:
    """Index of the level the gallery pages: the one named, else the last (most compressed)."""
    if level is None:
        return len(reports) - 1
    values = [r["level"][by] if by and r["level"] else None for r in reports]
    for index, value in enumerate(values):
        if value is not None and _is_level(value, level):
            return index
    known = ", ".join(str(v) for v in values if v is not None) or "none (no `by` given)"
    raise HTTPException(
        status_code=400, detail=f"no level {level!r} of {by!r}; the levels are: {known}"
    )


def level_key(level: dict[str, Any] | None) -> str:
    """The text that names a level in `?level=` (Python's str() of its value; "" without `by`),
    so a client addresses levels without imitating str()."""
    return "" if not level else str(next(iter(level.values())))


def _is_level(value: Any, text: str) -> bool:
    """A level named in a URL: by its text, or a number by value (JavaScript writes 1.0 as 1)."""
    if str(value) == text:
        return True
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return float(text) == value
    except ValueError:
        return False


def _gallery_page(
    report: dict[str, Any],
    by: str | None,
    label: str | None,
    sort: GallerySort,
    descending: bool,
    *,
    offset: int,
    limit: int,
) -> dict[str, Any]:
    """One page of a level's PIEs, optionally of one true class, in the chosen order."""
    rows = report["pies"]
    if label is not None:
        names = [row["class"] for row in report["classes"]]
        if label not in names:
            raise HTTPException(
                status_code=400, detail=f"no class {label!r}; the classes are: {', '.join(names)}"
            )
        rows = [row for row in rows if row["label"] == label]
    rows = sorted(rows, key=lambda row: (row[sort], row["instance"]), reverse=descending)
    return {
        "level": report["level"][by] if by and report["level"] else None,
        "level_key": level_key(report["level"]),
        "label": label,
        "sort": sort,
        "descending": descending,
        "total": len(rows),
        "offset": offset,
        "limit": limit,
        "rows": rows[offset : offset + limit],
    }
