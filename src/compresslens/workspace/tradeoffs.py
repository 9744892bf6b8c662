"""Trade-offs that include behaviour: flip metrics vs the root, the Pareto frontier, and a
chosen model's recipe (mixed into `Workspace`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from compresslens.records import DatasetInfo, EvaluationInfo, ModelInfo
from compresslens.workspace import behaviour_metrics, recipe_export
from compresslens.workspace import pareto as pareto_views
from compresslens.workspace.models import ModelCatalog

ModelRef = str | ModelInfo
DatasetRef = str | DatasetInfo


class TradeoffMethods:
    """Mixed into `Workspace`, which defines the model and dataset lookups used here."""

    _models: ModelCatalog

    if TYPE_CHECKING:  # defined by Workspace

        def model(self, model: ModelRef) -> ModelInfo: ...

        def models(self) -> list[ModelInfo]: ...

        def dataset(self, dataset: DatasetRef) -> DatasetInfo: ...

        def lineage(self, model: ModelRef) -> list[ModelInfo]: ...

        def evaluations(self, model: ModelRef) -> list[EvaluationInfo]: ...

    def behaviour_metrics(
        self, dataset: DatasetRef | None = None, *, force: bool = False
    ) -> list[dict[str, Any]]:
        """Store negative_flip_rate, positive_flip_rate, worst_class_change and kld_mean
        (against the lineage root, on the same dataset) wherever they are missing (everywhere
        with `force`); `evaluate` does this itself, this fills in models evaluated before.
        Answers one {model, dataset, metrics} record per evaluation written."""
        ids = None if dataset is None else [self.dataset(dataset).id]
        return behaviour_metrics.backfill(self._models.store, dataset_ids=ids, force=force)

    def pareto(
        self, objectives: Sequence[str], dataset: DatasetRef | None = None
    ) -> dict[str, Any]:
        """The models no other beats on every objective at once.

        `objectives`: metric names or aliases (bytes, nfr, latency, kld, worst, …), each with
        an optional direction (`accuracy:max`; default: the metric's own). Dataset metrics
        are read on `dataset` (default: the one where most models have them all). Answers
        the frontier (best first on the first objective), the dominated models and those
        excluded for a missing value, each with its values.
        """
        name = None if dataset is None else self.dataset(dataset).name
        return pareto_views.pareto(self.models(), objectives, name)

    def export_recipe(self, model: ModelRef, keep: Sequence[str] = ()) -> str:
        """The recipe (YAML) whose run rebuilds `model` from its root: one stage per operation
        of its chain, with the stored parameters and seed; the root referenced by name.
        `keep` (module names, e.g. `ws.attribute_flips(...).greedy_set`) joins every exclude
        list of the chain, so the recipe makes the chain without compressing them."""
        info = self.model(model)
        return recipe_export.export_recipe(
            self.lineage(info.id), self.evaluations(info.id), keep=keep
        )
