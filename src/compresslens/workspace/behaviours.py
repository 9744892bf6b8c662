"""Behaviours: a base against one model or up to many at once, as the Behaviours view shows.

The aggregates over a selection (behaviours, calibration, agreement) read only the outputs
columns they need (prediction; confidence and label for calibration), keep them in the
facade's array cache per (evaluation, column), and compute over the stacked [M, N] arrays at
once. Models are named by id, name or id prefix and resolved in one query.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pyarrow.parquet as pq

from compresslens.analysis.behaviour_aggregates import (
    equality_agreement,
    reliability_batch,
    reliability_dicts,
)
from compresslens.analysis.behaviour_batch import (
    FLIP_KINDS,
    Grouping,
    batch_rows,
    behaviour_batch,
    grouping_of,
)
from compresslens.analysis.instance_order import instance_order
from compresslens.analysis.predictions import EXCESS_MEANING, pairwise_agreement
from compresslens.errors import (
    CompressLensError,
    IncompatibleDatasetError,
    InvalidChoiceError,
    NotFoundError,
)
from compresslens.jsonable import jsonable
from compresslens.records import DatasetInfo
from compresslens.workspace.array_cache import ARRAYS
from compresslens.workspace.selectors import common_dataset, reads_only_names, select_models
from compresslens.workspace.tables import ColumnTable

if TYPE_CHECKING:
    from compresslens.workspace.core import Workspace

__all__ = ["EXCESS_MEANING", "FLIP_FILTERS", "FLIP_KINDS", "SORT_KEYS"]

FLIP_FILTERS = ("any", "changed", "unchanged", *FLIP_KINDS)

SORT_KEYS = (
    "instance",
    "kl",
    "js",
    "true_prob_change",
    "margin_change",
    "confidence",
    "base_confidence",
)
EQUALITY_AGREEMENT_MODELS = 100
"""Up to this many models, agreement compares rows pairwise (cost M² · N, whatever the
disagreement); beyond, pairwise_agreement's matrix product scales better."""


class ModelName(NamedTuple):
    id: str
    name: str


@dataclass(frozen=True)
class BatchSources:
    """What a many-model view reads: the models, their dataset and outputs artifacts."""

    base: ModelName
    models: list[ModelName]
    dataset: DatasetInfo
    artifacts: dict[tuple[str, str], str]

    def digest(self, model_id: str) -> str:
        return self.artifacts[(model_id, self.dataset.id)]


def model_refs(models: str | Sequence[str]) -> list[str]:
    """A comma list (or sequence) of references as distinct, stripped references in order."""
    parts = models.split(",") if isinstance(models, str) else models
    return list(dict.fromkeys(r.strip() for r in parts if r.strip()))


def resolve_names(ws: Workspace, refs: Sequence[str]) -> list[ModelName]:
    """(id, name) per reference in one query; prefixes and unknown names go through ws.model
    (whose NotFoundError names the unknown reference). Repeats are dropped."""
    by_ref: dict[str, ModelName] = {}
    for model_id, name in ws.store.model_names(refs):
        by_ref[model_id] = by_ref[name] = ModelName(model_id, name)
    result = []
    for ref in refs:
        if ref not in by_ref:
            info = ws.model(ref)
            by_ref[ref] = ModelName(info.id, info.name)
        result.append(by_ref[ref])
    return list(dict.fromkeys(result))


def select_names(ws: Workspace, selector: str) -> list[ModelName]:
    """(id, name) of the models `ws.select(selector)` picks, in its order. A selector of plain
    ids, names and id prefixes goes through the same engine over the model table's (id, name)
    alone, which spares loading every model (1,000 models: milliseconds, not a tenth of a second).
    """
    if not reads_only_names(selector):
        return [ModelName(m.id, m.name) for m in ws.select(selector)]

    def resolve(ref: str) -> ModelName:
        info = ws.model(ref)  # NotFoundError names the unknown reference
        return ModelName(info.id, info.name)

    names = [ModelName(*row) for row in ws.store.all_model_names()]
    return select_models(names, selector, resolve)


def require_evaluated(
    sources_of: dict[tuple[str, str], str],
    models: Sequence[ModelName],
    dataset: DatasetInfo,
    error: type[CompressLensError],
) -> None:
    """`error` naming the models with no outputs on the dataset (up to ten of them)."""
    missing = [m.name for m in models if (m.id, dataset.id) not in sources_of]
    if missing:
        raise error(
            f"{len(missing)} models are not evaluated on {dataset.name}: {', '.join(missing[:10])}"
        )


def batch_sources(
    ws: Workspace, base: str, models: str | Sequence[str], dataset: str | None
) -> BatchSources:
    """The base, each listed model, the dataset (named, or the first every one is evaluated
    on: workspace.selectors.common_dataset) and their outputs artifacts."""
    refs = model_refs(models)
    if not refs:
        raise NotFoundError("give at least one model id or name")
    base_name = resolve_names(ws, [base])[0]
    chosen = resolve_names(ws, refs)
    everyone = [base_name, *chosen]
    artifacts = ws.store.outputs_artifacts([m.id for m in everyone])
    if dataset is None:
        info = common_dataset(ws.datasets(), everyone, lambda m, d: (m.id, d.id) in artifacts)
    else:
        info = ws.dataset(dataset)
        require_evaluated(artifacts, everyone, info, NotFoundError)
    return BatchSources(base_name, chosen, info, artifacts)


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


