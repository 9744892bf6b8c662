"""Populations of models: PIEs and class-level disparate impact, and the PIE view.

The facade resolves the populations and the dataset once; these functions read the
stored evaluations through `DatasetEvaluations` and hand arrays to
`compresslens.analysis.populations`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import torch

from compresslens.analysis.populations import (
    class_disparate_impact,
    modal_label,
    pie_summary,
    population_distance_ranking,
    population_size_warnings,
    pruning_identified_exemplars,
    vote_fractions,
)
from compresslens.errors import (
    CompressLensError,
    IncompatibleDatasetError,
    InvalidChoiceError,
    NotFoundError,
    PopulationSizeWarning,
)
from compresslens.records import ModelInfo
from compresslens.workspace.array_cache import ARRAYS
from compresslens.workspace.selectors import level_order
from compresslens.workspace.sources import DatasetEvaluations


def pies_by_level(
    compressed: list[ModelInfo],
    by: str,
    report: Callable[[list[ModelInfo]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """One `report` per value of operation parameter `by`; numbers in order, types kept."""
    levels: dict[str, tuple[Any, list[ModelInfo]]] = {}
    for model in compressed:
        params = model.operation.params if model.operation else {}
        if by not in params:
            raise NotFoundError(f"{model.name} has no operation parameter {by!r}")
        key = json.dumps(params[by], sort_keys=True)  # 0.5 and "0.5" are two levels
        levels.setdefault(key, (params[by], []))[1].append(model)
    reports = []
    for value, models in sorted(levels.values(), key=lambda level: level_order(level[0])):
        reports.append({"level": {by: value}, **report(models)})
    return reports


def population_predictions(evaluations: DatasetEvaluations, models: list[ModelInfo]) -> np.ndarray:
    """Predictions [K, N] of a population, every member evaluated on `dataset`."""
    dataset = evaluations.dataset
    missing = [m.name for m in models if dataset.name not in m.metrics]
    if missing:
        raise IncompatibleDatasetError(
            f"{len(missing)} models are not evaluated on {dataset.name!r}: {missing[:5]}"
        )
    return np.stack([evaluations.outputs(m)["prediction"] for m in models])


def pie_report(
    evaluations: DatasetEvaluations,
    baseline: list[ModelInfo],
    compressed: list[ModelInfo],
    alpha: float = 0.05,
    correction: str = "none",
) -> dict[str, Any]:
    """Hooker et al.'s PIEs and class-level disparate impact for two populations.

    Populations of different sizes or of one model are answered with a PopulationSizeWarning,
    also listed under "warnings"; an empty population is refused.
    """
    if not baseline or not compressed:
        raise CompressLensError(
            f"PIEs compare populations: got {len(baseline)} baseline and {len(compressed)} "
            "compressed models (need at least 1 each, and the same K ≥ 2 for the paper's rule)"
        )
    dataset = evaluations.dataset
    cautions = population_size_warnings(len(baseline), len(compressed))
    for message in cautions:
        warnings.warn(message, PopulationSizeWarning, stacklevel=3)
    base_preds = population_predictions(evaluations, baseline)
    comp_preds = population_predictions(evaluations, compressed)
    labels = evaluations.outputs(baseline[0])["label"]
    k = dataset.num_classes
    pies = pruning_identified_exemplars(base_preds, comp_preds, k)
    impact = class_disparate_impact(
        labels, base_preds, comp_preds, k, alpha, correction, untestable="nan"
    )
    ids = np.flatnonzero(pies)
    base_votes, comp_votes = vote_fractions(base_preds, k), vote_fractions(comp_preds, k)
    base_modal, comp_modal = modal_label(base_preds, k), modal_label(comp_preds, k)
    classes = [
        {
            "class": dataset.class_names[c],
            "t": impact["t"][c],
            "p_value": impact["p_value"][c],
            "p_adjusted": impact["p_adjusted"][c],
            "normalized_recall_change": impact["normalized_recall_change"][c],
            "impacted": bool(impact["impacted"][c]),
        }
        for c in range(k)
    ]
    ranking = _distance_ranking(evaluations, baseline, compressed)
    return {
        "distance_ranking": ranking,
        "dataset": dataset.name,
        "baseline": [m.name for m in baseline],
        "compressed": [m.name for m in compressed],
        "summary": pie_summary(labels, base_preds, comp_preds, pies),
        "impacted_classes": int(np.sum(impact["impacted"])),
        "classes": classes,
        "pies": [
            {
                "instance": int(i),
                "label": dataset.class_names[labels[i]],
                "baseline_modal": dataset.class_names[base_modal[i]],
                "compressed_modal": dataset.class_names[comp_modal[i]],
                "baseline_vote": float(base_votes[i, base_modal[i]]),
                "compressed_vote": float(comp_votes[i, comp_modal[i]]),
            }
            for i in ids
        ],
        "pie_ids": ids.tolist(),
        "warnings": cautions,
    }


def _distance_ranking(
    evaluations: DatasetEvaluations,
    baseline: list[ModelInfo],
    compressed: list[ModelInfo],
    top: int = 100,
) -> list[dict[str, float]] | None:
    """The `top` instances whose mean output distributions differ most (needs stored logits)."""
    try:
        probs = [
            np.stack([torch.softmax(evaluations.logits(m).float(), 1).numpy() for m in group])
            for group in (baseline, compressed)
        ]
    except CompressLensError:
        return None  # some member was evaluated without logits=True
    order, distance = population_distance_ranking(*probs)
    return [{"instance": int(i), "distance": float(distance[i])} for i in order[:top]]


# -- the PIE view: aggregates per level and one page of one level's gallery -----------------

GALLERY_SORTS = ("instance", "baseline_vote", "compressed_vote")
ROW_BYTES = 400  # about what one PIE row of a report holds (a dict of ~8 small values)


def cached_reports(
    key: Hashable, compute: Callable[[], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The per-level reports of a query, kept in the facade's in-memory cache so that paging
    through the gallery does not recompute them (about a second on the demo workspace)."""
    return ARRAYS.get(
        ("pies", key),
        compute,
        lambda reports: ROW_BYTES * sum(1 + len(report["pies"]) for report in reports),
    )


