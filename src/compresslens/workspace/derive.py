"""Making models from models: training a root from scratch, compressing a stored model.

Both are content-addressed (the same call names the same model, so it is a cache hit) and
record an edge with the parameters, seed, versions, wall time and torch thread count.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from compresslens.data.inputs import example_from_spec, input_spec, spec_from_shape
from compresslens.errors import OperationError
from compresslens.ids import derived_model_id, trained_model_id
from compresslens.input_rules import check_name, check_seed, check_tags, fitted_name
from compresslens.models.factory import (
    build_from_factory,
    check_json_kwargs,
    trust_factory,
)
from compresslens.models.state_codec import export_state
from compresslens.models.weights import state_dict_to_bytes
from compresslens.ops.outputs import apply_operation
from compresslens.ops.registry import OperationContext, get_operation, validate_params
from compresslens.ops.train_params import ScratchTrainParams
from compresslens.ops.training import train_classifier
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.store.snapshots import NewModel
from compresslens.threads import intra_op_threads
from compresslens.versions import library_versions
from compresslens.workspace.models import ModelCatalog, float_dtype

EdgeParents = list[tuple[str, str]]  # (model id, role): the input, then a teacher


def train(
    models: ModelCatalog,
    factory: str,
    factory_kwargs: Mapping[str, Any] | None,
    data_info: DatasetInfo,
    *,
    seed: int,
    name: str | None,
    tags: Iterable[str],
    on_step: Callable[[int, int, float], None] | None,
    threads: int | None,
    train_params: Mapping[str, Any],
) -> ModelInfo:
    """See `Workspace.train`."""
    seed = check_seed(seed)
    tags = check_tags(tags)
    if name is not None:
        check_name(name, "model name")
    trust_factory(factory)  # the user names it here: its module is trusted from now on
    kwargs = check_json_kwargs(factory_kwargs or {})
    params = validate_params(
        ScratchTrainParams, {**train_params, "dataset": data_info.name}, "train.scratch"
    )
    params_json = params.model_dump(mode="json")
    model_id = trained_model_id(factory, kwargs, params_json, seed)
    if models.store.model_status(model_id) is not None and models.is_cache_hit(model_id):
        return models.info(model_id)  # else trained again: `insert` rewrites its weights
    arrays = models.datasets.load(data_info.id)
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
    new = NewModel(
        id=model_id,
        name=name or fitted_name(f"{factory.rpartition(':')[2]}-seed{seed}", f"#{model_id[:6]}"),
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
    return models.insert(new, model, state_dict_to_bytes(export_state(model)), edge, tags)


def planned_id(parents: EdgeParents, operation: str, seed: int, params: Mapping[str, Any]) -> str:
    """The id `compress` gives this child: a hash of parents, operation, params and seed."""
    seed = check_seed(seed)
    normalized = get_operation(operation).normalized(dict(params))
    return derived_model_id(parents, operation, normalized, seed)


def compress(
    models: ModelCatalog,
    parents: EdgeParents,
    operation: str,
    *,
    seed: int,
    name: str | None,
    tags: Iterable[str],
    record_failure: bool,
    threads: int | None,
    params: Mapping[str, Any],
) -> ModelInfo:
    """See `Workspace.compress`."""
    seed = check_seed(seed)
    tags = check_tags(tags)
    if name is not None:
        check_name(name, "model name")
    spec = get_operation(operation)
    given = dict(params)
    params = spec.normalized(dict(params))
    model_id = derived_model_id(parents, operation, params, seed)
    status = models.store.model_status(model_id)
    if status == "failed":
        models.store.delete_model(model_id)  # a failed attempt is retried
    elif status is not None and models.is_cache_hit(model_id):
        return models.info(model_id)  # else made again: `insert` rewrites its damaged weights
    label = ",".join(f"{k}={v}" for k, v in sorted(given.items()))
    new = NewModel(
        id=model_id,
        name=name or fitted_name(f"{operation}({label})", f"#{model_id[:6]}"),
        source="derived",
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
        parents=[models.load(pid) for pid, _ in parents],
        load_dataset=models.datasets.load,
    )
    started = time.perf_counter()
    with intra_op_threads(threads) as used_threads:
        edge["threads"] = used_threads
        try:
            new.input_spec = _operation_input_spec(models, parents[0][0], params, context)
            if new.input_spec is not None:
                context.example_input = example_from_spec(new.input_spec)
            torch.manual_seed(seed)
            child = apply_operation(spec, context.parents[0], spec.validate(params), context)
        except Exception as exc:
            if record_failure:
                new.status = "failed"
                failed_edge = {**edge, "status": "failed", "error_text": traceback.format_exc()}
                models.insert(new, None, None, failed_edge, tags)
            if isinstance(exc, OperationError):
                raise
            raise OperationError(f"{operation} failed on {parents[0][0]}: {exc}") from exc
    edge["wall_time_s"] = time.perf_counter() - started
    return models.insert(new, child, state_dict_to_bytes(export_state(child)), edge, tags)


def _operation_input_spec(
    models: ModelCatalog, parent_id: str, params: Mapping[str, Any], context: OperationContext
) -> dict[str, Any] | None:
    """What the child's example input is: the parent's spec, else `input_shape` or the
    operation's dataset, else the first registered dataset the parent runs on."""
    spec = models.recorded_input_spec(parent_id)
    if spec is not None:
        return spec
    parent: nn.Module = context.parents[0]
    if params.get("input_shape"):
        return spec_from_shape(params["input_shape"], float_dtype(parent))
    if isinstance(params.get("dataset"), str):
        return input_spec(models.datasets.load(params["dataset"]).inputs[:1])
    return models.given_or_probed_spec(parent, None)
