"""One base against many models at once: headline changes, per-class and per-subgroup
accuracy change with bootstrap intervals, for the Behaviours view's table of up to 50 models.

Why a batch: comparing 50 models one `Comparison` at a time repeats the same work (masks over
all instances, one bootstrap call per model and grouping). Here the instances whose prediction
changed are found once for the whole [M, N] stack (flips are rare, so every later step costs
what the changes cost), counted per (model, group) with one `bincount` per grouping, and the
bootstrap draws B × M × G multinomial counts in one vectorised call per grouping (see
`per_group_accuracy_change`: the same draws, so its results are reproduced exactly for the
same stack of models). Pure numpy: the caller loads predictions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from compresslens.analysis.group_change import (
    check_bootstrap_parameters,
    group_change_from_counts,
)
from compresslens.analysis.inputs import (
    as_ids,
    as_model_rows,
    check_ids_in_range,
    check_length,
    fraction,
)
from compresslens.analysis.paired_tests import flip_statistics
from compresslens.errors import IncompatibleDatasetError, InvalidOutputError

FLIP_KINDS = ("correct_to_incorrect", "incorrect_to_correct", "incorrect_to_other_incorrect")
DENSE_TRANSITION_LIMIT = 1 << 22
"""Above this many M × C × C cells, transitions are counted sparsely (np.unique) instead."""


@dataclass(frozen=True)
class Grouping:
    """Instances split into named levels: codes [N] in [0, len(levels))."""

    codes: np.ndarray
    levels: list[str]


def grouping_of(values: ArrayLike) -> Grouping:
    """Levels of a per-instance attribute as text, sorted (as Comparison.per_subgroup does)."""
    levels, codes = np.unique(np.asarray(values).astype(str), return_inverse=True)
    return Grouping(codes=codes.astype(np.int64), levels=[str(v) for v in levels])


GAINED, LOST, OTHER = 0, 1, 2
"""Kinds of a change: base wrong → model right, base right → model wrong, wrong → other wrong."""


@dataclass(frozen=True)
class _Changes:
    """The (model, instance) pairs whose prediction differs from the base's, and their kind."""

    rows: np.ndarray  # model index per change
    cols: np.ndarray  # instance index per change
    to_class: np.ndarray  # the model's prediction per change
    kind: np.ndarray  # GAINED, LOST or OTHER per change


def _changes(labels: np.ndarray, base_pred: np.ndarray, preds: np.ndarray) -> _Changes:
    rows, cols = np.nonzero(preds != base_pred)
    to_class = preds[rows, cols]
    base_right = (base_pred == labels)[cols]
    model_right = to_class == labels[cols]  # never together with base_right: they differ
    kind = np.where(base_right, LOST, np.where(model_right, GAINED, OTHER)).astype(np.int64)
    return _Changes(rows, cols, to_class, kind)


def _kind_counts(changes: _Changes, codes: np.ndarray, models: int, groups: int) -> np.ndarray:
    """Changes per (model, group, kind): [M, G, 3] int64, in one bincount."""
    key = (changes.rows * groups + codes[changes.cols]) * 3 + changes.kind
    return np.bincount(key, minlength=models * groups * 3).reshape(models, groups, 3)


def _group_change(
    changes: _Changes,
    base_right: np.ndarray,
    grouping: Grouping,
    models: int,
    n_boot: int,
    seed: int,
    ci: float,
) -> dict[str, np.ndarray]:
    """What per_group_accuracy_change answers, from the changes already found."""
    groups = len(grouping.levels)
    codes = grouping.codes
    sizes = np.bincount(codes, minlength=groups).astype(np.int64)
    counts = _kind_counts(changes, codes, models, groups)
    gained, lost = counts[:, :, GAINED], counts[:, :, LOST]
    base_hits = np.bincount(codes[base_right], minlength=groups)
    return group_change_from_counts(gained, lost, base_hits, sizes, codes.size, n_boot, seed, ci)


