"""The Workspace facade: one object that composes store, models, ops and evaluate for users.

No layer imports this module; it is the public surface described in DESIGN.md.
"""

from __future__ import annotations

import copy
import json
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from compresslens.analysis.predictions import pairwise_agreement
from compresslens.analysis.robustness import CORRUPTIONS, SEVERITIES, robustness_table
from compresslens.analysis.sensitivity import (
    layer_sensitivity,
    sensitivity_to_exclude_list,
    sensitivity_to_mixed_precision,
)
from compresslens.data.arrays import (
    MODALITIES,
    DatasetArrays,
    arrays_from_bytes,
    arrays_to_bytes,
    as_dataset_arrays,
    instance_table_bytes,
)
from compresslens.data.inputs import (
    Inputs,
    TensorFields,
    example_from_spec,
    input_spec,
    spec_from_shape,
)
from compresslens.data.render import render_image_png
from compresslens.data.text import is_text_list, load_tokenizer, tokenize, tokenizer_description
from compresslens.errors import (
    DataFormatError,
    DuplicateNameError,
    FactoryError,
    IncompatibleDatasetError,
    NotComputedError,
    NotFoundError,
    OperationError,
)
from compresslens.evaluate.harness import EvaluationResult, evaluate_arrays
from compresslens.evaluate.metrics import classification_metrics
from compresslens.evaluate.outputs import instance_outputs
from compresslens.evaluate.parquet import outputs_from_parquet, outputs_to_parquet
from compresslens.evaluate.profile import compute_profile, efficiency_metrics, size_profile
from compresslens.ids import content_id, derived_model_id, trained_model_id
from compresslens.models.calling import model_output
from compresslens.models.factory import (
    build_from_factory,
    check_json_kwargs,
    refuse_main_module_factory,
)
from compresslens.models.hf import (
    HF_FACTORY,
    factory_kwargs_of,
    is_hf_model,
    keyword_input_spec,
    load_pretrained,
)
from compresslens.models.rebuild import NodeRecipe, rebuild_model
from compresslens.models.state_codec import export_state, restore_state
from compresslens.models.weights import (
    load_state_into,
    read_weights_file,
    shapes_from_safetensors_bytes,
    state_dict_from_bytes,
    state_dict_to_bytes,
)
from compresslens.ops.outputs import apply_operation
from compresslens.ops.registry import (
    OperationContext,
    get_operation,
    replay_architecture,
    validate_params,
)
from compresslens.ops.selection import select_modules, why_not_per_layer
from compresslens.ops.train_params import ScratchTrainParams
from compresslens.ops.training import train_classifier
from compresslens.records import DatasetInfo, EvaluationInfo, ModelInfo
from compresslens.store.artifacts import sha256_bytes
from compresslens.store.repository import WorkspaceStore
from compresslens.store.schema import Dataset, Evaluation, Model
from compresslens.threads import intra_op_threads
from compresslens.versions import library_versions
from compresslens.workspace import behaviours as behaviour_views
from compresslens.workspace import differences as difference_views
from compresslens.workspace import geometry as geometry_views
from compresslens.workspace.comparison import (
    Comparison,
    evaluate_corruptions,
    pie_report,
    population_predictions,
)
from compresslens.workspace.selectors import (
    common_dataset,
    common_datasets,
    level_order,
    select_models,
)

ModelRef = str | ModelInfo
DatasetRef = str | DatasetInfo
Progress = Callable[[int, int], None]
SENSITIVITY_VERSION = 1  # bump when the stored sensitivity sweep changes its output


TASK_METRICS = ("accuracy", "top5_accuracy", "loss", "ece")
DATASET_CACHE_SIZE = 3


def _ref(value: ModelRef | DatasetRef) -> str:
    return value if isinstance(value, str) else value.id


