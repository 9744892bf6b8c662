"""The analysis methods of `Workspace`: selecting models, comparing, populations, robustness.

A mixin, so that the facade's public surface stays one class while each file stays short.
Each method resolves what it names once (`select`, `model`, `dataset` of the Workspace) and
hands the records to the module of its family.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from compresslens.data.corruptions import CORRUPTIONS, SEVERITIES
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.workspace import behaviours, populations, robustness, sensitivity
from compresslens.workspace import verdict as verdicts
from compresslens.workspace.comparison import Comparison
from compresslens.workspace.models import ModelCatalog
from compresslens.workspace.selectors import common_dataset, select_models
from compresslens.workspace.sources import DatasetEvaluations, PairSources

if TYPE_CHECKING:
    import numpy as np

ModelRef = str | ModelInfo
DatasetRef = str | DatasetInfo
Progress = Callable[[int, int], None]


def _ref(value: ModelRef | DatasetRef) -> str:
    return value if isinstance(value, str) else value.id


class AnalysisMethods:
    """Mixed into `Workspace`, which defines the model and dataset lookups used here."""

    _models: ModelCatalog

    if TYPE_CHECKING:  # defined by Workspace

        def model(self, model: ModelRef) -> ModelInfo: ...

        def models(self) -> list[ModelInfo]: ...

        def dataset(self, dataset: DatasetRef) -> DatasetInfo: ...

        def datasets(self) -> list[DatasetInfo]: ...

        def geometry_inputs(
            self, model: ModelRef, dataset: DatasetRef
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

        def corrupted_margins(
            self,
            model: ModelRef,
            dataset: DatasetRef,
            corruption: str,
            severity: int,
            *,
            limit: int = 2000,
            seed: int = 0,
        ) -> tuple[np.ndarray, np.ndarray]: ...

    def select(self, selector: str | Sequence[ModelRef]) -> list[ModelInfo]:
        """Models by selector: ids/names, `tag:T`, `op:NAME`, `key=value` (an op parameter).

        Terms joined by `&` must all hold; `,` separates alternatives, e.g.
        `op:prune.magnitude&amount=0.9,tag:base`.
        """
        if not isinstance(selector, str):
            return [self.model(m) for m in selector]
        return select_models(self.models(), selector, self.model)

    def compare(
        self,
        base: ModelRef,
        model: ModelRef,
        dataset: DatasetRef | None = None,
        *,
        n_boot: int = 1000,
        seed: int = 0,
    ) -> Comparison:
        """What changed from `base` to `model` on a dataset both were evaluated on."""
        base_info, model_info = self.model(base), self.model(model)
        data_info = self._dataset_of([base_info, model_info], dataset)
        # each evaluation row is read here once: a clear error if missing, and what it reads
        files = {
            m.id: self.store.evaluation_files(m.id, data_info.id) for m in (base_info, model_info)
        }
        sources = PairSources(
            self._models,
            data_info,
            files,
            geometry_inputs=lambda m: self.geometry_inputs(m, data_info),
            corrupted_margins=lambda m, corruption, severity, limit, seed: self.corrupted_margins(
                m, data_info, corruption, severity, limit=limit, seed=seed
            ),
        )
        return Comparison(sources, base_info, model_info, data_info, n_boot=n_boot, seed=seed)

    def verdict(
        self,
        base: ModelRef,
        model: ModelRef,
        dataset: DatasetRef | None = None,
        *,
        max_drop: float = 0.5,
        max_class_drop: float = 2.0,
        alpha: float = 0.05,
        n_boot: int = 2000,
        seed: int = 0,
    ) -> verdicts.Verdict:
        """Is a drop of more than `max_drop` accuracy points overall, or `max_class_drop` in
        any class or subgroup, excluded at confidence 1 − alpha? "equivalent" (yes),
        "regression" (a larger drop is established) or "inconclusive", with the evidence.
        `base` and `model` name a model each, or a selector each naming a population of
        seeds (then per-seed accuracies are compared)."""
        base_side = verdicts.resolve_side(self, base)  # type: ignore[arg-type]
        model_side = verdicts.resolve_side(self, model)  # type: ignore[arg-type]
        data_info = self._dataset_of([*base_side, *model_side], dataset)
        return verdicts.verdict(
            self,  # type: ignore[arg-type]
            base_side,
            model_side,
            data_info,
            max_drop=max_drop,
            max_class_drop=max_class_drop,
            alpha=alpha,
            n_boot=n_boot,
            seed=seed,
        )

    def _dataset_of(self, models: list[ModelInfo], dataset: DatasetRef | None) -> DatasetInfo:
        """The dataset given, else the one dataset every model was evaluated on."""
        return common_dataset(self.datasets(), models) if dataset is None else self.dataset(dataset)

    def pies(
        self,
        baseline: str | Sequence[ModelRef],
        compressed: str | Sequence[ModelRef],
        dataset: DatasetRef | None = None,
        *,
        alpha: float = 0.05,
        correction: str = "none",
    ) -> dict[str, Any]:
        """Pruning (Compression) Identified Exemplars and per-class disparate impact."""
        return self._pies(
            self.select(baseline), self.select(compressed), dataset, alpha, correction
        )

    def _pies(
        self,
        base_models: list[ModelInfo],
        comp_models: list[ModelInfo],
        dataset: DatasetRef | None,
        alpha: float,
        correction: str,
    ) -> dict[str, Any]:
        data_info = self._dataset_of([*base_models, *comp_models], dataset)
        reader = DatasetEvaluations(self._models, data_info)
        return populations.pie_report(reader, base_models, comp_models, alpha, correction)

    def agreement(
        self, models: str | Sequence[ModelRef], dataset: DatasetRef | None = None
    ) -> dict[str, Any]:
        """The pairwise prediction-agreement matrix [M, M] of the selected models:
        {dataset, models (names), matrix (nested lists, JSON-ready)}. Reads only the cached
        prediction columns (`workspace.behaviours.agreement`, the one implementation)."""
        selector = models if isinstance(models, str) else ",".join(_ref(m) for m in models)
        data = None if dataset is None else _ref(dataset)
        return behaviours.agreement(self, selector, data)  # type: ignore[arg-type]

    def pies_by_level(
        self,
        baseline: str | Sequence[ModelRef],
        compressed: str | Sequence[ModelRef],
        by: str,
        dataset: DatasetRef | None = None,
        *,
        alpha: float = 0.05,
        correction: str = "none",
    ) -> list[dict[str, Any]]:
        """One PIE report per value of operation parameter `by` (e.g. each pruning amount).

        Levels keep the parameter's own type (0.5 stays a number) and numbers come in order.
        """
        base_models = self.select(baseline)
        return populations.pies_by_level(
            self.select(compressed),
            by,
            lambda models: self._pies(base_models, models, dataset, alpha, correction),
        )

    def robustness(
        self,
        models: str | Sequence[ModelRef],
        dataset: DatasetRef,
        *,
        base: ModelRef | None = None,
        corruptions: Sequence[str] = CORRUPTIONS,
        severities: Sequence[int] = SEVERITIES,
        limit: int = 2000,
        seed: int = 0,
        progress: Progress | None = None,
        cached_only: bool = False,
    ) -> list[dict[str, Any]]:
        """Accuracy under generated corruptions × severities, and the drop versus `base`.

        Accuracies are stored as metrics `robust:<corruption>@<severity>` on the dataset
        (with `limit` and `seed` in the name's suffix), so a second call only runs what is new.
        `progress(done, total)` counts (model, condition) pairs, stored ones at once. With
        `cached_only`, NotComputedError is raised instead of running any model (a server
        answers stored results at once and computes the rest in the background).
        """
        chosen = self.select(models)
        return robustness.robustness(
            self._models,
            chosen,
            self.model(base) if base is not None else chosen[0],
            self.dataset(dataset),
            corruptions=corruptions,
            severities=severities,
            limit=limit,
            seed=seed,
            progress=progress,
            cached_only=cached_only,
        )

    def sensitivity(
        self,
        model: ModelRef,
        dataset: DatasetRef,
        operation: str = "prune.magnitude",
        *,
        limit: int = 2000,
        max_drop: float = 0.01,
        keep_share: float = 0.25,
        seed: int = 0,
        progress: Progress | None = None,
        cached_only: bool = False,
        **params: Any,
    ) -> dict[str, Any]:
        """Compress one layer at a time with any selectable operation; rank the accuracy drops.

        Returns the ranking plus what the ops consume: `exclude` (layers whose drop exceeds
        `max_drop`, for a selection's `exclude=`), `mixed_precision` (layer → bits) and
        `weight_only_passes` (parameters for successive `quantize.weight_only` calls).
        The ranking is stored in the workspace per (model, dataset, operation, parameters,
        limit, seed), so a second call answers at once; `progress(done, total)` counts the
        evaluations (one per layer plus the uncompressed model). With `cached_only`,
        NotComputedError is raised instead of running the model.
        """
        return sensitivity.sensitivity(
            self._models,
            self.model(model),
            self.dataset(dataset),
            operation,
            limit=limit,
            max_drop=max_drop,
            keep_share=keep_share,
            seed=seed,
            progress=progress,
            cached_only=cached_only,
            params=params,
        )
