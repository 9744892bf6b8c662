"""A workspace's records (models, datasets, evaluations) read without torch.

`compresslens ls`, `datasets` and `show` only list what is stored; importing the whole facade
(torch, scipy) would cost them seconds of start-up, so they read through this small view.
The answers are the same records `Workspace.models()` etc. return.
"""

from __future__ import annotations

from pathlib import Path

from compresslens.records import DatasetInfo, EvaluationInfo, ModelInfo
from compresslens.store.repository import WorkspaceStore
from compresslens.store.schema import Model


class WorkspaceCatalog:
    """The listing half of a Workspace: records out, nothing loaded or computed."""

    def __init__(
        self, location: str | Path = "demo-workspace", artifacts: str | Path | None = None
    ) -> None:
        self.store = WorkspaceStore(location, artifacts)
        self.location = str(location)

    def close(self) -> None:
        self.store.db.close()

    def datasets(self) -> list[DatasetInfo]:
        return [DatasetInfo.from_row(row) for row in self.store.list_datasets()]

    def models(self) -> list[ModelInfo]:
        rows = self.store.list_models()
        names = {d.id: d.name for d in self.store.list_datasets()}
        by_model: dict[str, list] = {}
        for metric in self.store.metrics_of():
            by_model.setdefault(metric.model_id, []).append(metric)
        return [ModelInfo.from_row(row, by_model.get(row.id, []), names) for row in rows]

    def model(self, model: str) -> ModelInfo:
        return self._info(self.store.get_model(model))

    def lineage(self, model: str) -> list[ModelInfo]:
        """The models from the root to `model`, along each edge's first parent."""
        return [self._info(row) for row in self.store.lineage(self.model(model).id)]

    def evaluations(self, model: str) -> list[EvaluationInfo]:
        info = self.model(model)
        names = {d.id: d.name for d in self.store.list_datasets()}
        return [
            EvaluationInfo.from_row(row, names[row.dataset_id], info.efficiency)
            for row in self.store.evaluations_of(info.id)
        ]

    def _info(self, row: Model) -> ModelInfo:
        names = {d.id: d.name for d in self.store.list_datasets()}
        return ModelInfo.from_row(row, self.store.metrics_of([row.id]), names)
