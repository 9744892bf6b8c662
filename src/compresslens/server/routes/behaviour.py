"""Behaviour view: a base against one model (summary, classes, subgroups, a page of
instances, transitions), against up to 50 models at once (/behaviours), calibration curves
and the pairwise agreement of a selection.

The aggregates over a selection (/behaviours, /compare/calibration, /agreement) read only the
outputs columns they need (prediction; confidence and label for calibration), keep them in
one cache per (evaluation, column), and compute over the stacked [M, N] arrays at once.
"""

from __future__ import annotations

import bisect
import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select

from compresslens.analysis.behaviour_aggregates import (
    equality_agreement,
    reliability_batch,
    reliability_dicts,
)
from compresslens.analysis.behaviour_batch import Grouping, batch_rows, behaviour_batch, grouping_of
from compresslens.analysis.predictions import EXCESS_MEANING, pairwise_agreement
from compresslens.errors import IncompatibleDatasetError, NotFoundError
from compresslens.jsonable import jsonable
from compresslens.records import DatasetInfo
from compresslens.server.arrow import arrow_response
from compresslens.server.routes.deps import workspace_of
from compresslens.store.schema import Evaluation, Model
from compresslens.workspace import Workspace
from compresslens.workspace.comparison import FLIP_KINDS

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


@router.get("/compare", response_model=CompareAnswer)
def compare(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1, description="base model id or name")],
    model: Annotated[str, Query(min_length=1, description="compared model id or name")],
    dataset: Annotated[str | None, Query(min_length=1)] = None,
    n_boot: Annotated[int, Query(ge=1, le=10_000, description="bootstrap resamples")] = 1000,
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


@router.get("/compare/instances", response_model=None)
def compare_instances(
    ws: WorkspaceDep,
    request: Request,
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
    format: Annotated[
        Literal["json", "arrow"],
        Query(description="arrow: every filtered, sorted row as an Arrow IPC stream"),
    ] = "json",
) -> dict[str, Any] | Response:
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
    if format == "arrow":
        return arrow_response(
            {c: values[order] for c, values in table.items()},
            {
                "base": comparison.base.name,
                "model": comparison.model.name,
                "dataset": comparison.dataset.name,
                "class_names": comparison.dataset.class_names,
                "total": int(rows.shape[0]),
                "sort": sort,
                "descending": descending,
                "by_magnitude": by_magnitude,
                "flip": flip,
                "label": label,
            },
        )
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


# ------------------------------------------------------------------ one pair: transitions


@router.get("/compare/transitions")
def compare_transitions(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1)],
    model: Annotated[str, Query(min_length=1)],
    dataset: Annotated[str | None, Query(min_length=1)] = None,
) -> dict[str, Any]:
    """Counts [C, C]: row = the base's predicted class, column = the model's."""
    comparison = ws.compare(base, model, dataset, n_boot=1)
    return jsonable(
        {
            "base": {"id": comparison.base.id, "name": comparison.base.name},
            "model": {"id": comparison.model.id, "name": comparison.model.name},
            "dataset": comparison.dataset.name,
            "class_names": comparison.dataset.class_names,
            "matrix": comparison.transitions(),
        }
    )


# ------------------------------------------------------------------ many models at once

MAX_BATCH_MODELS = 50
ModelList = Annotated[
    str,
    Query(min_length=1, description=f"comma-separated model ids or names (≤ {MAX_BATCH_MODELS})"),
]


def model_refs(models: str) -> list[str]:
    """The comma list as distinct references in order; 422 when empty or over the cap."""
    refs = list(dict.fromkeys(r.strip() for r in models.split(",") if r.strip()))
    if not refs:
        raise HTTPException(status_code=422, detail="models: give at least one model id or name")
    if len(refs) > MAX_BATCH_MODELS:
        raise HTTPException(
            status_code=422,
            detail=f"models: at most {MAX_BATCH_MODELS} models per request, got {len(refs)}",
        )
    return refs


