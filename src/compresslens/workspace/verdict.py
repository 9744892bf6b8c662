"""The no-regression verdict: is a compressed model (or population) safe to ship?

TOST-style: a drop of more than `max_drop` points overall, or `max_class_drop` points in any
class or subgroup, must be excluded at confidence 1 − alpha (one-sided bounds; the
intersection–union rule needs no multiplicity correction for the verdict itself). One
model per side: per-instance paired bounds, McNemar on the flips, the negative flip rate
and a paired bootstrap interval. Populations of seeds: per-seed accuracies, paired by
lineage where every compressed model descends from its own base model, else Welch.
The statistics are the pure functions of `compresslens.analysis.paired_tests`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from compresslens.analysis.multiple_testing import benjamini_hochberg
from compresslens.analysis.paired_tests import (
    VERDICT_MEANING,
    flip_counts,
    judge,
    mcnemar_exact,
    negative_flip_rate,
    overall_verdict,
    paired_bootstrap_difference,
    paired_instance_bound,
    seed_bounds,
)
from compresslens.errors import InvalidChoiceError, InvalidInputError, NotFoundError
from compresslens.jsonable import jsonable
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.workspace.sources import DatasetEvaluations

if TYPE_CHECKING:
    from compresslens.workspace.core import Workspace

Mode = Literal["instances", "seeds-paired", "seeds-welch"]
POINTS = 100.0  # accuracies are fractions; tolerances and differences are in points


@dataclass(frozen=True)
class VerdictRow:
    """One tested group (the whole dataset, a class, or a subgroup) against its tolerance.

    Differences and bounds are model − base in accuracy points; `p_no_worse` is the
    one-sided p of "the drop is at least the tolerance"; `mcnemar_p` is the raw two-sided
    p of "the flips are not balanced", `p_adjusted` the same after Benjamini–Hochberg over
    all class and subgroup rows (per-instance mode only; null across seeds)."""

    family: str  # "overall", "class", or the attribute's name
    group: str
    count: int
    base_accuracy: float
    accuracy: float
    difference_pts: float
    lower_pts: float
    upper_pts: float
    margin_pts: float
    p_no_worse: float
    lost: int | None
    gained: int | None
    mcnemar_p: float | None
    p_adjusted: float | None
    call: str  # "pass", "regression" or "inconclusive" (see analysis.paired_tests.judge)


@dataclass(frozen=True)
class Verdict:
    """The verdict and its evidence; `to_dict()` is the JSON the CLI and API answer."""

    verdict: str
    meaning: str
    mode: Mode
    base: list[str]
    model: list[str]
    dataset: str
    alpha: float
    confidence: float
    max_drop: float
    max_class_drop: float
    overall: VerdictRow
    rows: list[VerdictRow]
    nfr: float | None
    mcnemar: dict[str, float | int] | None
    bootstrap: dict[str, float] | None

    @property
    def passed(self) -> bool:
        return self.verdict == "equivalent"

    @property
    def failing(self) -> list[VerdictRow]:
        """The rows that keep the verdict from passing, worst lower bound first."""
        rows = [self.overall, *self.rows]
        return sorted((r for r in rows if r.call != "pass"), key=lambda r: _sort_key(r.lower_pts))

    def to_dict(self) -> dict[str, Any]:
        return jsonable({**asdict(self), "passed": self.passed})


def _sort_key(value: float) -> float:
    return -np.inf if np.isnan(value) else value


MIN_ALPHA = 1e-9  # confidence 1 − 1e-9 at most: beyond it the bounds are rounding


def check_tolerances(max_drop: float, max_class_drop: float, alpha: float) -> None:
    """Refuse tolerances that are not a number of points ≥ 0 and an alpha outside
    [MIN_ALPHA, 0.5) (a smaller one makes 1 − 2·alpha round to 1 in floating point)."""
    for name, value in (("max_drop", max_drop), ("max_class_drop", max_class_drop)):
        if not np.isfinite(value) or value < 0 or value > 100:
            raise InvalidInputError(f"{name} is in accuracy points, 0 to 100; got {value}")
    if not MIN_ALPHA <= alpha < 0.5:
        raise InvalidInputError(f"alpha must lie in [{MIN_ALPHA}, 0.5), got {alpha}")


def resolve_side(ws: Workspace, ref: str | ModelInfo) -> list[ModelInfo]:
    """A model (id, name or record), else a selector naming a population of seeds. A record
    is read again: one taken before its evaluation does not list the dataset yet."""
    if isinstance(ref, ModelInfo):
        return [ws.model(ref.id)]
    try:
        return [ws.model(ref)]
    except NotFoundError:
        chosen = ws.select(ref)
    if not chosen:
        raise NotFoundError(f"no model or selector matches {ref!r}")
    return chosen


def verdict(
    ws: Workspace,
    base: list[ModelInfo],
    models: list[ModelInfo],
    dataset: DatasetInfo,
    *,
    max_drop: float = 0.5,
    max_class_drop: float = 2.0,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> Verdict:
    """Judge `models` against `base` on `dataset` (see the module docstring)."""
    check_tolerances(max_drop, max_class_drop, alpha)
    if {m.id for m in base} & {m.id for m in models}:
        raise InvalidChoiceError("the base and the compressed side share a model")
    reader = DatasetEvaluations(ws._models, dataset)
    labels = reader.outputs(base[0])["label"]
    base_correct = np.stack([_correct(reader, m) for m in base])
    correct = np.stack([_correct(reader, m) for m in models])
    everything: Group = ("overall", "all", np.ones(labels.size, dtype=bool), max_drop)
    groups = [everything, *_groups(labels, dataset, ws, max_class_drop)]
    evidence: dict[str, Any]
    if len(base) == 1 and len(models) == 1:
        pair = (base_correct[0], correct[0])
        rows = _with_bh([_instance_row(*pair, group, alpha) for group in groups])
        evidence = {
            "mode": "instances",
            "nfr": negative_flip_rate(*pair),
            "mcnemar": mcnemar_exact(*flip_counts(*pair)),
            "bootstrap": paired_bootstrap_difference(
                *pair, n_boot=n_boot, seed=seed, ci=1.0 - 2.0 * alpha
            ),
        }
    else:
        order = _paired_order(ws, base, models)
        if order is not None:
            base, base_correct = [base[i] for i in order], base_correct[order]
        rows = [
            _seed_row(base_correct, correct, group, alpha, order is not None) for group in groups
        ]
        evidence = {
            "mode": "seeds-paired" if order is not None else "seeds-welch",
            "nfr": _mean_nfr(base_correct, correct) if order is not None else None,
            "mcnemar": None,
            "bootstrap": None,
        }
    call = overall_verdict([row.call for row in rows])
    return Verdict(
        verdict=call,
        meaning=VERDICT_MEANING[call],
        base=[m.name for m in base],
        model=[m.name for m in models],
        dataset=dataset.name,
        alpha=alpha,
        confidence=1.0 - alpha,
        max_drop=max_drop,
        max_class_drop=max_class_drop,
        overall=rows[0],
        rows=rows[1:],
        **evidence,
    )


Group = tuple[str, str, np.ndarray, float]
"""(family, group name, instance mask, tolerated drop in points)."""


def _correct(reader: DatasetEvaluations, model: ModelInfo) -> np.ndarray:
    outputs = reader.outputs(model)
    return np.asarray(outputs["prediction"] == outputs["label"])


def _groups(labels: np.ndarray, dataset: DatasetInfo, ws: Workspace, margin: float) -> list[Group]:
    """Each class present, then each value of each per-instance attribute (as the compare
    view); a class with no instance proves nothing either way and is left out."""
    classes = dataset.class_names or [str(c) for c in range(dataset.num_classes)]
    groups: list[Group] = [
        ("class", str(name), labels == index, margin) for index, name in enumerate(classes)
    ]
    for attribute, values in (ws.load_dataset(dataset).attributes or {}).items():
        levels, codes = np.unique(np.asarray(values).astype(str), return_inverse=True)
        for index, level in enumerate(levels.tolist()):
            groups.append((attribute, level, codes == index, margin))
    return [group for group in groups if group[2].any()]


def _instance_row(
    base_correct: np.ndarray, correct: np.ndarray, group: Group, alpha: float
) -> VerdictRow:
    family, name, mask, margin = group
    base, model = base_correct[mask], correct[mask]
    lost, gained = flip_counts(base, model)
    size = int(mask.sum())
    bounds = paired_instance_bound(lost, gained, size, margin / POINTS, alpha)
    return _row(family, name, size, base, model, bounds, margin, lost, gained)


def _seed_row(
    base_correct: np.ndarray, correct: np.ndarray, group: Group, alpha: float, paired: bool
) -> VerdictRow:
    family, name, mask, margin = group
    size = int(mask.sum())
    base_acc = np.count_nonzero(base_correct[:, mask], axis=1) / size
    model_acc = np.count_nonzero(correct[:, mask], axis=1) / size
    bounds = seed_bounds(base_acc, model_acc, margin / POINTS, alpha, paired)
    return _row(family, name, size, base_acc, model_acc, bounds, margin, None, None)


def _row(
    family: str,
    name: str,
    size: int,
    base_values: np.ndarray,
    values: np.ndarray,
    bounds: dict[str, float],
    margin: float,
    lost: int | None,
    gained: int | None,
) -> VerdictRow:
    lower, upper = bounds["lower"] * POINTS, bounds["upper"] * POINTS
    return VerdictRow(
        family=family,
        group=name,
        count=size,
        base_accuracy=float(np.mean(base_values)) if size else float("nan"),
        accuracy=float(np.mean(values)) if size else float("nan"),
        difference_pts=bounds["difference"] * POINTS,
        lower_pts=lower,
        upper_pts=upper,
        margin_pts=margin,
        p_no_worse=bounds["p_no_worse"],
        lost=lost,
        gained=gained,
        mcnemar_p=None if lost is None else float(mcnemar_exact(lost, gained or 0)["p_value"]),
        p_adjusted=None,
        call=judge(lower, upper, margin),
    )


def _with_bh(rows: list[VerdictRow]) -> list[VerdictRow]:
    """Benjamini–Hochberg over the class and subgroup rows' McNemar p (the overall row is
    one test of its own: its adjusted p is its raw p)."""
    raw = np.array([row.mcnemar_p for row in rows[1:]], dtype=float)
    adjusted = [rows[0].mcnemar_p, *benjamini_hochberg(raw).tolist()]
    return [replace(row, p_adjusted=p) for row, p in zip(rows, adjusted, strict=True)]


def _mean_nfr(base_correct: np.ndarray, correct: np.ndarray) -> float:
    """The negative flip rate of each (base, compressed) pair of seeds, averaged."""
    pairs = zip(base_correct, correct, strict=True)
    return float(np.mean([negative_flip_rate(base, model) for base, model in pairs]))


def _paired_order(
    ws: Workspace, base: list[ModelInfo], models: list[ModelInfo]
) -> list[int] | None:
    """Per compressed model, the index of the base model it descends from, when each has
    its own (a one-to-one pairing by lineage, e.g. seed k pruned from seed k); else None."""
    if len(base) != len(models):
        return None
    position = {m.id: index for index, m in enumerate(base)}
    order = []
    for model in models:
        ancestors = [position[m.id] for m in ws.lineage(model) if m.id in position]
        if len(ancestors) != 1:
            return None
        order.append(ancestors[0])
    return order if len(set(order)) == len(order) else None
