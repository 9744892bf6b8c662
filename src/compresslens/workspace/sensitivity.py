"""Per-layer sensitivity: compress one layer at a time, rank the accuracy drops (stored)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from compresslens.analysis.sensitivity import (
    SensitivityError,
    check_layer_names,
    rank_layers,
    sensitivity_to_exclude_list,
    sensitivity_to_mixed_precision,
)
from compresslens.errors import OperationError
from compresslens.evaluate.harness import evaluate_arrays
from compresslens.ops.registry import OperationContext, get_operation
from compresslens.ops.selection import select_modules, why_not_per_layer
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.workspace.models import ModelCatalog
from compresslens.workspace.results import plain_floats, result_key, stored_result

SENSITIVITY_VERSION = 1  # bump when the stored sensitivity sweep changes its output
CompressOne = Callable[[nn.Module, str], nn.Module]
Evaluate = Callable[[nn.Module], float]


def sensitivity(
    models: ModelCatalog,
    info: ModelInfo,
    data_info: DatasetInfo,
    operation: str,
    *,
    limit: int,
    max_drop: float,
    keep_share: float,
    seed: int,
    progress: Callable[[int, int], None] | None,
    cached_only: bool,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """See `Workspace.sensitivity`."""
    spec = get_operation(operation)
    whole_model_only = why_not_per_layer(spec.params)
    if whole_model_only is not None:
        raise OperationError(f"{operation} cannot be limited to one layer: {whole_model_only}")
    selection = spec.validate(dict(params))
    normalized = spec.normalized(dict(params))
    key = result_key(
        "sensitivity",
        SENSITIVITY_VERSION,
        info.id,
        data_info.id,
        operation,
        normalized,
        limit,
        seed,
    )
    found = stored_result(
        models.store,
        "sensitivity",
        key,
        lambda: measure_sweep(
            models, info, data_info, spec, selection, params, limit, seed, progress
        ),
        cached_only=cached_only,
        missing=f"the sensitivity of {info.name} is not stored yet",
        encode=plain_floats,  # floats only: ±inf round-trips exactly
    )
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


def measure_sweep(
    models: ModelCatalog,
    info: ModelInfo,
    data_info: DatasetInfo,
    spec: Any,
    selection: Any,
    params: Mapping[str, Any],
    limit: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
) -> dict[str, Any]:
    """Run the per-layer sweep: {instances, ranking, linear (names of nn.Linear modules)}."""
    module = models.load(info.id)
    arrays = models.datasets.load(data_info.id)
    inputs, labels = arrays.inputs[:limit], arrays.labels[:limit]
    layers = list(select_modules(module, selection))
    context = OperationContext(
        seed=seed, parents=[module], load_dataset=models.datasets.load, example_input=inputs[:1]
    )
    runs = {"done": 0, "total": len(layers) + 1}
    if progress is not None:  # the total from the start: a bar with no total shows nothing
        progress(0, runs["total"])

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


def layer_sensitivity(
    model: nn.Module,
    layers: Sequence[str],
    compress_one: CompressOne,
    evaluate: Evaluate,
    higher_is_better: bool = True,
) -> list[dict[str, Any]]:
    """Rows {layer, baseline, score, drop, rank}, most sensitive (largest drop) first
    (`analysis.sensitivity.rank_layers`). Each layer is compressed alone in a deep copy;
    `model` itself is never changed. Bad layer names fail before any evaluation."""
    check_layer_names(layers)
    for layer in layers:
        try:
            model.get_submodule(layer)
        except AttributeError:
            raise SensitivityError(f"the model has no module {layer!r}") from None
    baseline = float(evaluate(model))
    scores = [
        (layer, float(evaluate(compress_one(copy.deepcopy(model), layer)))) for layer in layers
    ]
    return rank_layers(baseline, scores, higher_is_better)
