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

from compresslens.data.arrays import DatasetArrays
from compresslens.input_rules import check_note, check_tags
from compresslens.models.hf import HF_FACTORY, load_pretrained
from compresslens.records import DatasetInfo, EvaluationInfo, ModelInfo
from compresslens.store.garbage import DEFAULT_GRACE_S, GarbageReport
from compresslens.store.repository import WorkspaceStore
from compresslens.workspace import derive, evaluation
from compresslens.workspace import generations as generation_views
from compresslens.workspace import geometry as geometry_views
from compresslens.workspace.analyses import AnalysisMethods
from compresslens.workspace.datasets import DatasetCatalog
from compresslens.workspace.flip_attribution import FlipAttributionMethods
from compresslens.workspace.location import check_workspace_location
from compresslens.workspace.models import ModelCatalog
from compresslens.workspace.stored_outputs import read_features, read_logits, read_outputs
from compresslens.workspace.token_evaluation import COMPACT_K
from compresslens.workspace.tokens import TokenMethods
from compresslens.workspace.tradeoffs import TradeoffMethods
from compresslens.workspace.views import ViewMethods

ModelRef = str | ModelInfo
DatasetRef = str | DatasetInfo
Progress = Callable[[int, int], None]


def _ref(value: ModelRef | DatasetRef) -> str:
    return value if isinstance(value, str) else value.id


class Workspace(
    AnalysisMethods, ViewMethods, TokenMethods, FlipAttributionMethods, TradeoffMethods
):
    """A folder (SQLite + artifacts) or a database URL plus an artifacts folder.

    The analysis methods (select, compare, pies, agreement, robustness, sensitivity, …)
    come from `AnalysisMethods` in `compresslens.workspace.analyses`; the views the UI shows
    (behaviours, calibration, instances, pies_view, layers, geometry_view, …) from
    `ViewMethods` in `compresslens.workspace.views`; token corpora and token-level
    comparison of language models from `TokenMethods` in `compresslens.workspace.tokens`.
    """

    def __init__(
        self, location: str | Path = "demo-workspace", artifacts: str | Path | None = None
    ):
        check_workspace_location(location)
        self.store = WorkspaceStore(location, artifacts)
        self.location = str(location)
        self._datasets = DatasetCatalog(self.store)
        self._models = ModelCatalog(self.store, self._datasets)

    def __repr__(self) -> str:
        return f"Workspace({self.location!r})"

    def close(self) -> None:
        self.store.db.close()

    def gc(self, *, dry_run: bool = False, grace_s: float = DEFAULT_GRACE_S) -> GarbageReport:
        """Delete artifact files no row refers to and older than `grace_s` (younger ones may
        belong to a write in progress); the only way compresslens deletes a file."""
        return self.store.collect_garbage(dry_run=dry_run, grace_s=grace_s)

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
        info = self._models.log(
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
        for dataset in outputs or {}:  # evaluated like our own: flip metrics against the root
            self.behaviour_metrics(dataset)
        return self.model(info.id)

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
        self.store.add_tags(info.id, check_tags(tags))
        return self.model(info.id)

    def note(self, model: ModelRef, text: str) -> ModelInfo:
        check_note(text)
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
        window: int | None = None,
        stride: int | None = None,
        compact_k: int = COMPACT_K,
    ) -> EvaluationInfo:
        """Run the stored model over the dataset; store outputs, metrics and efficiency.

        A causal LM runs on a token dataset over sliding windows (`window`: the model's
        context, `stride`: half of it; `batch_size` counts tokens), one instance per token;
        its compact outputs (top-`compact_k` log-probabilities) are stored, and a model
        derived from a root is compared with the root on identical tokens (kld_mean,
        same_top, correct_to_incorrect, … as metrics on the dataset; see
        `token_comparison`).
        """
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
            window=window,
            stride=stride,
            compact_k=compact_k,
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
        return geometry_views.corrupted_margins(
            self, model, dataset, corruption, severity, limit=limit, seed=seed
        )

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
        return geometry_views.occlusion(self, model, dataset, index, patch=patch, stride=stride)

    def geometry(self, model: ModelRef, dataset: DatasetRef | None = None) -> dict[str, Any]:
        """One model's last-layer geometry per class: θ_y, ‖f‖ and margin summaries."""
        return geometry_views.geometry(self, model, dataset)

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
        return geometry_views.geometry_map(self, models, dataset, base=base, method=method)

    def geometry_inputs(
        self, model: ModelRef, dataset: DatasetRef
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Penultimate features f [N, D] and the final layer's W [C, D], b [C].

        Features that were not stored are computed once (re-evaluating with features=True).
        """
        return geometry_views.geometry_inputs(self, model, dataset)

    # -- generations ---------------------------------------------------------------------
    def generate(
        self,
        model: ModelRef,
        dataset: DatasetRef,
        *,
        prompts: int = 16,
        prompt_tokens: int = 8,
        length: int = 32,
        threads: int = 1,
        cached_only: bool = False,
    ) -> dict[str, Any]:
        """Greedy continuations of `length` tokens from a token dataset's fixed prompts (the
        first `prompt_tokens` tokens of its first `prompts` long-enough entries); stored once.

        The models run with `threads` torch threads, part of the stored result's key: the
        float reduction order, so a near-tie between two tokens, depends on it."""
        return generation_views.generate(
            self,
            model,
            dataset,
            prompts=prompts,
            prompt_tokens=prompt_tokens,
            length=length,
            threads=threads,
            cached_only=cached_only,
        )

    def compare_generations(
        self,
        base: ModelRef,
        model: ModelRef,
        dataset: DatasetRef,
        *,
        prompts: int = 16,
        prompt_tokens: int = 8,
        length: int = 32,
        threads: int = 1,
        cached_only: bool = False,
    ) -> dict[str, Any]:
        """Both models' generations side by side, per prompt the first diverging position
        (None: identical) and the shared prefix; summary: share identical, mean prefix."""
        return generation_views.compare_generations(
            self,
            base,
            model,
            dataset,
            prompts=prompts,
            prompt_tokens=prompt_tokens,
            length=length,
            threads=threads,
            cached_only=cached_only,
        )