def resolve_models(ws: Workspace, refs: list[str]) -> list[tuple[str, str]]:
    """(id, name) per reference in one query; prefixes and unknown names go through ws.model."""
    with ws.store.db.reader() as session:
        statement = select(Model.id, Model.name).where(
            or_(Model.id.in_(refs), Model.name.in_(refs))
        )
        found = session.execute(statement).all()
    by_ref = {row.id: (row.id, row.name) for row in found}
    by_ref.update({row.name: (row.id, row.name) for row in found})
    result = []
    for ref in refs:
        if ref not in by_ref:
            info = ws.model(ref)  # NotFoundError (404) names the unknown reference
            by_ref[ref] = (info.id, info.name)
        result.append(by_ref[ref])
    return list(dict.fromkeys(result))


def output_artifacts(ws: Workspace, model_ids: list[str]) -> dict[tuple[str, str], str]:
    """The outputs artifact of every evaluation of these models, by (model id, dataset id)."""
    with ws.store.db.reader() as session:
        statement = select(
            Evaluation.model_id, Evaluation.dataset_id, Evaluation.outputs_artifact
        ).where(Evaluation.model_id.in_(model_ids))
        rows = session.execute(statement).all()
    return {(r.model_id, r.dataset_id): r.outputs_artifact for r in rows if r.outputs_artifact}


def batch_dataset(
    ws: Workspace, dataset: str | None, model_ids: list[str], artifacts: dict[tuple[str, str], str]
) -> DatasetInfo:
    """The named dataset, or the first one every model (base included) is evaluated on."""
    if dataset is not None:
        return ws.dataset(dataset)
    for info in ws.datasets():
        if all((m, info.id) in artifacts for m in model_ids):
            return info
    raise NotFoundError("no dataset has evaluations of the base and every model; name one")


class ArrayCache:
    """Arrays derived from content-addressed artifacts, kept up to a byte budget (LRU).

    An artifact never changes under its hash, so a cached array is never stale; this spares
    re-reading and re-hashing every model's outputs on each request.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._sizes: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def lookup(self, key: tuple[str, str]) -> Any | None:
        """The cached value (now the most recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: tuple[str, str], value: Any, nbytes: int) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            self._sizes[key] = nbytes
            while sum(self._sizes.values()) > self.max_bytes and len(self._items) > 1:
                old, _ = self._items.popitem(last=False)
                del self._sizes[old]

    def get(self, key: tuple[str, str], load: Callable[[], Any], size: Callable[[Any], int]) -> Any:
        value = self.lookup(key)
        if value is None:
            value = load()
            self.put(key, value, size(value))
        return value


ARRAYS = ArrayCache(max_bytes=256 << 20)


def class_dtype(num_classes: int) -> type[np.integer]:
    """The smallest integer type holding class ids: less memory and faster comparisons."""
    return np.int8 if num_classes <= 127 else np.int16 if num_classes <= 32_767 else np.int32


def outputs_columns(
    ws: Workspace, digest: str, columns: dict[str, type[np.generic]]
) -> dict[str, np.ndarray]:
    """Flat columns of a stored outputs table as the given dtypes, cached per (evaluation,
    column): what is not cached yet is read in one pass over the artifact."""
    keys = {c: (digest, f"{c}:{np.dtype(dtype).name}") for c, dtype in columns.items()}
    found = {c: ARRAYS.lookup(key) for c, key in keys.items()}
    missing = [c for c, value in found.items() if value is None]
    if missing:
        table = pq.read_table(io.BytesIO(ws.store.read_artifact(digest)), columns=missing)
        for c in missing:
            values = table.column(c).to_numpy().astype(columns[c])
            values.flags.writeable = False
            ARRAYS.put(keys[c], values, values.nbytes)
            found[c] = values
    return found


def outputs_column(ws: Workspace, digest: str, column: str, dtype: type[np.generic]) -> np.ndarray:
    """One flat column of a stored outputs table (read once, then cached)."""
    return outputs_columns(ws, digest, {column: dtype})[column]