class Workspace:
    """A folder (SQLite + artifacts) or a database URL plus an artifacts folder."""

    def __init__(
        self, location: str | Path = "demo-workspace", artifacts: str | Path | None = None
    ):
        self.store = WorkspaceStore(location, artifacts)
        self.location = str(location)
        self._dataset_cache: dict[tuple[str, str], DatasetArrays] = {}

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
        if is_text_list(data):
            if tokenizer is None:
                raise DataFormatError(
                    f"dataset {name!r}: the inputs are {len(data)} strings; pass "
                    "tokenizer=<local tokenizer folder> to store them as token ids and "
                    "attention masks"
                )
            texts = list(data) if texts is None else texts
            data = tokenize(data, load_tokenizer(tokenizer), max_length)
            note = tokenizer_description(tokenizer, max_length)
            description = f"{description} ({note})" if description else note
        elif tokenizer is not None:
            raise DataFormatError("tokenizer=… tokenizes a list of strings; these inputs are not")
        arrays = as_dataset_arrays(data, labels, attributes, texts)
        observed = int(arrays.labels.max()) + 1
        if class_names is not None:
            class_names = [str(c) for c in class_names]
            if num_classes is not None and num_classes != len(class_names):
                raise DataFormatError(
                    f"num_classes={num_classes} but {len(class_names)} class names"
                )
            num_classes = len(class_names)
        num_classes = num_classes or observed
        if observed > num_classes:
            raise DataFormatError(
                f"labels go up to {observed - 1} but the dataset declares {num_classes} classes"
            )
        class_names = class_names or [str(i) for i in range(num_classes)]
        modality = modality or ("text" if texts is not None else _guess_modality(arrays.inputs))
        if modality not in MODALITIES:
            raise DataFormatError(f"modality must be one of {MODALITIES}, not {modality!r}")
        digest = arrays.content_hash()
        existing = self.store.find_dataset_by_name(name)
        if existing is not None:
            if existing.content_hash == digest:
                return DatasetInfo.from_row(existing)
            raise DuplicateNameError(f"a different dataset named {name!r} already exists")
        dataset_id = content_id("dataset", name, digest)
        with self.store.write() as writer:
            row = Dataset(
                id=dataset_id,
                name=name,
                modality=modality,
                num_instances=arrays.num_instances,
                num_classes=num_classes,
                class_names=class_names,
                input_shape=_instance_shape(arrays.inputs),
                input_dtype=_input_dtype(arrays.inputs),
                attribute_names=sorted(arrays.attributes),
                content_hash=digest,
                arrays_artifact=writer.put(arrays_to_bytes(arrays), "dataset-arrays"),
                table_artifact=writer.put(instance_table_bytes(arrays), "dataset-table"),
                description=description,
            )
            writer.session.add(row)
        return DatasetInfo.from_row(row)

    def dataset(self, dataset: DatasetRef) -> DatasetInfo:
        return DatasetInfo.from_row(self.store.get_dataset(_ref(dataset)))

    def datasets(self) -> list[DatasetInfo]:
        return [DatasetInfo.from_row(row) for row in self.store.list_datasets()]

    def load_dataset(self, dataset: DatasetRef) -> DatasetArrays:
        """The dataset's arrays; content-addressed, so the last few loaded are kept in memory.

        The returned arrays are shared between calls: treat them as read-only.
        """
        row = self.store.get_dataset(_ref(dataset))
        key = (row.arrays_artifact, row.table_artifact)
        if key not in self._dataset_cache:
            if len(self._dataset_cache) >= DATASET_CACHE_SIZE:
                self._dataset_cache.pop(next(iter(self._dataset_cache)))
            self._dataset_cache[key] = arrays_from_bytes(
                self.store.read_artifact(row.arrays_artifact),
                self.store.read_artifact(row.table_artifact),
            )
        return self._dataset_cache[key]

    def render_instance(self, dataset: DatasetRef, index: int, size: int = 56) -> bytes | str:
        """A PNG thumbnail for an image instance, the raw text for a text instance."""
        info = self.dataset(dataset)
        if not 0 <= index < info.num_instances:
            raise NotFoundError(f"instance {index} is outside 0..{info.num_instances - 1}")
        arrays = self.load_dataset(info.id)
        if info.modality == "text":
            if arrays.texts is not None:
                return arrays.texts[index]
            inputs = arrays.inputs
            ids = inputs.field("input_ids")[index] if isinstance(inputs, TensorFields) else None
            return " ".join(map(str, (inputs[index] if ids is None else ids).tolist()))
        if isinstance(arrays.inputs, TensorFields):
            raise IncompatibleDatasetError(f"{info.name} holds keyword inputs, not an image")
        return render_image_png(arrays.inputs[index], size=size)

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
        if factory is None:
            if not is_hf_model(model):
                raise FactoryError(
                    f"add_model({name!r}) needs factory='package.module:function' (importable "
                    "where the workspace is opened) that builds this architecture"
                )
            factory, factory_kwargs = HF_FACTORY, factory_kwargs_of(model)
        refuse_main_module_factory(factory)
        kwargs = check_json_kwargs(factory_kwargs or {})
        if weights is not None:
            load_state_into(model, read_weights_file(weights))
        state_bytes = state_dict_to_bytes(export_state(model))
        # The factory must rebuild a module these weights fit, or the model is not reloadable.
        restore_state(build_from_factory(factory, kwargs), state_dict_from_bytes(state_bytes))
        model_id = content_id("added", name, factory, kwargs, sha256_bytes(state_bytes))
        row = Model(id=model_id, name=name, source="added", factory=factory, factory_kwargs=kwargs)
        row.input_spec = self._given_or_probed_spec(model, input_shape)
        if row.input_spec is None and is_hf_model(model):
            row.input_spec = keyword_input_spec(model)
        return self._insert_model(row, model, state_bytes, tags=tags, note=note)

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

    def _given_or_probed_spec(
        self, model: nn.Module, input_shape: Sequence[int] | None
    ) -> dict[str, Any] | None:
        """The spec of `input_shape`, else of the first registered dataset the model runs on."""
        if input_shape is not None:
            try:
                spec = spec_from_shape(list(input_shape), _float_dtype(model))
            except DataFormatError as exc:
                raise DataFormatError(f"add_model: {exc}") from None
            problem = _run_error(model, example_from_spec(spec))
            if problem is not None:
                raise DataFormatError(
                    f"add_model: the model does not run on an input of shape "
                    f"{list(input_shape)} (one instance, without the batch dimension): {problem}"
                )
            return spec
        for dataset in self.datasets():
            first = self.load_dataset(dataset.id).inputs[:1]
            if _run_error(model, first) is None:
                return input_spec(first)
        return None

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
        refuse_main_module_factory(factory)
        kwargs = check_json_kwargs(factory_kwargs or {})
        data_info = self.dataset(dataset)
        params = validate_params(
            ScratchTrainParams, {**train_params, "dataset": data_info.name}, "train.scratch"
        )
        params_json = params.model_dump(mode="json")
        model_id = trained_model_id(factory, kwargs, params_json, seed)
        if self.store.model_exists(model_id):
            return self.model(model_id)
        arrays = self.load_dataset(data_info.id)
        limit = params.limit or arrays.num_instances
        started = time.perf_counter()
        with intra_op_threads(threads) as used_threads:
            torch.manual_seed(seed)
            model = build_from_factory(factory, kwargs)
            train_classifier(
                model,
                arrays.inputs[:limit],
                arrays.labels[:limit],
                seed=seed,
                on_step=on_step,
                **params.model_dump(exclude={"dataset", "limit"}),
            )
        row = Model(
            id=model_id,
            name=name or f"{factory.rpartition(':')[2]}-seed{seed}#{model_id[:6]}",
            source="trained",
            factory=factory,
            factory_kwargs=kwargs,
            input_spec=input_spec(arrays.inputs[:1]),
        )
        edge = {
            "op_name": "train.scratch",
            "parents": [],
            "params": params_json,
            "seed": seed,
            "library_versions": library_versions(),
            "wall_time_s": time.perf_counter() - started,
            "threads": used_threads,
        }
        return self._insert_model(row, model, state_dict_to_bytes(export_state(model)), edge, tags)

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
        params = get_operation(operation).normalized(params)
        return derived_model_id(self._edge_parents(parent, teacher), operation, params, seed)

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
        spec = get_operation(operation)
        given = dict(params)
        params = spec.normalized(params)
        parents = self._edge_parents(parent, teacher)
        model_id = derived_model_id(parents, operation, params, seed)
        if self.store.model_exists(model_id):
            if self.store.get_model(model_id).status != "failed":
                return self.model(model_id)
            self.store.delete_model(model_id)  # a failed attempt is retried
        label = ",".join(f"{k}={v}" for k, v in sorted(given.items()))
        row = Model(
            id=model_id, name=name or f"{operation}({label})#{model_id[:6]}", source="derived"
        )
        edge = {
            "op_name": operation,
            "parents": parents,
            "params": params,
            "seed": seed,
            "library_versions": library_versions(),
        }
        context = OperationContext(
            seed=seed,
            parents=[self.load_model(pid) for pid, _ in parents],
            load_dataset=self.load_dataset,
        )
        started = time.perf_counter()
        with intra_op_threads(threads) as used_threads:
            edge["threads"] = used_threads
            try:
                row.input_spec = self._operation_input_spec(parents[0][0], params, context)
                if row.input_spec is not None:
                    context.example_input = example_from_spec(row.input_spec)
                torch.manual_seed(seed)
                child = apply_operation(spec, context.parents[0], spec.validate(params), context)
            except Exception as exc:
                if record_failure:
                    row.status = "failed"
                    failed_edge = {
                        **edge,
                        "status": "failed",
                        "error_text": traceback.format_exc(),
                    }
                    self._insert_model(row, None, None, failed_edge, tags)
                if isinstance(exc, OperationError):
                    raise
                raise OperationError(f"{operation} failed on {parents[0][0]}: {exc}") from exc
        edge["wall_time_s"] = time.perf_counter() - started
        return self._insert_model(row, child, state_dict_to_bytes(export_state(child)), edge, tags)

    def _operation_input_spec(
        self, parent_id: str, params: Mapping[str, Any], context: OperationContext
    ) -> dict[str, Any] | None:
        """What the child's example input is: the parent's spec, else `input_shape` or the
        operation's dataset, else the first registered dataset the parent runs on."""
        spec = self._recorded_input_spec(parent_id)
        if spec is not None:
            return spec
        parent = context.parents[0]
        if params.get("input_shape"):
            return spec_from_shape(params["input_shape"], _float_dtype(parent))
        if isinstance(params.get("dataset"), str):
            return input_spec(self.load_dataset(params["dataset"]).inputs[:1])
        return self._given_or_probed_spec(parent, None)

    def _recorded_input_spec(
        self, model_id: str, lineage: Sequence[Model] | None = None
    ) -> dict[str, Any] | None:
        """The nearest input spec along the lineage, else that of a dataset it was evaluated on."""
        lineage = self.store.lineage(model_id) if lineage is None else lineage
        for row in reversed(lineage):
            if row.input_spec:
                return dict(row.input_spec)
        for row in reversed(lineage):
            for evaluation in self.store.evaluations_of(row.id):
                return input_spec(self.load_dataset(evaluation.dataset_id).inputs[:1])
        return None

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
        parent_ids = [self.model(p).id for p in parents]
        op = dict(operation or {})
        if parent_ids and not op.get("name"):
            raise OperationError("a logged model with parents needs operation={'name': …}")
        kwargs = check_json_kwargs(factory_kwargs or {})
        op_params = check_json_kwargs(op.get("params", {}))
        state_bytes: bytes | None = None
        module: nn.Module | None = None
        if weights is not None:
            state = (
                read_weights_file(weights)
                if isinstance(weights, str | Path)
                else export_state(weights)
                if isinstance(weights, nn.Module)
                else dict(weights)
            )
            state_bytes = state_dict_to_bytes(state)
            module = weights if isinstance(weights, nn.Module) else None
            if module is None and factory is not None:
                module = restore_state(build_from_factory(factory, kwargs), state)
        model_metrics, dataset_metrics = _split_metrics(metrics or {})
        evaluations = {
            self.dataset(dataset).id: self._outputs_as_evaluation(dataset, logits)
            for dataset, logits in (outputs or {}).items()
        }
        for dataset in dataset_metrics:
            self.dataset(dataset)
        model_id = content_id("logged", name, parent_ids, op.get("name"), op_params)
        row = Model(id=model_id, name=name, source="logged", factory=factory, factory_kwargs=kwargs)
        edge = None
        if op.get("name"):
            edge = {
                "op_name": str(op["name"]),
                "parents": [(pid, "input") for pid in parent_ids],
                "params": op_params,
                "seed": op.get("seed"),
                "library_versions": dict(op.get("library_versions", {})),
                "wall_time_s": op.get("wall_time_s"),
            }
        return self._insert_model(
            row,
            module,
            state_bytes,
            edge,
            tags,
            note,
            model_metrics=model_metrics,
            dataset_metrics={self.dataset(d).id: v for d, v in dataset_metrics.items()},
            evaluations=evaluations,
        )

    def _insert_model(
        self,
        row: Model,
        module: nn.Module | None,
        state_bytes: bytes | None,
        edge: dict[str, Any] | None = None,
        tags: Iterable[str] = (),
        note: str | None = None,
        *,
        model_metrics: Mapping[str, float] | None = None,
        dataset_metrics: Mapping[str, Mapping[str, float]] | None = None,
        evaluations: Mapping[str, EvaluationResult] | None = None,
    ) -> ModelInfo:
        if self.store.model_exists(row.id):
            return self.model(row.id)
        efficiency = (
            size_profile(module, len(state_bytes)) if module is not None and state_bytes else {}
        )
        row.efficiency = efficiency
        with self.store.write() as writer:
            self.store.ensure_name_free(writer.session, Model, row.name, "model")
            if state_bytes is not None:
                row.weights_artifact = writer.put(state_bytes, "weights")
            writer.session.add(row)
            writer.session.flush()
            if edge is not None:
                self.store.add_edge(writer.session, row.id, **edge)
            self.store.set_metrics(
                writer.session,
                row.id,
                None,
                {**efficiency_metrics(efficiency), **(model_metrics or {})},
            )
            for dataset_id, values in (dataset_metrics or {}).items():
                self.store.set_metrics(writer.session, row.id, dataset_id, dict(values))
            for dataset_id, result in (evaluations or {}).items():
                self._write_evaluation(writer, row.id, dataset_id, result)
        if tags:
            self.store.add_tags(row.id, list(tags))
        if note:
            self.store.add_note(row.id, note)
        return self.model(row.id)

    def model(self, model: ModelRef) -> ModelInfo:
        row = self.store.get_model(_ref(model))
        return self._info(row)

    def models(self) -> list[ModelInfo]:
        rows = self.store.list_models()
        metrics = self.store.metrics_of()
        names = {d.id: d.name for d in self.store.list_datasets()}
        by_model: dict[str, list] = {}
        for metric in metrics:
            by_model.setdefault(metric.model_id, []).append(metric)
        return [ModelInfo.from_row(row, by_model.get(row.id, []), names) for row in rows]

    def lineage(self, model: ModelRef) -> list[ModelInfo]:
        """The models from the root to `model`, along each edge's first parent."""
        return [self._info(row) for row in self.store.lineage(self.model(model).id)]

    def _info(self, row: Model) -> ModelInfo:
        names = {d.id: d.name for d in self.store.list_datasets()}
        return ModelInfo.from_row(row, self.store.metrics_of([row.id]), names)

    def load_model(self, model: ModelRef) -> nn.Module:
        """Rebuild without pickle: factory, replayed architecture changes, stored weights."""
        target = self.store.get_model(_ref(model))
        lineage = self.store.lineage(target.id)
        recipes = [self._recipe(node) for node in lineage]
        example: list[Inputs | None] = []  # computed once, and only if a replay asks

        def example_input() -> Inputs | None:
            if not example:
                spec = self._recorded_input_spec(target.id, lineage)
                example.append(None if spec is None else example_from_spec(spec))
            return example[0]

        def replay(m: nn.Module, node: NodeRecipe) -> nn.Module:
            operation = get_operation(node.op_name or "")
            if operation.replay is None:
                return m
            return replay_architecture(
                m, node.op_name or "", node.op_params, node.stored_shapes(), example_input()
            )

        return rebuild_model(recipes, replay)

    def _recipe(self, row: Model) -> NodeRecipe:
        edge = row.produced_by
        digest = row.weights_artifact
        loader = shapes = None
        if digest is not None:

            def loader(digest: str = digest, name: str = row.name) -> dict[str, torch.Tensor]:
                return state_dict_from_bytes(self.store.read_artifact(digest), f"weights of {name}")

            def shapes(digest: str = digest) -> dict[str, tuple[int, ...]]:
                return shapes_from_safetensors_bytes(self.store.read_artifact(digest))

        return NodeRecipe(
            model_id=row.id,
            name=row.name,
            factory=row.factory,
            factory_kwargs=dict(row.factory_kwargs),
            op_name=edge.op_name if edge else None,
            op_params=dict(edge.params) if edge else {},
            load_weights=loader,
            load_shapes=shapes,
        )

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
        info = self.model(model)
        data_info = self.dataset(dataset)
        module = self.load_model(info.id)
        arrays = self.load_dataset(data_info.id)
        result = evaluate_arrays(
            module,
            arrays.inputs,
            arrays.labels,
            data_info.num_classes,
            batch_size=batch_size,
            keep_logits=logits,
            features=features,
            attributes=arrays.attributes,
            on_batch=progress,
        )
        efficiency = dict(info.efficiency)
        if "macs" not in efficiency or (latency and "latency" not in efficiency):
            efficiency.update(
                compute_profile(module, arrays.inputs[:1], latency=latency, threads=threads)
            )
        with self.store.write() as writer:
            model_row = writer.session.get(Model, info.id)
            assert model_row is not None
            model_row.efficiency = efficiency
            if model_row.input_spec is None:  # the data it ran on tells its input shape
                model_row.input_spec = input_spec(arrays.inputs[:1])
            self.store.set_metrics(writer.session, info.id, None, efficiency_metrics(efficiency))
            self._write_evaluation(writer, info.id, data_info.id, result)
        return self.evaluation(info.id, data_info.id)

    def _outputs_as_evaluation(self, dataset: DatasetRef, logits: Any) -> EvaluationResult:
        info = self.dataset(dataset)
        tensor = torch.as_tensor(np.asarray(logits))
        if tensor.ndim != 2 or tensor.shape != (info.num_instances, info.num_classes):
            raise IncompatibleDatasetError(
                f"outputs for {info.name!r} must be logits of shape "
                f"({info.num_instances}, {info.num_classes}), got {tuple(tensor.shape)}"
            )
        arrays = self.load_dataset(info.id)
        outputs = instance_outputs(tensor, arrays.labels)
        return EvaluationResult(
            outputs=outputs,
            metrics=classification_metrics(outputs, info.num_classes, arrays.attributes),
            logits=tensor.to(torch.float16),
            features=None,
            features_module=None,
            wall_time_s=0.0,
        )

    def _write_evaluation(
        self, writer: Any, model_id: str, dataset_id: str, result: EvaluationResult
    ) -> None:
        session = writer.session
        old = (
            session.query(Evaluation)
            .filter_by(model_id=model_id, dataset_id=dataset_id)
            .one_or_none()
        )
        if old is not None:
            session.delete(old)
            session.flush()
        session.add(
            Evaluation(
                model_id=model_id,
                dataset_id=dataset_id,
                outputs_artifact=writer.put(outputs_to_parquet(result.outputs), "outputs"),
                logits_artifact=None
                if result.logits is None
                else writer.put(state_dict_to_bytes({"logits": result.logits}), "logits"),
                features_artifact=None
                if result.features is None
                else writer.put(state_dict_to_bytes({"features": result.features}), "features"),
                features_module=result.features_module,
                details=_json_safe(result.metrics),
                wall_time_s=result.wall_time_s,
            )
        )
        scalars = {k: result.metrics[k] for k in TASK_METRICS if result.metrics.get(k) is not None}
        self.store.set_metrics(session, model_id, dataset_id, scalars)

    def evaluation(self, model: ModelRef, dataset: DatasetRef) -> EvaluationInfo:
        info = self.model(model)
        data_info = self.dataset(dataset)
        row = self.store.get_evaluation(info.id, data_info.id)
        return EvaluationInfo.from_row(row, data_info.name, info.efficiency)

    def evaluations(self, model: ModelRef) -> list[EvaluationInfo]:
        info = self.model(model)
        names = {d.id: d.name for d in self.store.list_datasets()}
        return [
            EvaluationInfo.from_row(row, names[row.dataset_id], info.efficiency)
            for row in self.store.evaluations_of(info.id)
        ]

    def outputs(self, model: ModelRef, dataset: DatasetRef) -> dict[str, np.ndarray]:
        """Per-instance outputs (label, prediction, confidence, loss, margin, top-k) as arrays."""
        row = self._evaluation_row(model, dataset)
        return outputs_from_parquet(self.store.read_artifact(row.outputs_artifact or ""))

    def logits(self, model: ModelRef, dataset: DatasetRef) -> torch.Tensor:
        row = self._evaluation_row(model, dataset)
        if row.logits_artifact is None:
            raise NotFoundError("this evaluation did not keep logits; evaluate with logits=True")
        return state_dict_from_bytes(self.store.read_artifact(row.logits_artifact))["logits"]

    def features(self, model: ModelRef, dataset: DatasetRef) -> torch.Tensor:
        row = self._evaluation_row(model, dataset)
        if row.features_artifact is None:
            raise NotFoundError(
                "this evaluation did not keep features; evaluate with features=True"
            )
        return state_dict_from_bytes(self.store.read_artifact(row.features_artifact))["features"]

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
        data_info = (
            common_dataset(self.datasets(), [base_info, model_info])
            if dataset is None
            else self.dataset(dataset)
        )
        for info in (base_info, model_info):
            self.store.get_evaluation(info.id, data_info.id)  # clear error if missing
        return Comparison(self, base_info, model_info, data_info, n_boot=n_boot, seed=seed)

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
        base_models, comp_models = self.select(baseline), self.select(compressed)
        data_info = (
            common_dataset(self.datasets(), [*base_models, *comp_models])
            if dataset is None
            else self.dataset(dataset)
        )
        return pie_report(self, base_models, comp_models, data_info, alpha, correction)

    def agreement(
        self, models: str | Sequence[ModelRef], dataset: DatasetRef | None = None
    ) -> dict[str, Any]:
        """The pairwise prediction-agreement matrix [M, M] of the selected models."""
        chosen = self.select(models)
        data_info = (
            common_dataset(self.datasets(), chosen) if dataset is None else self.dataset(dataset)
        )
        predictions = population_predictions(self, chosen, data_info)
        return {
            "dataset": data_info.name,
            "models": [m.name for m in chosen],
            "matrix": pairwise_agreement(predictions),
        }

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
        levels: dict[str, tuple[Any, list[ModelInfo]]] = {}
        for model in self.select(compressed):
            params = model.operation.params if model.operation else {}
            if by not in params:
                raise NotFoundError(f"{model.name} has no operation parameter {by!r}")
            key = json.dumps(params[by], sort_keys=True)  # 0.5 and "0.5" are two levels
            levels.setdefault(key, (params[by], []))[1].append(model)
        reports = []
        for value, models in sorted(levels.values(), key=lambda level: level_order(level[0])):
            report = self.pies(baseline, models, dataset, alpha=alpha, correction=correction)
            reports.append({"level": {by: value}, **report})
        return reports

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
        base_info = self.model(base) if base is not None else chosen[0]
        if base_info.id not in {m.id for m in chosen}:
            chosen.insert(0, base_info)
        data_info = self.dataset(dataset)
        if data_info.modality != "image":
            raise IncompatibleDatasetError(f"corruptions need image data; {data_info.name} is not")
        suffix = f"#n{min(limit, data_info.num_instances)}s{seed}"
        wanted = [("clean", 0)] + [(c, s) for c in corruptions for s in severities]
        keys = {cond: f"robust:{cond[0]}@{cond[1]}{suffix}" for cond in wanted}
        stored = {m.id: self.model(m.id).metrics.get(data_info.name, {}) for m in chosen}
        missing = {m.id for m in chosen if not all(k in stored[m.id] for k in keys.values())}
        if missing and cached_only:
            raise NotComputedError(
                f"robustness of {len(missing)} models on {data_info.name} is not stored yet"
            )
        total, done = len(chosen) * len(wanted), 0
        accuracy: dict[tuple[str, str, int], float] = {}
        for model in chosen:
            values = stored[model.id]
            if model.id in missing:
                values = self._measure_robustness(
                    model,
                    data_info,
                    keys,
                    corruptions,
                    severities,
                    limit,
                    seed,
                    _offset_progress(progress, done, total),
                )
            for cond, key in keys.items():
                accuracy[(model.name, *cond)] = values[key]
            done += len(wanted)
            if progress is not None:
                progress(done, total)
        return robustness_table(accuracy, base_info.name)

    def _measure_robustness(
        self,
        model: ModelInfo,
        data_info: DatasetInfo,
        keys: Mapping[tuple[str, int], str],
        corruptions: Sequence[str],
        severities: Sequence[int],
        limit: int,
        seed: int,
        progress: Progress | None,
    ) -> dict[str, float]:
        """Run one model over every condition and store the accuracies as metrics `keys`."""
        arrays = self.load_dataset(data_info.id)
        measured = evaluate_corruptions(
            self.load_model(model.id),
            arrays.inputs[:limit],
            arrays.labels[:limit],
            corruptions,
            severities,
            seed=seed,
            progress=progress,
        )
        values = {keys[cond]: value for cond, value in measured.items()}
        with self.store.write() as writer:
            self.store.set_metrics(writer.session, model.id, data_info.id, values)
        return values

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
        spec = get_operation(operation)
        whole_model_only = why_not_per_layer(spec.params)
        if whole_model_only is not None:
            raise OperationError(f"{operation} cannot be limited to one layer: {whole_model_only}")
        info, data_info = self.model(model), self.dataset(dataset)
        selection = spec.validate(params)
        normalized = spec.normalized(params)
        key = content_id(
            "sensitivity",
            SENSITIVITY_VERSION,
            info.id,
            data_info.id,
            operation,
            normalized,
            limit,
            seed,
            length=64,
        )
        stored = self.store.cached_result(key)
        if stored is None and cached_only:
            raise NotComputedError(f"the sensitivity of {info.name} is not stored yet")
        if stored is None:
            measured = self._measure_sensitivity(
                info, data_info, spec, selection, params, limit, seed, progress
            )
            stored = json.dumps(measured).encode()  # floats only: ±inf round-trips exactly
            self.store.cache_result(key, "sensitivity", stored)
        found = json.loads(stored)
        ranking, linear = found["ranking"], set(found["linear"])
        bits = sensitivity_to_mixed_precision(ranking, keep_share)
        # a weight-only sweep's group size is part of what was measured: keep it
        weight_only = operation == "quantize.weight_only"
        grouping = {"group_size": normalized["group_size"]} if weight_only else {}
        passes = [
            {
                "bits": width,
                **grouping,
                "include": [n for n, b in bits.items() if b == width and n in linear],
            }
            for width in sorted(set(bits.values()))
        ]
        return {
            "model": info.name,
            "dataset": data_info.name,
            "operation": {"name": operation, "params": normalized},
            "instances": found["instances"],
            "ranking": ranking,
            "exclude": sensitivity_to_exclude_list(ranking, max_drop),
            "mixed_precision": bits,
            # ready-made parameters for quantize.weight_only, applied one after the other
            "weight_only_passes": [p for p in passes if p["include"]],
        }

    def _measure_sensitivity(
        self,
        info: ModelInfo,
        data_info: DatasetInfo,
        spec: Any,
        selection: Any,
        params: Mapping[str, Any],
        limit: int,
        seed: int,
        progress: Progress | None,
    ) -> dict[str, Any]:
        """Run the per-layer sweep: {instances, ranking, linear (names of nn.Linear modules)}."""
        module = self.load_model(info.id)
        arrays = self.load_dataset(data_info.id)
        inputs, labels = arrays.inputs[:limit], arrays.labels[:limit]
        layers = list(select_modules(module, selection))
        context = OperationContext(
            seed=seed, parents=[module], load_dataset=self.load_dataset, example_input=inputs[:1]
        )
        runs = {"done": 0, "total": len(layers) + 1}

        def compress_one(model_: nn.Module, layer: str) -> nn.Module:
            one = spec.validate({**params, "include": [layer], "exclude": []})
            torch.manual_seed(seed)
            return spec.apply(copy.deepcopy(model_), one, context)

        def accuracy(model_: nn.Module) -> float:
            result = evaluate_arrays(model_, inputs, labels, data_info.num_classes)
            runs["done"] += 1
            if progress is not None:
                progress(runs["done"], runs["total"])
            return float(result.metrics["accuracy"])

        return {
            "instances": int(labels.shape[0]),
            "ranking": layer_sensitivity(module, layers, compress_one, accuracy),
            "linear": [name for name, m in module.named_modules() if isinstance(m, nn.Linear)],
        }

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

    def _evaluation_row(self, model: ModelRef, dataset: DatasetRef) -> Evaluation:
        return self.store.get_evaluation(self.model(model).id, self.dataset(dataset).id)

    # -- views the UI shows ----------------------------------------------------------------
    def behaviours(
        self,
        base: ModelRef,
        models: str | Sequence[ModelRef],
        dataset: DatasetRef | None = None,
        *,
        n_boot: int = 200,
    ) -> dict[str, Any]:
        """Per model versus `base`: {model, summary, per_class, per_subgroup}, in one pass
        (the Behaviours view). `models` are ids, names or id prefixes (a comma list or a
        sequence); the dataset is the named one or the first all are evaluated on."""
        refs = [models] if isinstance(models, str) else [_ref(m) for m in models]
        data = None if dataset is None else _ref(dataset)
        return behaviour_views.behaviours(self, _ref(base), ",".join(refs), data, n_boot=n_boot)

    def differences(self, models: str | Sequence[ModelRef]) -> dict[str, Any]:
        """What differs between the selected models' provenance, and what they share
        (Selection details): {ancestor, chains, slots, variables, shared, varying}."""
        return difference_views.differences(self, models)

    def selection(self, selector: str) -> dict[str, Any]:
        """The ids `select(selector)` picks and the names of the datasets every one of them
        is evaluated on (in registration order): what a client needs to offer choices."""
        chosen = self.select(selector)
        shared = common_datasets(self.datasets(), chosen)
        return {
            "selector": selector,
            "ids": [m.id for m in chosen],
            "datasets": [d.name for d in shared],
        }

    def corruptions(self) -> dict[str, list[Any]]:
        """The corruptions and severities `robustness` generates (the names it accepts)."""
        return {"corruptions": list(CORRUPTIONS), "severities": list(SEVERITIES)}


