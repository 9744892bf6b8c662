"""An evaluation's result as the store keeps it: per-instance outputs, logits, features, metrics.

Shared by `evaluate` (our own runs) and `log_model` (logits computed elsewhere), so both
store the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from compresslens.data.arrays import DatasetArrays
from compresslens.errors import IncompatibleDatasetError, InvalidOutputError, NotFoundError
from compresslens.evaluate.harness import EvaluationResult
from compresslens.evaluate.metrics import classification_metrics
from compresslens.evaluate.outputs import compact_logits, instance_outputs
from compresslens.evaluate.parquet import outputs_from_parquet, outputs_to_parquet
from compresslens.models.weights import state_dict_from_bytes, state_dict_to_bytes
from compresslens.records import DatasetInfo
from compresslens.store.repository import WorkspaceStore
from compresslens.store.snapshots import EvaluationFiles
from compresslens.store.writer import Writer

TASK_METRICS = ("accuracy", "top5_accuracy", "loss", "ece")


def write_evaluation(
    writer: Writer, model_id: str, dataset_id: str, result: EvaluationResult
) -> None:
    """Store one run (replacing an earlier one of the pair) and its task metrics."""
    writer.replace_evaluation(
        model_id,
        dataset_id,
        outputs=outputs_to_parquet(result.outputs),
        logits=None if result.logits is None else state_dict_to_bytes({"logits": result.logits}),
        features=None
        if result.features is None
        else state_dict_to_bytes({"features": result.features}),
        features_module=result.features_module,
        details=json_safe(result.metrics),
        wall_time_s=result.wall_time_s,
    )
    scalars = {k: result.metrics[k] for k in TASK_METRICS if result.metrics.get(k) is not None}
    writer.set_metrics(model_id, dataset_id, scalars)


def evaluation_from_logits(
    info: DatasetInfo, arrays: DatasetArrays, logits: Any
) -> EvaluationResult:
    """Logits [N, classes] computed elsewhere, evaluated like our own runs; stored at a
    precision that holds every value (see `compact_logits`)."""
    tensor = _numeric_tensor(info, logits)
    if tensor.ndim != 2 or tensor.shape != (info.num_instances, info.num_classes):
        raise IncompatibleDatasetError(
            f"outputs for {info.name!r} must be logits of shape "
            f"({info.num_instances}, {info.num_classes}), got {tuple(tensor.shape)}"
        )
    outputs = instance_outputs(tensor, arrays.labels)
    return EvaluationResult(
        outputs=outputs,
        metrics=classification_metrics(outputs, info.num_classes, arrays.attributes),
        logits=compact_logits(tensor),
        features=None,
        features_module=None,
        wall_time_s=0.0,
    )


def _numeric_tensor(info: DatasetInfo, logits: Any) -> torch.Tensor:
    """The logits as a tensor of real numbers, or InvalidOutputError saying what they are."""
    if isinstance(logits, torch.Tensor):
        return logits.detach().cpu()
    try:
        array = np.asarray(logits)
    except (ValueError, TypeError) as exc:  # ragged nested lists, objects numpy cannot read
        raise InvalidOutputError(f"outputs for {info.name!r} are not an array: {exc}") from None
    if array.dtype.kind not in "fiu":
        raise InvalidOutputError(
            f"outputs for {info.name!r} must be real numbers (logits), not {array.dtype} values"
        )
    if array.dtype.kind in "iu":  # refused below as logits, but read first (uint16, …)
        array = array.astype(np.int64)
    elif array.dtype.itemsize > 8:  # long double: torch has no such dtype
        array = array.astype(np.float64)
    return torch.from_numpy(np.ascontiguousarray(array))


def read_outputs(store: WorkspaceStore, files: EvaluationFiles) -> dict[str, np.ndarray]:
    """Per-instance outputs (label, prediction, confidence, loss, margin, top-k) as arrays."""
    return outputs_from_parquet(store.read_artifact(files.outputs or ""))


def read_logits(store: WorkspaceStore, files: EvaluationFiles) -> torch.Tensor:
    if files.logits is None:
        raise NotFoundError("this evaluation did not keep logits; evaluate with logits=True")
    return state_dict_from_bytes(store.read_artifact(files.logits))["logits"]


def read_features(store: WorkspaceStore, files: EvaluationFiles) -> torch.Tensor:
    if files.features is None:
        raise NotFoundError("this evaluation did not keep features; evaluate with features=True")
    return state_dict_from_bytes(store.read_artifact(files.features))["features"]


def json_safe(value: Any) -> Any:
    """Metrics go into a JSON column: NaN becomes null, numpy scalars plain numbers."""
    return json.loads(json.dumps(value, default=_plain), parse_constant=lambda _: None)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def split_metrics(
    metrics: Mapping[str, Any],
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Model-level values apart from per-dataset maps ({dataset: {name: value}})."""
    model_level = {k: float(v) for k, v in metrics.items() if not isinstance(v, Mapping)}
    per_dataset = {
        k: {n: float(x) for n, x in v.items()} for k, v in metrics.items() if isinstance(v, Mapping)
    }
    return model_level, per_dataset


def output_columns(outputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The stored columns with `correct` (prediction == label) after label and prediction."""
    first = ("instance", "label", "prediction")
    columns = {name: outputs[name] for name in first if name in outputs}
    columns["correct"] = outputs["prediction"] == outputs["label"]
    columns.update((name, values) for name, values in outputs.items() if name not in columns)
    return columns