def subgroup_groupings(ws: Workspace, info: DatasetInfo) -> dict[str, Grouping]:
    """Each per-instance attribute of the dataset as a grouping (computed once per dataset)."""

    def load() -> dict[str, Grouping]:
        attributes = ws.load_dataset(info.id).attributes
        return {name: grouping_of(values) for name, values in attributes.items()}

    return ARRAYS.get(
        (info.content_hash, "subgroups"),
        load,
        lambda groups: sum(g.codes.nbytes for g in groups.values()),
    )


def base_and_models(
    ws: Workspace, base: str, models: str, dataset: str | None
) -> tuple[tuple[str, str], list[tuple[str, str]], DatasetInfo, dict[tuple[str, str], str]]:
    """(id, name) of the base and of each listed model, the dataset, the outputs artifacts;
    404 naming the models not evaluated on the dataset."""
    refs = model_refs(models)
    base_ref = resolve_models(ws, [base])[0]
    chosen = resolve_models(ws, refs)
    ids = [base_ref[0], *(m for m, _ in chosen)]
    artifacts = output_artifacts(ws, ids)
    info = batch_dataset(ws, dataset, ids, artifacts)
    missing = [name for m, name in [base_ref, *chosen] if (m, info.id) not in artifacts]
    if missing:
        raise NotFoundError(
            f"{len(missing)} models are not evaluated on {info.name}: {', '.join(missing[:10])}"
        )
    return base_ref, chosen, info, artifacts


@router.get("/behaviours", response_model=BehavioursAnswer)
def behaviours(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1, description="base model id or name")],
    models: ModelList,
    dataset: Annotated[str | None, Query(min_length=1)] = None,
    n_boot: Annotated[int, Query(ge=1, le=2000, description="bootstrap resamples")] = 200,
) -> JSONResponse:
    """Per model versus the base: {model, summary, per_class, per_subgroup}, in one pass.

    The same numbers as /api/compare for each model (deltas exactly; the bootstrap draws of
    all models come from one stream, so intervals can differ by Monte Carlo noise). Answered
    as a JSONResponse: the model documents the answer without validating 50 models' rows.
    """
    (base_id, base_name), chosen, info, artifacts = base_and_models(ws, base, models, dataset)
    dtype = class_dtype(info.num_classes)
    base_digest = artifacts[(base_id, info.id)]
    labels = outputs_column(ws, base_digest, "label", dtype)
    base_pred = outputs_column(ws, base_digest, "prediction", dtype)
    preds = np.stack(
        [outputs_column(ws, artifacts[(m, info.id)], "prediction", dtype) for m, _ in chosen]
    )
    batch = behaviour_batch(
        labels,
        base_pred,
        preds,
        info.num_classes,
        subgroup_groupings(ws, info),
        n_boot=n_boot,
    )
    records = batch_rows(
        batch,
        [{"id": m, "name": name} for m, name in chosen],
        {"id": base_id, "name": base_name},
        info.name,
        info.class_names,
    )
    return JSONResponse(
        {
            "base": {"id": base_id, "name": base_name},
            "dataset": info.name,
            "class_names": info.class_names,
            "n_boot": n_boot,
            "models": records,
        }
    )


@router.get("/compare/calibration")
def compare_calibration(
    ws: WorkspaceDep,
    base: Annotated[str, Query(min_length=1)],
    models: ModelList,
    dataset: Annotated[str | None, Query(min_length=1)] = None,
) -> JSONResponse:
    """ECE and 15-bin reliability curves of the base and each model (Comparison.calibration's
    numbers, from the confidence, prediction and label columns only)."""
    (base_id, base_name), chosen, info, artifacts = base_and_models(ws, base, models, dataset)
    dtype = class_dtype(info.num_classes)
    wanted = {"confidence": np.float32, "prediction": dtype, "label": dtype}
    columns = [
        outputs_columns(ws, artifacts[(m, info.id)], wanted)
        for m in [base_id, *(m for m, _ in chosen)]
    ]
    batch = reliability_batch(
        np.stack([c["confidence"] for c in columns]),
        np.stack([c["prediction"] for c in columns]),
        np.stack([c["label"] for c in columns]),  # each evaluation's own, as Comparison does
    )
    ece = batch["ece"].tolist()
    curves = reliability_dicts(batch)
    return JSONResponse(
        jsonable(
            {
                "dataset": info.name,
                "base": {
                    "id": base_id,
                    "name": base_name,
                    "ece": ece[0],
                    "reliability": curves[0],
                },
                "models": [
                    {"id": m, "name": name, "ece": ece[i], "reliability": curves[i]}
                    for i, (m, name) in enumerate(chosen, start=1)
                ],
            }
        )
    )