def _guess_modality(inputs: Inputs) -> str:
    """[N, H, W] or [N, C, H, W] floats or bytes look like images; token ids like text."""
    if isinstance(inputs, TensorFields):
        return "text" if "input_ids" in inputs else "tabular"
    is_pixels = inputs.dtype.is_floating_point or inputs.dtype == torch.uint8
    return "image" if inputs.ndim in (3, 4) and is_pixels else "tabular"


def _instance_shape(inputs: Inputs) -> list[int]:
    """One instance's shape (for keyword inputs, that of the first field, e.g. input_ids)."""
    first = inputs.field(next(iter(inputs))) if isinstance(inputs, TensorFields) else inputs
    return [int(s) for s in first.shape[1:]]


def _input_dtype(inputs: Inputs) -> str:
    if isinstance(inputs, TensorFields):
        return ",".join(f"{n}:{str(inputs.field(n).dtype).removeprefix('torch.')}" for n in inputs)
    return str(inputs.dtype).removeprefix("torch.")


def _float_dtype(model: nn.Module) -> str:
    """The dtype of the model's floating parameters: what an example image must have."""
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    return str(dtype).removeprefix("torch.")


def _run_error(model: nn.Module, inputs: Inputs) -> str | None:
    """Why the model cannot answer these inputs with a tensor, or None when it can."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model_output(model, inputs)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        model.train(was_training)
    return None


def _split_metrics(
    metrics: Mapping[str, Any],
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    model_level = {k: float(v) for k, v in metrics.items() if not isinstance(v, Mapping)}
    per_dataset = {
        k: {n: float(x) for n, x in v.items()} for k, v in metrics.items() if isinstance(v, Mapping)
    }
    return model_level, per_dataset


def _json_safe(value: Any) -> Any:
    """Metrics go into a JSON column: NaN becomes null, numpy scalars plain numbers."""
    return json.loads(json.dumps(value, default=_plain), parse_constant=lambda _: None)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _offset_progress(progress: Progress | None, offset: int, total: int) -> Progress | None:
    """A progress callback for one part of a larger job: reports offset + done of total."""
    if progress is None:
        return None
    return lambda done, _part_total: progress(offset + done, total)