def reports_key(chosen: tuple[list[ModelInfo], list[ModelInfo]]) -> tuple[Any, ...]:
    """What a report depends on among the models: their ids and metrics, so a model that is
    added or re-evaluated gives a fresh report."""
    return tuple(tuple((m.id, repr(sorted(m.metrics.items()))) for m in group) for group in chosen)


def pies_view(
    reports: list[dict[str, Any]],
    by: str | None,
    *,
    level: str | None = None,
    label: str | None = None,
    sort: str = "instance",
    descending: bool = False,
    offset: int = 0,
    limit: int = 40,
) -> dict[str, Any]:
    """Per level its aggregates (no per-instance rows) and one page of one level's PIEs."""
    if sort not in GALLERY_SORTS:
        choices = ", ".join(GALLERY_SORTS)
        raise InvalidChoiceError(f"no gallery sort {sort!r}; choose from {choices}")
    shown = reports[gallery_level(reports, by, level)]
    return {
        "by": by,
        "dataset": reports[0]["dataset"],
        "baseline": reports[0]["baseline"],
        "class_names": [row["class"] for row in reports[0]["classes"]],
        "levels": [level_aggregate(report) for report in reports],
        "warnings": list(dict.fromkeys(m for report in reports for m in report["warnings"])),
        "gallery": gallery_page(shown, by, label, sort, descending, offset=offset, limit=limit),
    }


def level_aggregate(report: dict[str, Any]) -> dict[str, Any]:
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


def gallery_level(reports: list[dict[str, Any]], by: str | None, level: str | None) -> int:
    """Index of the level the gallery pages: the one named, else the last (most compressed)."""
    if level is None:
        return len(reports) - 1
    values = [r["level"][by] if by and r["level"] else None for r in reports]
    for index, value in enumerate(values):
        if value is not None and is_level(value, level):
            return index
    known = ", ".join(str(v) for v in values if v is not None) or "none (no `by` given)"
    raise InvalidChoiceError(f"no level {level!r} of {by!r}; the levels are: {known}")


def level_key(level: dict[str, Any] | None) -> str:
    """The text that names a level in `level=` (Python's str() of its value; "" without `by`),
    so a client addresses levels without imitating str()."""
    return "" if not level else str(next(iter(level.values())))


def is_level(value: Any, text: str) -> bool:
    """A level named as text: by its text, or a number by value (JavaScript writes 1.0 as 1)."""
    if str(value) == text:
        return True
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return float(text) == value
    except ValueError:
        return False


def gallery_page(
    report: dict[str, Any],
    by: str | None,
    label: str | None,
    sort: str,
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
            raise InvalidChoiceError(f"no class {label!r}; the classes are: {', '.join(names)}")
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
