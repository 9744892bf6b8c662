"""Populations of models: PIEs, class-level disparate impact, prediction agreement.

The facade resolves the populations and the dataset once; these functions read the
stored evaluations through `DatasetEvaluations` and hand arrays to
`compresslens.analysis.populations`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
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
from compresslens.analysis.predictions import pairwise_agreement
from compresslens.errors import (
    CompressLensError,
    IncompatibleDatasetError,
    NotFoundError,
    PopulationSizeWarning,
)
from compresslens.records import ModelInfo
from compresslens.workspace.selectors import level_order
from compresslens.workspace.sources import DatasetEvaluations


def agreement(evaluations: DatasetEvaluations, chosen: list[ModelInfo]) -> dict[str, Any]:
    """See `Workspace.agreement`."""
    return {
        "dataset": evaluations.dataset.name,
        "models": [m.name for m in chosen],
        "matrix": pairwise_agreement(population_predictions(evaluations, chosen)),
    }


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
