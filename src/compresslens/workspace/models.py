"""Models of a workspace: storing roots and logged models, reading records, rebuilding modules.

Rebuilding never loads a pickle: a root's factory, the replayed architecture changes of its
lineage and the stored safetensors weights (`compresslens.models.rebuild`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compresslens.data.inputs import Inputs, example_from_spec, input_spec, spec_from_shape
from compresslens.errors import (
    DataFormatError,
    FactoryError,
    InvalidOutputError,
    InvalidWeightsError,
    OperationError,
)
from compresslens.evaluate.harness import EvaluationResult
from compresslens.evaluate.profile import efficiency_metrics, size_profile
from compresslens.ids import content_id
from compresslens.input_rules import (
    check_metrics,
    check_name,
    check_note,
    check_tags,
    checked_operation,
)
from compresslens.models.calling import model_output
from compresslens.models.factory import (
    build_from_factory,
    check_json_kwargs,
    trust_factory,
)
from compresslens.models.hf import HF_FACTORY, factory_kwargs_of, is_hf_model, keyword_input_spec
from compresslens.models.rebuild import NodeRecipe, rebuild_model
from compresslens.models.state_codec import export_state, restore_state
from compresslens.models.weights import (
    load_state_into,
    read_weights_file,
    shapes_from_safetensors_bytes,
    state_dict_from_bytes,
    state_dict_to_bytes,
)
from compresslens.ops.registry import get_operation, replay_architecture
from compresslens.records import ModelInfo
from compresslens.store.artifacts import sha256_bytes
from compresslens.store.repository import ModelSnapshot, WorkspaceStore
from compresslens.store.snapshots import NewModel
from compresslens.workspace.datasets import DatasetCatalog
from compresslens.workspace.stored_outputs import (
    evaluation_from_logits,
    split_metrics,
    write_evaluation,
)


class ModelCatalog:
    """The models of one store: what is written for a model, and how it is rebuilt."""

    def __init__(self, store: WorkspaceStore, datasets: DatasetCatalog) -> None:
        self.store = store
        self.datasets = datasets

    def info(self, key: str) -> ModelInfo:
        return self.store.model_info(key)

    def all(self) -> list[ModelInfo]:
        return self.store.model_infos()

    def lineage(self, model_id: str) -> list[ModelInfo]:
        return [self.info(snapshot.id) for snapshot in self.store.lineage_snapshots(model_id)]

    def add(
        self,
        model: nn.Module,
        *,
        name: str,
        factory: str | None,
        factory_kwargs: Mapping[str, Any] | None,
        weights: str | Path | None,
        input_shape: Sequence[int] | None,
        tags: Iterable[str],
        note: str | None,
    ) -> ModelInfo:
        """See `Workspace.add_model`."""
        check_name(name, "model name")
        tags = check_tags(tags)
        check_note(note)
        if not isinstance(model, nn.Module):
            raise FactoryError(
                f"add_model({name!r}) takes a torch nn.Module, not {type(model).__name__}"
            )
        if input_shape is not None and not isinstance(input_shape, Sequence):
            raise DataFormatError(
                f"add_model: input_shape must be a list of sizes, not {input_shape!r}"
            )
        if factory is None:
            if not is_hf_model(model):
                raise FactoryError(
                    f"add_model({name!r}) needs factory='package.module:function' (importable "
                    "where the workspace is opened) that builds this architecture"
                )
            factory, factory_kwargs = HF_FACTORY, factory_kwargs_of(model)
        trust_factory(factory)  # the user names it here: its module is trusted from now on
        kwargs = check_json_kwargs(factory_kwargs or {})
        if weights is not None:
            load_state_into(model, read_weights_file(weights))
        state_bytes = state_dict_to_bytes(export_state(model))
        # The factory must rebuild a module these weights fit, or the model is not reloadable.
        restore_state(build_from_factory(factory, kwargs), state_dict_from_bytes(state_bytes))
        model_id = content_id("added", name, factory, kwargs, sha256_bytes(state_bytes))
        new = NewModel(id=model_id, name=name, source="added", factory=factory)
        new.factory_kwargs = kwargs
        new.input_spec = self.given_or_probed_spec(model, input_shape)
        if new.input_spec is None and is_hf_model(model):
            new.input_spec = keyword_input_spec(model)
        return self.insert(new, model, state_bytes, tags=tags, note=note)

    def given_or_probed_spec(
        self, model: nn.Module, input_shape: Sequence[int] | None
    ) -> dict[str, Any] | None:
        """The spec of `input_shape`, else of the first registered dataset the model runs on."""
        if input_shape is not None:
            try:
                spec = spec_from_shape(list(input_shape), float_dtype(model))
            except DataFormatError as exc:
                raise DataFormatError(f"add_model: {exc}") from None
            problem = _run_error(model, example_from_spec(spec))
            if problem is not None:
                raise DataFormatError(
                    f"add_model: the model does not run on an input of shape "
                    f"{list(input_shape)} (one instance, without the batch dimension): {problem}"
                )
            return spec
        for dataset in self.datasets.all():
            first = self.datasets.load(dataset.id).inputs[:1]
            if _run_error(model, first) is None:
                return input_spec(first)
        return None

    def recorded_input_spec(
        self, model_id: str, lineage: Sequence[ModelSnapshot] | None = None
    ) -> dict[str, Any] | None:
        """The nearest input spec along the lineage, else that of a dataset it was evaluated on."""
        lineage = self.store.lineage_snapshots(model_id) if lineage is None else lineage
        for row in reversed(lineage):
            if row.input_spec:
                return dict(row.input_spec)
        for row in reversed(lineage):
            for dataset_id in self.store.evaluated_dataset_ids(row.id):
                return input_spec(self.datasets.load(dataset_id).inputs[:1])
        return None

    def log(
        self,
        name: str,
        *,
        parent_ids: Sequence[str],
        operation: Mapping[str, Any] | None,
        metrics: Mapping[str, Any] | None,
        weights: nn.Module | Mapping[str, torch.Tensor] | str | Path | None,
        factory: str | None,
        factory_kwargs: Mapping[str, Any] | None,
        outputs: Mapping[str, Any] | None,
        tags: Iterable[str],
        note: str | None,
    ) -> ModelInfo:
        """See `Workspace.log_model`."""
        check_name(name, "model name")
        tags = check_tags(tags)
        check_note(note)
        if weights is not None and not isinstance(weights, nn.Module | Mapping | str | Path):
            raise InvalidWeightsError(
                "weights must be an nn.Module, a state dict, or a safetensors file path, "
                f"not {type(weights).__name__}"
            )
        if isinstance(weights, Mapping) and not all(isinstance(k, str) for k in weights):
            raise InvalidWeightsError("a state dict's keys must be strings (parameter names)")
        op = checked_operation(operation)
        metrics = check_metrics(metrics or {})
        if outputs is not None and not isinstance(outputs, Mapping):
            raise InvalidOutputError(
                f"outputs must map dataset names to logits, not {type(outputs).__name__}"
            )
        if parent_ids and not op.get("name"):
            raise OperationError("a logged model with parents needs operation={'name': …}")
        if factory is not None:
            trust_factory(factory)  # the user names it here: its module is trusted from now on
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
        model_metrics, dataset_metrics = split_metrics(metrics or {})
        evaluations = {}
        for dataset, logits in (outputs or {}).items():
            info = self.datasets.info(dataset)
            arrays = self.datasets.load(info.id)
            evaluations[info.id] = evaluation_from_logits(info, arrays, logits)
        dataset_ids = {d: self.datasets.info(d).id for d in dataset_metrics}
        model_id = content_id("logged", name, list(parent_ids), op.get("name"), op_params)
        new = NewModel(id=model_id, name=name, source="logged", factory=factory)
        new.factory_kwargs = kwargs
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
        return self.insert(
            new,
            module,
            state_bytes,
            edge,
            tags,
            note,
            model_metrics=model_metrics,
            dataset_metrics={dataset_ids[d]: v for d, v in dataset_metrics.items()},
            evaluations=evaluations,
        )

    def insert(
        self,
        new: NewModel,
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
        """Write a model with its weights, edge, metrics and evaluations; an existing id wins
        (also one another process writes at the same moment), its damaged weights file
        rewritten from `state_bytes`."""
        inserted = False
        if self.store.model_status(new.id) is None:
            efficiency = (
                size_profile(module, len(state_bytes)) if module is not None and state_bytes else {}
            )
            new.efficiency = efficiency
            with self.store.write() as writer:
                inserted = writer.add_model(new, state_bytes)
                if inserted:
                    if edge is not None:
                        writer.add_edge(new.id, **edge)
                    writer.set_metrics(
                        new.id, None, {**efficiency_metrics(efficiency), **(model_metrics or {})}
                    )
                    for dataset_id, values in (dataset_metrics or {}).items():
                        writer.set_metrics(new.id, dataset_id, dict(values))
                    for dataset_id, result in (evaluations or {}).items():
                        write_evaluation(writer, new.id, dataset_id, result)
        if inserted:
            if tags:
                self.store.add_tags(new.id, list(tags))
            if note:
                self.store.add_note(new.id, note)
        elif state_bytes is not None and not self.is_cache_hit(new.id):
            self.store.restore_weights(new.id, state_bytes)
        return self.info(new.id)

    def is_cache_hit(self, model_id: str) -> bool:
        """Whether a stored model can be returned as it is: its weights verify. Evaluations
        whose files are damaged are removed on the way, so that they are run again."""
        return model_id in self.store.check_models([model_id])

    def load(self, key: str) -> nn.Module:
        """Rebuild without pickle: factory, replayed architecture changes, stored weights."""
        lineage = self.store.lineage_snapshots(self.store.model_id(key))
        recipes = [self._recipe(node) for node in lineage]
        example: list[Inputs | None] = []  # computed once, and only if a replay asks

        def example_input() -> Inputs | None:
            if not example:
                spec = self.recorded_input_spec(lineage[-1].id, lineage)
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

    def _recipe(self, row: ModelSnapshot) -> NodeRecipe:
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


def float_dtype(model: nn.Module) -> str:
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
