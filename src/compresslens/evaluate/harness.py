"""Running a model over a dataset: batched inference, per-instance outputs, task metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from compresslens.data.inputs import Inputs, TensorFields
from compresslens.errors import IncompatibleDatasetError, InvalidOutputError
from compresslens.evaluate.metrics import classification_metrics
from compresslens.evaluate.outputs import (
    compact_logits,
    concat_outputs,
    instance_outputs,
    join_logits,
)
from compresslens.models.calling import call_model, output_tensor


@dataclass
class EvaluationResult:
    """Everything one evaluation produced, before it is written to the workspace."""

    outputs: dict[str, np.ndarray]
    metrics: dict[str, Any]
    logits: torch.Tensor | None
    features: torch.Tensor | None
    features_module: str | None
    wall_time_s: float


def is_linear_like(module: nn.Module) -> bool:
    """nn.Linear, or a quantized Linear that replaced one (torch.ao dynamic/static)."""
    return isinstance(module, nn.Linear) or type(module).__name__ == "Linear"


def penultimate_module(model: nn.Module) -> str:
    """The last linear layer registered in the model: its input is the penultimate feature."""
    linear_names = [name for name, module in model.named_modules() if is_linear_like(module)]
    if not linear_names:
        raise InvalidOutputError(
            "the model has no nn.Linear layer; name the feature module explicitly"
        )
    return linear_names[-1]


class InputCapture:
    """Forward pre-hook that keeps the input of one module (the penultimate features)."""

    def __init__(self, model: nn.Module, module_name: str) -> None:
        modules = dict(model.named_modules())
        if module_name not in modules:
            raise InvalidOutputError(f"the model has no module named {module_name!r}")
        self.value: torch.Tensor | None = None
        self.handle = modules[module_name].register_forward_pre_hook(self._keep)

    def _keep(self, _module: nn.Module, args: tuple[Any, ...]) -> None:
        value = args[0].detach()
        if value.is_quantized:
            value = value.dequantize()
        self.value = value.flatten(1).float()

    def close(self) -> None:
        self.handle.remove()


def _run_batch(model: nn.Module, batch: Inputs, start: int) -> torch.Tensor:
    try:
        output = call_model(model, batch)
    except (RuntimeError, TypeError, IndexError) as exc:
        raise IncompatibleDatasetError(
            f"the model cannot run on inputs of {_described(batch)} "
            f"(batch starting at instance {start}): {exc}"
        ) from exc
    logits = output_tensor(output)
    if logits.ndim != 2:
        raise InvalidOutputError(
            f"the model must output logits [batch, classes], got {tuple(logits.shape)}"
        )
    return logits


def _described(batch: Inputs) -> str:
    """'shape (1, 28, 28)' or 'input_ids (16,), attention_mask (16,)': one instance."""
    if isinstance(batch, TensorFields):
        return ", ".join(f"{n} {tuple(t.shape[1:])}" for n, t in batch.as_dict().items())
    return f"shape {tuple(batch.shape[1:])}"


def evaluate_arrays(
    model: nn.Module,
    inputs: Inputs,
    labels: torch.Tensor,
    num_classes: int,
    *,
    batch_size: int = 256,
    keep_logits: bool = False,
    features: bool | str = False,
    attributes: Mapping[str, np.ndarray] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Run `model` over `inputs` under inference_mode and compute per-instance outputs.

    Raises before anything is returned if the class count does not fit or any logit is
    not finite, so a caller never stores a half-valid evaluation.
    """
    model.eval()
    feature_name = None if features is False else (features if isinstance(features, str) else None)
    if features is True:
        feature_name = penultimate_module(model)
    capture = InputCapture(model, feature_name) if feature_name else None
    parts: list[dict[str, np.ndarray]] = []
    logit_parts: list[torch.Tensor] = []
    feature_parts: list[torch.Tensor] = []
    total = int(labels.shape[0])
    started = time.perf_counter()
    try:
        with torch.inference_mode():
            for start in range(0, total, batch_size):
                batch = inputs[start : start + batch_size]
                logits = _run_batch(model, batch, start)
                if logits.shape[1] != num_classes:
                    raise IncompatibleDatasetError(
                        f"the model outputs {logits.shape[1]} classes but the dataset has "
                        f"{num_classes}"
                    )
                try:
                    parts.append(instance_outputs(logits, labels[start : start + batch_size]))
                except InvalidOutputError as exc:
                    raise InvalidOutputError(f"{exc} (batch starting at instance {start})") from exc
                if keep_logits:
                    logit_parts.append(compact_logits(logits))
                if capture is not None and capture.value is not None:
                    feature_parts.append(capture.value)
                if on_batch is not None:
                    on_batch(min(start + batch_size, total), total)
    finally:
        if capture is not None:
            capture.close()
    wall = time.perf_counter() - started
    outputs = concat_outputs(parts)
    metrics = classification_metrics(outputs, num_classes, attributes)
    return EvaluationResult(
        outputs=outputs,
        metrics=metrics,
        logits=join_logits(logit_parts) if keep_logits else None,
        features=torch.cat(feature_parts) if feature_parts else None,
        features_module=feature_name,
        wall_time_s=wall,
    )
