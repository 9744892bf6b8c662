"""The Pareto frontier of the workspace's models under chosen metrics (`Workspace.pareto`).

An objective is a metric name or a short alias (bytes, nfr, latency, …), optionally with
its direction (`accuracy:max`); without one the direction is the metric's own (accuracy-like
up, costs down), the rule the front end's scatter uses (frontend/src/lib/metrics.ts).
Model metrics (size, latency) are read from the model, the others from one dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from compresslens.analysis.pareto import pareto_set
from compresslens.errors import InvalidChoiceError, NotFoundError
from compresslens.records import ModelInfo

ALIASES = {
    "bytes": "compressed_bytes",
    "size": "compressed_bytes",
    "dense": "dense_bytes",
    "disk": "disk_bytes",
    "params": "nonzero_parameters",
    "nfr": "negative_flip_rate",
    "pfr": "positive_flip_rate",
    "worst": "worst_class_change",
    "kld": "kld_mean",
    "latency": "latency_ms_b1",
    "latency64": "latency_ms_b64",
    "acc": "accuracy",
}
MODEL_GROUP = "model"
_LONGEST = 256  # no metric name is longer (a metric name column holds 128)
_MAXIMIZED = {
    "sparsity",
    "same_top",
    "incorrect_to_correct",
    "incorrect_to_correct_rate",
    "positive_flip_rate",
    "worst_class_change",
    "f1",
    "precision",
    "recall",
    "auc",
}


def metric_direction(name: str) -> str:
    """'max' for metrics better high (accuracy, flips gained, worst class change), else 'min'."""
    if name in _MAXIMIZED or name.endswith("accuracy") or name.startswith("delta_p_"):
        return "max"
    return "min"


@dataclass(frozen=True)
class Objective:
    """One axis of the frontier: the metric, whether better high, and as the user wrote it."""

    text: str
    metric: str
    direction: str

    @classmethod
    def parse(cls, text: str) -> Objective:
        if not isinstance(text, str) or len(text) > _LONGEST:
            raise InvalidChoiceError(
                f"an objective is a metric name with an optional ':min' or ':max' "
                f"(at most {_LONGEST} characters)"
            )
        name, _, direction = text.strip().partition(":")
        metric = ALIASES.get(name.strip(), name.strip())
        if not metric:
            raise InvalidChoiceError(f"objective {text!r} names no metric")
        direction = direction.strip() or metric_direction(metric)
        if direction not in ("min", "max"):
            raise InvalidChoiceError(
                f"objective {text!r}: the direction after ':' must be min or max, not {direction!r}"
            )
        return cls(text=text, metric=metric, direction=direction)


def pareto(
    models: list[ModelInfo], objectives: Sequence[str], dataset: str | None
) -> dict[str, Any]:
    """The frontier (sorted by the first objective, best first), the dominated and the models
    excluded for a missing metric, each with the values it was compared on."""
    if isinstance(objectives, str) or len(objectives) < 2:
        raise InvalidChoiceError("a Pareto frontier needs at least two objectives")
    parsed = [Objective.parse(text) for text in objectives]
    model_metrics = {name for m in models for name in m.metrics.get(MODEL_GROUP, {})}
    group_of = {o.metric: MODEL_GROUP if o.metric in model_metrics else None for o in parsed}
    on_dataset = [o.metric for o in parsed if group_of[o.metric] is None]
    chosen = _dataset(models, on_dataset, dataset) if on_dataset else dataset
    for metric in on_dataset:
        group_of[metric] = chosen
    _check_known(models, parsed, group_of)
    values = np.array(
        [[_value(m, group_of[o.metric], o.metric) for o in parsed] for m in models],
        dtype=np.float64,
    ).reshape(len(models), len(parsed))
    found = pareto_set(values, [o.direction == "max" for o in parsed])
    first = -1.0 if parsed[0].direction == "max" else 1.0
    frontier = sorted(found.frontier, key=lambda i: (first * values[i, 0], models[i].name))

    def row(i: int) -> dict[str, Any]:
        return {
            "id": models[i].id,
            "name": models[i].name,
            "values": {o.metric: _finite(values[i, j]) for j, o in enumerate(parsed)},
        }

    return {
        "dataset": chosen,
        "objectives": [
            {
                "objective": o.text,
                "metric": o.metric,
                "direction": o.direction,
                "group": group_of[o.metric],
            }
            for o in parsed
        ],
        "frontier": [row(i) for i in frontier],
        "dominated": [row(i) for i in found.dominated],
        "excluded": [
            {
                **row(i),
                "missing": [
                    o.metric for j, o in enumerate(parsed) if not np.isfinite(values[i, j])
                ],
            }
            for i in found.excluded
        ],
    }


def _dataset(models: list[ModelInfo], metrics: list[str], dataset: str | None) -> str:
    """The dataset named, else the one on which the most models have every dataset objective
    (then: the most of them, so a misspelt one is reported by name, not as a missing dataset)."""
    if dataset is not None:
        return dataset
    score: dict[str, tuple[int, int]] = {}
    for m in models:
        for group, values in m.metrics.items():
            if group == MODEL_GROUP:
                continue
            hits = sum(name in values for name in metrics)
            complete, total = score.get(group, (0, 0))
            score[group] = (complete + (hits == len(metrics)), total + hits)
    if not score:
        raise NotFoundError("no model has metrics on a dataset; evaluate the models first")
    return min(score, key=lambda name: (-score[name][0], -score[name][1], name))


def _check_known(
    models: list[ModelInfo], parsed: list[Objective], group_of: dict[str, str | None]
) -> None:
    """A metric no model has (a typo) is an error naming the metrics there are."""
    for o in parsed:
        group = group_of[o.metric]
        if any(o.metric in m.metrics.get(group or "", {}) for m in models):
            continue
        known = sorted(
            {n for m in models for g in (MODEL_GROUP, group) for n in m.metrics.get(g or "", {})}
        )
        aliases = ", ".join(f"{k}={v}" for k, v in ALIASES.items())
        raise NotFoundError(
            f"no model has the metric {o.metric!r}"
            + (f" on dataset {group!r}" if group != MODEL_GROUP else "")
            + f"; known: {', '.join(known) or 'none'} (aliases: {aliases})"
        )


def _value(model: ModelInfo, group: str | None, metric: str) -> float:
    value = model.metrics.get(group or "", {}).get(metric)
    return np.nan if value is None else float(value)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