def _sparse_transitions(
    changes: _Changes, base_pred: np.ndarray, models: int, classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (model, base class, model class) codes among the changes, and their counts."""
    codes = (changes.rows * classes + base_pred[changes.cols]) * classes + changes.to_class
    if models * classes * classes <= DENSE_TRANSITION_LIMIT:
        dense = np.bincount(codes, minlength=models * classes * classes)
        present = np.flatnonzero(dense)
        return present, dense[present]
    return np.unique(codes, return_counts=True)


def top_transitions_per_model(
    codes: np.ndarray, counts: np.ndarray, models: int, classes: int, k: int
) -> list[list[tuple[int, int, int]]]:
    """Per model, its k most frequent changes (from, to, count); ties to the lower (from, to)."""
    model, rest = np.divmod(codes, classes * classes)
    order = np.lexsort((rest, -counts, model))
    model, rest, counts = model[order], rest[order], counts[order]
    starts = np.searchsorted(model, np.arange(models))
    stops = np.searchsorted(model, np.arange(models), side="right")
    result = []
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        stop = min(stop, start + k)
        pairs = np.divmod(rest[start:stop], classes)
        result.append(
            list(
                zip(pairs[0].tolist(), pairs[1].tolist(), counts[start:stop].tolist(), strict=True)
            )
        )
    return result


def behaviour_batch(
    labels: ArrayLike,
    base_pred: ArrayLike,
    preds: ArrayLike,
    num_classes: int,
    subgroups: Mapping[str, Grouping] | None = None,
    n_boot: int = 200,
    seed: int = 0,
    ci: float = 0.95,
    top_k: int = 5,
) -> dict[str, Any]:
    """Base [N] versus models [M, N]: accuracy, agreement, flips, top transitions, and per class
    and per subgroup the accuracy change with its paired-bootstrap CI and excess-loss test.

    `per_class` and each `per_subgroup[name]` hold what `per_group_accuracy_change` returns
    for the same stack (equal, draw for draw, given the seed). The bootstrap stream is shared
    by the models in order, so a model's interval depends slightly on the others in the batch
    (Monte Carlo noise only; its delta never does).
    """
    check_bootstrap_parameters(n_boot, ci)
    labels = as_ids("labels", labels, IncompatibleDatasetError)
    base_pred = as_ids("base_pred", base_pred)
    check_length("base_pred", base_pred, labels.size)
    preds = as_model_rows("preds", preds, labels.size)
    for name, ids in (("labels", labels), ("base_pred", base_pred), ("preds", preds)):
        check_ids_in_range(name, ids, num_classes, InvalidOutputError)
    subgroups = dict(subgroups or {})
    for name, grouping in subgroups.items():
        check_length(f"subgroup {name!r}", grouping.codes, labels.size)
        check_ids_in_range(
            f"subgroup {name!r}", grouping.codes, len(grouping.levels), IncompatibleDatasetError
        )
    models, instances = preds.shape
    changes = _changes(labels, base_pred, preds)
    base_right = base_pred == labels
    by_kind = np.bincount(changes.rows * 3 + changes.kind, minlength=models * 3).reshape(models, 3)
    flips = {
        kind: by_kind[:, column]
        for kind, column in zip(FLIP_KINDS, (LOST, GAINED, OTHER), strict=True)
    }
    changed = by_kind.sum(axis=1)
    base_hits = np.count_nonzero(base_right)
    accuracy = fraction(
        base_hits + flips["incorrect_to_correct"] - flips["correct_to_incorrect"], instances
    )
    base_accuracy = float(fraction(base_hits, instances))
    classes = Grouping(codes=labels, levels=[str(c) for c in range(num_classes)])
    codes, counts = _sparse_transitions(changes, base_pred, models, num_classes)
    return {
        "num_instances": instances,
        "base_accuracy": base_accuracy,
        "accuracy": accuracy,
        "accuracy_change": accuracy - base_accuracy,
        "agreement": fraction(instances - changed, instances),
        "flips": flips,
        "changed": changed,
        "top_transitions": top_transitions_per_model(codes, counts, models, num_classes, top_k),
        "per_class": _group_change(changes, base_right, classes, models, n_boot, seed, ci),
        "per_subgroup": {
            name: _group_change(changes, base_right, grouping, models, n_boot, seed, ci)
            for name, grouping in subgroups.items()
        },
        "subgroup_levels": {name: list(grouping.levels) for name, grouping in subgroups.items()},
    }


# ------------------------------------------------------------------ rows for JSON answers

_GROUP_FIELDS = (
    "base_accuracy",
    "accuracy",
    "delta",
    "delta_low",
    "delta_high",
    "excess_delta",
    "p_value",
    "p_adjusted",
)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def group_rows(
    change: Mapping[str, np.ndarray], names: Sequence[str], key: str
) -> list[list[dict]]:
    """Per model, one dict per group (the shape of Comparison.per_class rows; NaN → None)."""
    counts = change["count"].tolist()
    fields = {f: change[f].tolist() for f in _GROUP_FIELDS}
    excess = change["excess"].tolist()
    result = []
    for m in range(len(excess)):
        rows = []
        for g, name in enumerate(names):
            row: dict[str, Any] = {key: name, "count": counts[g]}
            row.update({f: _finite(fields[f][m][g]) for f in _GROUP_FIELDS})
            row["excess"] = excess[m][g]
            rows.append(row)
        result.append(rows)
    return result


def batch_rows(
    batch: Mapping[str, Any],
    models: Sequence[Mapping[str, str]],
    base: Mapping[str, str],
    dataset: str,
    class_names: Sequence[str],
) -> list[dict[str, Any]]:
    """One JSON-ready record per model: {model, summary, per_class, per_subgroup}.

    `summary` carries the keys of Comparison.summary that need predictions only.
    """
    per_class = group_rows(batch["per_class"], class_names, "class")
    per_subgroup = {
        name: group_rows(change, batch["subgroup_levels"][name], "value")
        for name, change in batch["per_subgroup"].items()
    }
    flips = {kind: counts.tolist() for kind, counts in batch["flips"].items()}
    accuracy = batch["accuracy"].tolist()
    changes = batch["accuracy_change"].tolist()
    agreement = batch["agreement"].tolist()
    changed = batch["changed"].tolist()
    records = []
    for m, model in enumerate(models):
        summary = {
            "base": dict(base),
            "model": dict(model),
            "dataset": dataset,
            "num_instances": batch["num_instances"],
            "base_accuracy": _finite(batch["base_accuracy"]),
            "model_accuracy": _finite(accuracy[m]),
            "accuracy_change": _finite(changes[m]),
            "agreement": _finite(agreement[m]),
            "flips": {kind: counts[m] for kind, counts in flips.items()},
            **flip_statistics(
                flips["correct_to_incorrect"][m],
                flips["incorrect_to_correct"][m],
                batch["num_instances"],
            ),
            "top_transitions": [
                {
                    "transition": f"{class_names[a]} ▸ {class_names[b]}",
                    "from_class": a,
                    "to_class": b,
                    "count": count,
                    "share": count / changed[m],
                }
                for a, b, count in batch["top_transitions"][m]
            ],
        }
        records.append(
            {
                "model": dict(model),
                "summary": summary,
                "per_class": per_class[m],
                "per_subgroup": {name: rows[m] for name, rows in per_subgroup.items()},
            }
        )
    return records
