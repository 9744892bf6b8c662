"""The Workspace facade: one object that composes store, models, ops and evaluate for users.

No layer imports this module; it is the public surface described in DESIGN.md. Each method
resolves the models and datasets it names once and hands the records to the module of its
family (datasets, models, derive, evaluation, populations, robustness, sensitivity,
comparison), which does the work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from compresslens.analysis.geometry import (
    geometry_scales,
    geometry_vector,
    margin,
    model_map,
    per_class_angle_length,
)
from compresslens.analysis.robustness import CORRUPTIONS, SEVERITIES, corrupt
from compresslens.data.arrays import DatasetArrays
from compresslens.errors import NotFoundError
from compresslens.evaluate.harness import evaluate_arrays, penultimate_module
from compresslens.models.hf import HF_FACTORY, load_pretrained
from compresslens.records import DatasetInfo, EvaluationInfo, ModelInfo
from compresslens.store.repository import WorkspaceStore
from compresslens.workspace import derive, evaluation, populations, robustness, sensitivity
from compresslens.workspace.comparison import (
    Comparison,
    classifier_parameters,
    occlusion_attribution,
)
from compresslens.workspace.datasets import DatasetCatalog
from compresslens.workspace.models import ModelCatalog
from compresslens.workspace.selectors import common_dataset, select_models
from compresslens.workspace.sources import DatasetEvaluations, PairSources
from compresslens.workspace.stored_outputs import read_features, read_logits, read_outputs

ModelRef = str | ModelInfo
DatasetRef = str | DatasetInfo
Progress = Callable[[int, int], None]


def _ref(value: ModelRef | DatasetRef) -> str:
    return value if isinstance(value, str) else value.id


class Workspace:
    """A folder (SQLite + artifacts) or a database URL plus an artifacts folder."""

    def __init__(
        self, location: str | Path = "demo-workspace", artifacts: str | Path | None = None
    ):
        self.store = WorkspaceStore(location, artifacts)
        self.location = str(location)
        self._datasets = DatasetCatalog(self.store)
        self._models = ModelCatalog(self.store, self._datasets)

    def __repr__(self) -> str:
        return f"Workspace({self.location!r})"

    def close(self) -> None:
        self.store.db.close()

    # -- datasets ------------------------------------------------------------------------
    def add_dataset(
        self,
        name: str,
        data: Any,
        labels: Any = None,
        *,
        class_names: Sequence[str] | None = None,
        num_classes: int | None = None,
        attributes: Mapping[str, Any] | None = None,
        texts: Sequence[str] | None = None,
        modality: str | None = None,
        description: str = "",
        tokenizer: str | Path | None = None,
        max_length: int = 128,
    ) -> DatasetInfo:
        """Register data once; the same name with the same content returns the existing one.

        `data` is a tensor/array [N, ...], named tensors (a mapping, e.g. a tokenizer's
        input_ids and attention_mask: keyword inputs), a torch Dataset, or a list of
        strings with `tokenizer=<local folder>`: they are stored as token ids and attention
        masks (at most `max_length` tokens), and the strings are kept for display.
        """
        return self._datasets.add(
            name,
            data,
            labels,
            class_names=class_names,
            num_classes=num_classes,
            attributes=attributes,
            texts=texts,
            modality=modality,
            description=description,
            tokenizer=tokenizer,
            max_length=max_length,
        )

    def dataset(self, dataset: DatasetRef) -> DatasetInfo:
        return self._datasets.info(_ref(dataset))

    def datasets(self) -> list[DatasetInfo]:
        return self._datasets.all()

    def load_dataset(self, dataset: DatasetRef) -> DatasetArrays:
        """The dataset's arrays; content-addressed, so the last few loaded are kept in memory.

        The returned arrays are shared between calls: treat them as read-only.
        """
        return self._datasets.load(_ref(dataset))

    def render_instance(self, dataset: DatasetRef, index: int, size: int = 56) -> bytes | str:
        """A PNG thumbnail for an image instance, the raw text for a text instance."""
        return self._datasets.render(_ref(dataset), index, size)

    # -- models --------------------------------------------------------------------------
    def add_model(
        self,
        model: nn.Module,
        *,
        name: str,
        factory: str | None = None,
        factory_kwargs: Mapping[str, Any] | None = None,
        weights: str | Path | None = None,
        input_shape: Sequence[int] | None = None,
        tags: Iterable[str] = (),
        note: str | None = None,
    ) -> ModelInfo:
        """Store a root model: its factory rebuilds the architecture, safetensors the values.

        `input_shape` is the shape of one input instance without the batch dimension (e.g.
        [1, 28, 28]); operations trace and check the model on an example of it. Without it,
        the first registered dataset the model runs on gives the shape. A transformers model
        needs no factory: its config is stored and rebuilds it (see `add_hf_model`).
        """
        return self._models.add(
            model,
            name=name,
            factory=factory,
            factory_kwargs=factory_kwargs,
            weights=weights,
            input_shape=input_shape,
            tags=tags,
            note=note,
        )

    def add_hf_model(
        self,
        path: str | Path,
        *,
        name: str,
        task: str = "sequence-classification",
        num_labels: int | None = None,
        tags: Iterable[str] = (),
        note: str | None = None,
    ) -> ModelInfo:
        """Register a Hugging Face transformers model from a local folder (save_pretrained).

        The config is stored in the workspace (factory `compresslens.models.hf:from_config`)
        and the weights as safetensors, so the folder is not needed afterwards. `task`
        picks the head (sequence-classification, token-classification, causal-lm,
        masked-lm, base); `num_labels` gives a classification head that many classes (a
        new head starts untrained, as in transformers). Nothing is downloaded.
        """
        overrides = {} if num_labels is None else {"num_labels": int(num_labels)}
        model, kwargs = load_pretrained(path, task, overrides)
        return self.add_model(
            model, name=name, factory=HF_FACTORY, factory_kwargs=kwargs, tags=tags, note=note
        )

    def train(
        self,
        factory: str,
        factory_kwargs: Mapping[str, Any] | None = None,
        *,
        dataset: DatasetRef,
        seed: int = 0,
        name: str | None = None,
        tags: Iterable[str] = (),
        on_step: Callable[[int, int, float], None] | None = None,
        threads: int | None = None,
        **train_params: Any,
    ) -> ModelInfo:
        """Train a root model from scratch (one member of a population per seed).

        The root keeps its factory, and its edge `train.scratch` (no parents) records the
        training parameters, seed, versions, wall time and the torch thread count it ran
        with (`threads`, default: the current count); the same call is a cache hit.
        """
        return derive.train(
            self._models,
            factory,
            factory_kwargs,
            self.dataset(dataset),
            seed=seed,
            name=name,
            tags=tags,
            on_step=on_step,
            threads=threads,
            train_params=train_params,
        )

    def planned_id(
        self,
        parent: ModelRef,
        operation: str,
        *,
        seed: int = 0,
        teacher: ModelRef | None = None,
        **params: Any,
    ) -> str:
        """The id `compress` gives this child: a hash of parents, operation, params and seed."""
        return derive.planned_id(self._edge_parents(parent, teacher), operation, seed, params)

    def _edge_parents(self, parent: ModelRef, teacher: ModelRef | None) -> list[tuple[str, str]]:
        parents = [(self.model(parent).id, "input")]
        if teacher is not None:
            parents.append((self.model(teacher).id, "teacher"))
        return parents

    def compress(
        self,
        parent: ModelRef,
        operation: str,
        *,
        seed: int = 0,
        name: str | None = None,
        teacher: ModelRef | None = None,
        tags: Iterable[str] = (),
        record_failure: bool = False,
        threads: int | None = None,
        **params: Any,
    ) -> ModelInfo:
        """Apply a registered operation to a stored model and store the child with its edge.

        A child that exists already is returned as it is (the id is a content hash). The
        child must answer an example input with the parent's output shape, or nothing is
        stored. With `record_failure`, an operation that raises leaves a failed node with
        its traceback. The computation runs with `threads` torch threads (default: the
        current count), recorded in the edge: the weights depend on it.
        """
        return derive.compress(
            self._models,
            self._edge_parents(parent, teacher),
            operation,
            seed=seed,
            name=name,
            tags=tags,
            record_failure=record_failure,
            threads=threads,
            params=params,
        )

    def log_model(
        self,
        name: str,
        *,
        parents: Sequence[ModelRef] = (),
        operation: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | Mapping[str, Mapping[str, float]] | None = None,
        weights: nn.Module | Mapping[str, torch.Tensor] | str | Path | None = None,
        factory: str | None = None,
        factory_kwargs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        note: str | None = None,
    ) -> ModelInfo:
        """Record a model trained or compressed elsewhere: parents, operation, metrics.

        `metrics` maps names to values (of the model) or dataset names to such maps;
        `outputs` maps dataset names to logits [N, classes], evaluated like our own runs.
        """
        return self._models.log(
            name,
            parent_ids=[self.model(p).id for p in parents],
            operation=operation,
            metrics=metrics,
            weights=weights,
            factory=factory,
            factory_kwargs=factory_kwargs,
            outputs=outputs,
            tags=tags,
            note=note,
        )

    def model(self, model: ModelRef) -> ModelInfo:
        return self._models.info(_ref(model))

    def models(self) -> list[ModelInfo]:
        return self._models.all()

    def lineage(self, model: ModelRef) -> list[ModelInfo]:
        """The models from the root to `model`, along each edge's first parent."""
        return self._models.lineage(self.model(model).id)

    def load_model(self, model: ModelRef) -> nn.Module:
        """Rebuild without pickle: factory, replayed architecture changes, stored weights."""
        return self._models.load(_ref(model))

    def tag(self, model: ModelRef, *tags: str) -> ModelInfo:
        info = self.model(model)
        self.store.add_tags(info.id, list(tags))
        return self.model(info.id)

    def note(self, model: ModelRef, text: str) -> ModelInfo:
        info = self.model(model)
        self.store.add_note(info.id, text)
        return self.model(info.id)

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(
        self,
        model: ModelRef,
        dataset: DatasetRef,
        *,
        batch_size: int = 256,
        logits: bool = False,
        features: bool | str = False,
        latency: bool = True,
        threads: int = 1,
        progress: Progress | None = None,
    ) -> EvaluationInfo:
        """Run the stored model over the dataset; store outputs, metrics and efficiency."""
        return evaluation.evaluate(
            self._models,
            self.model(model),
            self.dataset(dataset),
            batch_size=batch_size,
            logits=logits,
            features=features,
            latency=latency,
            threads=threads,
            progress=progress,
        )

    def evaluation(self, model: ModelRef, dataset: DatasetRef) -> EvaluationInfo:
        info, data_info = self.model(model), self.dataset(dataset)
        found = self.store.evaluation_infos(info.id, data_info.id)
        if not found:
            self.store.evaluation_files(info.id, data_info.id)  # raises: not evaluated
        return found[0]

    def evaluations(self, model: ModelRef) -> list[EvaluationInfo]:
        return self.store.evaluation_infos(self.model(model).id)

    def outputs(self, model: ModelRef, dataset: DatasetRef) -> dict[str, np.ndarray]:
        """Per-instance outputs (label, prediction, confidence, loss, margin, top-k) as arrays."""
        return read_outputs(self.store, self._evaluation_files(model, dataset))

    def logits(self, model: ModelRef, dataset: DatasetRef) -> torch.Tensor:
        return read_logits(self.store, self._evaluation_files(model, dataset))

    def features(self, model: ModelRef, dataset: DatasetRef) -> torch.Tensor:
        return read_features(self.store, self._evaluation_files(model, dataset))

    def _evaluation_files(self, model: ModelRef, dataset: DatasetRef) -> Any:
        return self.store.evaluation_files(self.model(model).id, self.dataset(dataset).id)

    # -- comparison ----------------------------------------------------------------------
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
        """The pairwise prediction-agreement matrix [M, M] of the selected models."""
        chosen = self.select(models)
        reader = DatasetEvaluations(self._models, self._dataset_of(chosen, dataset))
        return populations.agreement(reader, chosen)

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

    def corrupted_margins(
        self,
        model: ModelRef,
        dataset: DatasetRef,
        corruption: str,
        severity: int,
        *,
        limit: int = 2000,
        seed: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Margins m of the first `limit` instances, clean and under one corruption."""
        info, data_info = self.model(model), self.dataset(dataset)
        arrays = self.load_dataset(data_info.id)
        inputs, labels = arrays.inputs[:limit], arrays.labels[:limit]
        module = self.load_model(info.id)
        margins = []
        for images in (inputs, corrupt(inputs, corruption, severity, seed=seed)):
            result = evaluate_arrays(module, images, labels, data_info.num_classes, features=True)
            W, b = classifier_parameters(module, result.features_module or "")
            assert result.features is not None
            margins.append(margin(result.features.numpy(), W, b, labels.numpy()))
        return margins[0], margins[1]

    def occlusion(
        self,
        model: ModelRef,
        dataset: DatasetRef,
        index: int,
        *,
        patch: int = 4,
        stride: int = 4,
    ) -> dict[str, Any]:
        """How occluding each patch of one image changes θ_y, ‖f‖ and the margin."""
        info, data_info = self.model(model), self.dataset(dataset)
        if not 0 <= index < data_info.num_instances:
            raise NotFoundError(f"instance {index} is outside 0..{data_info.num_instances - 1}")
        arrays = self.load_dataset(data_info.id)
        module = self.load_model(info.id)
        feature_module = penultimate_module(module)
        maps = occlusion_attribution(
            module,
            arrays.inputs[index : index + 1],
            int(arrays.labels[index]),
            patch=patch,
            stride=stride,
            feature_module=feature_module,
        )
        return {"model": info.name, "instance": index, "patch": patch, "stride": stride, **maps}

    def geometry(self, model: ModelRef, dataset: DatasetRef | None = None) -> dict[str, Any]:
        """One model's last-layer geometry per class: θ_y, ‖f‖ and margin summaries."""
        info = self.model(model)
        data_info = (
            common_dataset(self.datasets(), [info]) if dataset is None else self.dataset(dataset)
        )
        f, W, b = self.geometry_inputs(info.id, data_info.id)
        labels = self.outputs(info.id, data_info.id)["label"]
        summary = per_class_angle_length(f, W, b, labels, data_info.num_classes)
        return {
            "model": info.name,
            "dataset": data_info.name,
            "per_class": summary,
            "class_names": data_info.class_names,
        }

    def geometry_map(
        self,
        models: str | Sequence[ModelRef],
        dataset: DatasetRef,
        *,
        base: ModelRef | None = None,
        method: str = "auto",
    ) -> dict[str, Any]:
        """A 2-D map of models by their geometry vectors [θ_y ‖ ‖f‖ ‖ m], with the MST.

        Every model is scaled by the base model's block RMS (the first selected by default),
        so an overall shrinkage of features or margins stays visible (Li et al.).
        """
        chosen = self.select(models)
        data_info = self.dataset(dataset)
        base_info = self.model(base) if base is not None else chosen[0]
        labels = self.outputs(base_info.id, data_info.id)["label"]
        scales = geometry_scales(*self.geometry_inputs(base_info.id, data_info.id), labels)
        vectors = np.stack(
            [
                geometry_vector(*self.geometry_inputs(m.id, data_info.id), labels, scales=scales)
                for m in chosen
            ]
        )
        layout = model_map(vectors, method=method)  # type: ignore[arg-type]
        return {
            "models": [{"id": m.id, "name": m.name} for m in chosen],
            "coordinates": layout["coordinates"],
            "edges": [
                {"source": chosen[i].name, "target": chosen[j].name, "distance": d}
                for i, j, d in layout["edges"]
            ],
            "method": layout["method"],
        }

    def geometry_inputs(
        self, model: ModelRef, dataset: DatasetRef
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Penultimate features f [N, D] and the final layer's W [C, D], b [C].

        Features that were not stored are computed once (re-evaluating with features=True).
        """
        info, data_info = self.model(model), self.dataset(dataset)
        evaluation = self.evaluation(info.id, data_info.id)
        if not evaluation.has_features:
            self.evaluate(info.id, data_info.id, features=True, logits=evaluation.has_logits)
            evaluation = self.evaluation(info.id, data_info.id)
        features = self.features(info.id, data_info.id).numpy()
        W, b = classifier_parameters(self.load_model(info.id), evaluation.features_module or "")
        return features, W, b
