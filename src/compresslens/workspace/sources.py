"""What an analysis over stored evaluations reads, resolved once by the facade.

`DatasetEvaluations` reads each model's evaluation row once and its arrays once (kept in
memory for the life of the object: the facade's memo of loaded arrays). `PairSources`
adds what a `Comparison` needs beyond outputs and logits, as narrow loaders, so the
comparison never holds the Workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from compresslens.data.arrays import DatasetArrays
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.store.snapshots import EvaluationFiles
from compresslens.workspace.models import ModelCatalog
from compresslens.workspace.results import stored_result
from compresslens.workspace.stored_outputs import read_logits, read_outputs

GeometryInputs = Callable[[ModelInfo], tuple[np.ndarray, np.ndarray, np.ndarray]]
CorruptedMargins = Callable[[ModelInfo, str, int, int, int], tuple[np.ndarray, np.ndarray]]


class DatasetEvaluations:
    """The stored evaluations of models on one dataset; each row and array read once."""

    def __init__(
        self,
        models: ModelCatalog,
        dataset: DatasetInfo,
        files: Mapping[str, EvaluationFiles] | None = None,
    ) -> None:
        self.models = models
        self.dataset = dataset
        self._files: dict[str, EvaluationFiles] = dict(files or {})
        self._outputs: dict[str, dict[str, np.ndarray]] = {}
        self._logits: dict[str, torch.Tensor] = {}

    def files(self, model: ModelInfo) -> EvaluationFiles:
        """The evaluation's artifacts (NotFoundError if `model` was not evaluated)."""
        if model.id not in self._files:
            self._files[model.id] = self.models.store.evaluation_files(model.id, self.dataset.id)
        return self._files[model.id]

    def outputs(self, model: ModelInfo) -> dict[str, np.ndarray]:
        if model.id not in self._outputs:
            self._outputs[model.id] = read_outputs(self.models.store, self.files(model))
        return self._outputs[model.id]

    def logits(self, model: ModelInfo) -> torch.Tensor:
        """Stored logits; NotFoundError when the evaluation kept none."""
        if model.id not in self._logits:
            self._logits[model.id] = read_logits(self.models.store, self.files(model))
        return self._logits[model.id]


class PairSources(DatasetEvaluations):
    """Everything a `Comparison` of two models reads (see `ComparisonSources`)."""

    def __init__(
        self,
        models: ModelCatalog,
        dataset: DatasetInfo,
        files: Mapping[str, EvaluationFiles],
        geometry_inputs: GeometryInputs,
        corrupted_margins: CorruptedMargins,
    ) -> None:
        super().__init__(models, dataset, files)
        self._geometry_inputs = geometry_inputs
        self._corrupted_margins = corrupted_margins

    def load_model(self, model: ModelInfo) -> torch.nn.Module:
        return self.models.load(model.id)

    def dataset_arrays(self) -> DatasetArrays:
        return self.models.datasets.load(self.dataset.id)

    def geometry_inputs(self, model: ModelInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._geometry_inputs(model)

    def corrupted_margins(
        self, model: ModelInfo, corruption: str, severity: int, limit: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._corrupted_margins(model, corruption, severity, limit, seed)

    def stored_result(
        self, kind: str, key: str, compute: Callable[[], Any], cached_only: bool, missing: str
    ) -> Any:
        return stored_result(
            self.models.store, kind, key, compute, cached_only=cached_only, missing=missing
        )
