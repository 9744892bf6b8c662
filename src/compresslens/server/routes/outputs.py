"""A model's stored per-instance outputs on one dataset: JSON pages or one Arrow stream.

`Workspace.output_table`'s answer: the columns `Workspace.outputs` reads back (instance,
label, prediction, confidence, true_prob, loss, margin, top_classes, top_probs) plus
`correct` (prediction == label) after label and prediction; `logits=true` adds the stored
logits (float16 on disk, float32 here) when the evaluation kept them. JSON answers a page of
rows (`offset`, `limit` ≤ MAX_PAGE); `format=arrow` answers every row as an Arrow IPC
stream, 2-D columns (top_classes, top_probs, logits) as fixed-size lists.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel

from compresslens.server.arrow import arrow_response
from compresslens.server.routes.deps import ARROW_ANSWER, KEY_LENGTH, WorkspaceDep

router = APIRouter(tags=["outputs"])

MAX_PAGE = 1000


class OutputsPage(BaseModel):
    """One page of a model's per-instance outputs; each row maps `columns` to values."""

    model: str
    model_id: str
    dataset: str
    class_names: list[str]
    total: int
    offset: int
    limit: int
    columns: list[str]
    rows: list[dict[str, Any]]


@router.get("/models/{key}/outputs", response_model=OutputsPage, responses=ARROW_ANSWER)
def model_outputs(
    key: Annotated[str, Path(max_length=KEY_LENGTH)],
    ws: WorkspaceDep,
    request: Request,
    dataset: Annotated[
        str, Query(min_length=1, max_length=KEY_LENGTH, description="dataset id or name")
    ],
    logits: Annotated[bool, Query(description="add the stored logits [C] per instance")] = False,
    offset: Annotated[int, Query(ge=0, description="JSON only: first row")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="JSON only: rows")] = 100,
    format: Annotated[
        Literal["json", "arrow"],
        Query(description="arrow: every row as an Arrow IPC stream"),
    ] = "json",
) -> Any:
    """Per-instance outputs of model `key` on `dataset`: a JSON page or the whole table."""
    if format == "arrow":
        paging = [p for p in ("offset", "limit") if p in request.query_params]
        if paging:
            raise HTTPException(
                status_code=400,
                detail=f"format=arrow returns every row; drop {' and '.join(paging)}",
            )
    table = ws.output_table(key, dataset, logits=logits)
    if format == "arrow":
        return arrow_response(table.columns, table.context)
    return table.page(offset, limit)