# ------------------------------------------------------------------ agreement of a selection


EQUALITY_AGREEMENT_MODELS = 100
"""Up to this many models, agreement compares rows pairwise (cost M² · N, whatever the
disagreement); beyond, pairwise_agreement's matrix product scales better."""


@router.get("/agreement")
def agreement(
    ws: WorkspaceDep,
    models: Annotated[str, Query(min_length=1, description="model selector")],
    dataset: Annotated[str | None, Query(min_length=1)] = None,
) -> JSONResponse:
    """The pairwise prediction-agreement matrix of the selected models (ws.agreement's
    answer, from the prediction columns only)."""
    chosen = select_models(ws, models)
    ids = [m for m, _ in chosen]
    artifacts = output_artifacts(ws, ids)
    if dataset is None:  # the first dataset all are evaluated on, as ws.agreement picks
        shared = [d for d in ws.datasets() if all((m, d.id) in artifacts for m in ids)]
        if not shared:
            names = ", ".join(name for _, name in chosen)
            raise NotFoundError(f"no dataset on which all of {names} are evaluated; pass dataset=…")
        info = shared[0]
    else:
        info = ws.dataset(dataset)
        missing = [name for m, name in chosen if (m, info.id) not in artifacts]
        if missing:
            raise IncompatibleDatasetError(
                f"{len(missing)} models are not evaluated on {info.name!r}: {missing[:5]}"
            )
    dtype = class_dtype(info.num_classes)
    preds = np.stack(
        [outputs_column(ws, artifacts[(m, info.id)], "prediction", dtype) for m in ids]
    )
    return JSONResponse(
        jsonable(
            {
                "dataset": info.name,
                "models": [name for _, name in chosen],
                "matrix": (
                    equality_agreement(preds)
                    if len(ids) <= EQUALITY_AGREEMENT_MODELS
                    else pairwise_agreement(preds)
                ),
            }
        )
    )


def select_models(ws: Workspace, selector: str) -> list[tuple[str, str]]:
    """(id, name) of the models ws.select(selector) chooses, in its order.

    A plain list of ids, names or id prefixes (the Behaviours view's request) is matched on
    the model table alone, as workspace.selectors.matches does; selectors with tags, operations or
    parameters go through ws.select.
    """
    alternatives = [a.strip() for a in selector.split(",") if a.strip()]
    if any(any(mark in a for mark in "&:=") for a in alternatives):
        return [(m.id, m.name) for m in ws.select(selector)]
    with ws.store.db.reader() as session:
        rows = session.execute(
            select(Model.id, Model.name).order_by(Model.created_at, Model.name)
        ).all()
    position = {row.id: i for i, row in enumerate(rows)}
    by_name: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_name.setdefault(row.name, []).append(i)
    ordered_ids = sorted(position)
    chosen: dict[str, str] = {}
    for term in alternatives:
        hits = set(by_name.get(term, []))
        if term in position:
            hits.add(position[term])
        if len(term) >= 4:  # an id prefix
            at = bisect.bisect_left(ordered_ids, term)
            while at < len(ordered_ids) and ordered_ids[at].startswith(term):
                hits.add(position[ordered_ids[at]])
                at += 1
        if hits:
            chosen.update((rows[i].id, rows[i].name) for i in sorted(hits))
        else:
            info = ws.model(term)  # NotFoundError names the unknown reference
            chosen[info.id] = info.name
    if not chosen:
        raise NotFoundError(f"no model matches {selector!r}")
    return list(chosen.items())
