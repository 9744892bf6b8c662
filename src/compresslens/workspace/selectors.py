"""The one selector language and the common-dataset rule.

Every client (Python, CLI, server, and through it the front end) picks models with these
functions, so a selector means the same thing wherever it is typed.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from compresslens.errors import NotFoundError
from compresslens.records import DatasetInfo, ModelInfo

M = TypeVar("M")  # a model record: ModelInfo, or (id, name) for a selector of names only


def matches(model: Any, term: str) -> bool:
    """One selector term; a model's exact name or id wins over every other reading."""
    if term in (model.id, model.name):
        return True
    if term.startswith("tag:"):
        return term[4:] in model.tags
    if term.startswith("op:"):
        return model.operation is not None and model.operation.name == term[3:]
    if term.startswith("source:"):
        return model.source == term[7:]
    if "=" in term:
        key, _, value = term.partition("=")
        if model.operation is None or key not in model.operation.params:
            return False
        return str(model.operation.params[key]).lower() == value.lower()
    return len(term) >= 4 and model.id.startswith(term)


def reads_only_names(selector: str) -> bool:
    """Whether every term is an id, name or id prefix (no tag:, op:, source:, key=value, &):
    then `matches` reads only a model's id and name, so records of those two suffice."""
    return not any(mark in selector for mark in ":=&")


class NameIndex(Generic[M]):
    """`matches` for a term that is an id, name or id prefix, by lookup instead of a scan
    (a selector of 50 names over 1,000 models: 50 lookups, not 50,000 calls)."""

    def __init__(self, models: Sequence[M]) -> None:
        self.models = models
        self.exact: dict[str, list[int]] = {}
        for i, m in enumerate(models):
            for key in dict.fromkeys((m.id, m.name)):  # type: ignore[attr-defined]
                self.exact.setdefault(key, []).append(i)
        self.ids = sorted((m.id, i) for i, m in enumerate(models))  # type: ignore[attr-defined]

    def matching(self, term: str) -> list[M]:
        """The models `matches(model, term)` accepts, in their order."""
        hits = set(self.exact.get(term, []))
        if len(term) >= 4:
            at = bisect.bisect_left(self.ids, (term, -1))
            while at < len(self.ids) and self.ids[at][0].startswith(term):
                hits.add(self.ids[at][1])
                at += 1
        return [self.models[i] for i in sorted(hits)]


def select_models(models: Sequence[M], selector: str, resolve: Callable[[str], M]) -> list[M]:
    """Models by selector: ids/names, `tag:T`, `op:NAME`, `source:S`, `key=value`.

    Terms joined by `&` must all hold; `,` separates alternatives. A lone term that is no
    pattern is an id or name, looked up with `resolve` so an unknown one is named clearly.
    """
    by_names = NameIndex(models) if reads_only_names(selector) else None
    chosen: dict[str, M] = {}
    for alternative in filter(None, (a.strip() for a in selector.split(","))):
        terms = [t.strip() for t in alternative.split("&") if t.strip()]
        if by_names is not None:
            picked = by_names.matching(terms[0])
        else:
            picked = [m for m in models if all(matches(m, t) for t in terms)]
        if not picked and len(terms) == 1 and ":" not in terms[0] and "=" not in terms[0]:
            picked = [resolve(terms[0])]
        chosen.update((m.id, m) for m in picked)
    if not chosen:
        raise NotFoundError(f"no model matches {selector!r}")
    return list(chosen.values())


def level_order(value: Any) -> tuple[int, float | str]:
    """Numbers (and numeric strings) by value first, then everything else by its text."""
    if not isinstance(value, bool):
        try:
            return (0, float(value))
        except (TypeError, ValueError):
            pass
    return (1, str(value))


def common_dataset(
    datasets: Sequence[DatasetInfo],
    models: Sequence[Any],
    evaluated: Callable[[Any, DatasetInfo], bool] | None = None,
) -> DatasetInfo:
    """The dataset every model is evaluated on (the first such, in registration order).

    `models` have an `id` and a `name`; `evaluated(model, dataset)` says whether a model is
    evaluated on a dataset (by default: its metrics name the dataset), so a caller that knows
    the evaluations already (the server's batch views) applies the same rule without records.
    """
    shared = common_datasets(datasets, models, evaluated)
    if not shared:
        names = ", ".join(m.name for m in models)
        raise NotFoundError(f"no dataset on which all of {names} are evaluated; pass dataset=…")
    return shared[0]


def common_datasets(
    datasets: Sequence[DatasetInfo],
    models: Sequence[Any],
    evaluated: Callable[[Any, DatasetInfo], bool] | None = None,
) -> list[DatasetInfo]:
    """Every dataset all the models are evaluated on, in registration order."""
    is_evaluated = evaluated or has_metrics_on
    return [d for d in datasets if all(is_evaluated(m, d) for m in models)]


def has_metrics_on(model: ModelInfo, dataset: DatasetInfo) -> bool:
    """Whether the model's metrics name the dataset (it was evaluated on it)."""
    return dataset.name in model.metrics