def behaviours(
    ws: Workspace,
    base: str,
    models: str | Sequence[str],
    dataset: str | None = None,
    *,
    n_boot: int = 200,
) -> dict[str, Any]:
    """Per model versus the base: {model, summary, per_class, per_subgroup}, in one pass.

    The same numbers as `ws.compare` for each model (deltas exactly; the bootstrap draws of
    all models come from one stream, so intervals can differ by Monte Carlo noise).
    """
    sources = batch_sources(ws, base, models, dataset)
    info = sources.dataset
    dtype = class_dtype(info.num_classes)
    base_digest = sources.digest(sources.base.id)
    preds = np.stack(
        [outputs_column(ws, sources.digest(m.id), "prediction", dtype) for m in sources.models]
    )
    batch = behaviour_batch(
        outputs_column(ws, base_digest, "label", dtype),
        outputs_column(ws, base_digest, "prediction", dtype),
        preds,
        info.num_classes,
        subgroup_groupings(ws, info),
        n_boot=n_boot,
    )
    base_name = sources.base._asdict()
    records = batch_rows(
        batch, [m._asdict() for m in sources.models], base_name, info.name, info.class_names
    )
    return {
        "base": base_name,
        "dataset": info.name,
        "class_names": info.class_names,
        "n_boot": n_boot,
        "models": records,
    }


def calibration(
    ws: Workspace, base: str, models: str | Sequence[str], dataset: str | None = None
) -> dict[str, Any]:
    """ECE and 15-bin reliability curves of the base and each model (Comparison.calibration's
    numbers, from the confidence, prediction and label columns only)."""
    sources = batch_sources(ws, base, models, dataset)
    dtype = class_dtype(sources.dataset.num_classes)
    wanted = {"confidence": np.float32, "prediction": dtype, "label": dtype}
    everyone = [sources.base, *sources.models]
    columns = [outputs_columns(ws, sources.digest(m.id), wanted) for m in everyone]
    batch = reliability_batch(
        np.stack([c["confidence"] for c in columns]),
        np.stack([c["prediction"] for c in columns]),
        np.stack([c["label"] for c in columns]),  # each evaluation's own, as Comparison does
    )
    ece = batch["ece"].tolist()
    curves = reliability_dicts(batch)
    rows = [
        {**m._asdict(), "ece": ece[i], "reliability": curves[i]} for i, m in enumerate(everyone)
    ]
    return jsonable({"dataset": sources.dataset.name, "base": rows[0], "models": rows[1:]})


def agreement(ws: Workspace, selector: str, dataset: str | None = None) -> dict[str, Any]:
    """`ws.agreement`'s answer from the cached prediction columns only."""
    chosen = select_names(ws, selector)
    artifacts = ws.store.outputs_artifacts([m.id for m in chosen])
    if dataset is None:
        info = common_dataset(ws.datasets(), chosen, lambda m, d: (m.id, d.id) in artifacts)
    else:
        info = ws.dataset(dataset)
        require_evaluated(artifacts, chosen, info, IncompatibleDatasetError)
    dtype = class_dtype(info.num_classes)
    preds = np.stack(
        [outputs_column(ws, artifacts[(m.id, info.id)], "prediction", dtype) for m in chosen]
    )
    matrix = (
        equality_agreement(preds)
        if len(chosen) <= EQUALITY_AGREEMENT_MODELS
        else pairwise_agreement(preds)
    )
    return jsonable({"dataset": info.name, "models": [m.name for m in chosen], "matrix": matrix})


def comparison(
    ws: Workspace, base: str, model: str, dataset: str | None = None, *, n_boot: int = 1000
) -> dict[str, Any]:
    """Headline changes, per-class and per-subgroup accuracy change with 95% intervals."""
    compared = ws.compare(base, model, dataset, n_boot=n_boot)
    return jsonable(
        {
            "summary": compared.summary(),
            "per_class": compared.per_class(),
            "per_subgroup": compared.per_subgroup(),
        }
    )


def instances(
    ws: Workspace,
    base: str,
    model: str,
    dataset: str | None = None,
    *,
    flip: str = "any",
    label: int | None = None,
    sort: str = "instance",
    descending: bool = True,
    by_magnitude: bool = True,
) -> ColumnTable:
    """Every row of Comparison.instances kept by flip kind and true class, in the chosen
    order (analysis.instance_order); `context` names the models and the dataset."""
    if flip not in FLIP_FILTERS:
        raise InvalidChoiceError(f"no flip filter {flip!r}; choose from {', '.join(FLIP_FILTERS)}")
    if sort not in SORT_KEYS:
        raise InvalidChoiceError(f"no sort key {sort!r}; choose from {', '.join(SORT_KEYS)}")
    compared = ws.compare(base, model, dataset, n_boot=0)
    table = compared.instances()
    order = instance_order(
        table, flip=flip, label=label, sort=sort, descending=descending, by_magnitude=by_magnitude
    )
    context = {
        "base": compared.base.name,
        "base_id": compared.base.id,
        "model": compared.model.name,
        "model_id": compared.model.id,
        "dataset": compared.dataset.name,
        "class_names": compared.dataset.class_names,
        "total": int(order.shape[0]),
    }
    return ColumnTable(context, {c: values[order] for c, values in table.items()})


def transitions(ws: Workspace, base: str, model: str, dataset: str | None = None) -> dict[str, Any]:
    """Counts [C, C]: row = the base's predicted class, column = the model's."""
    compared = ws.compare(base, model, dataset, n_boot=1)
    return jsonable(
        {
            "base": {"id": compared.base.id, "name": compared.base.name},
            "model": {"id": compared.model.id, "name": compared.model.name},
            "dataset": compared.dataset.name,
            "class_names": compared.dataset.class_names,
            "matrix": compared.transitions(),
        }
    )
