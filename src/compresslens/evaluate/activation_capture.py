"""Recording what each layer outputs while a model runs: the input of activation comparison.

`capture_activations` hooks leaf modules (or the ones named), runs the model over the inputs in
eval mode and without gradients, batched, and returns every hooked output as an [N, D] float32
CPU matrix, in forward order. The comparison itself (CKA, cosine, SQNR) is pure and lives in
`compresslens.analysis.activations`, which re-exports `ActivationError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from compresslens.data.inputs import Inputs, TensorFields
from compresslens.errors import CompressLensError
from compresslens.models.calling import call_model

CAPTURE_BATCH_SIZE = 256  # forward batch; the same size as Nguyen et al.'s CKA minibatch
REPEAT_MARK = "#"  # a module called twice per forward records "name" and "name#1"


class ActivationError(CompressLensError, ValueError):
    """Activations that cannot be captured or compared (rows or shapes do not line up)."""


def leaf_modules(model: nn.Module) -> list[str]:
    """Modules without children: each output is one distinct activation."""
    return [name for name, m in model.named_modules() if next(m.children(), None) is None]


def _first_tensor(output: Any) -> torch.Tensor | None:
    """A module's output tensor (the first one of a tuple or list), if any."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, tuple | list):
        return next((o for o in output if isinstance(o, torch.Tensor)), None)
    return None


def _as_rows(t: torch.Tensor) -> torch.Tensor:
    """[B, ...] output → a [B, D] float32 CPU copy (an in-place next module cannot alter it)."""
    t = t.detach()
    t = t.dequantize() if t.is_quantized else t
    return t.reshape(t.shape[0], -1).to(device="cpu", dtype=torch.float32, copy=True)


def _recorder(name: str, calls: list[tuple[str, torch.Tensor]]) -> Callable[..., None]:
    def hook(module: nn.Module, args: Any, output: Any) -> None:
        tensor = _first_tensor(output)
        if tensor is not None and tensor.ndim > 0:
            calls.append((name, _as_rows(tensor)))

    return hook


def _keyed(calls: list[tuple[str, torch.Tensor]], rows: int) -> Iterator[tuple[str, torch.Tensor]]:
    """Calls of one batch, keyed "name", then "name#1", … for repeated calls."""
    seen: dict[str, int] = {}
    for name, tensor in calls:
        count = seen.get(name, 0)
        seen[name] = count + 1
        if tensor.shape[0] == rows:
            yield (name if count == 0 else f"{name}{REPEAT_MARK}{count}"), tensor


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _run_batches(
    model: nn.Module, inputs: Inputs, batch_size: int, calls: list[tuple[str, torch.Tensor]]
) -> dict[str, list[torch.Tensor]]:
    """Forward every batch in eval mode, collecting the hooked outputs per key."""
    store: dict[str, list[torch.Tensor]] = {}
    device = _model_device(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), batch_size):
                batch = inputs[start : start + batch_size]
                calls.clear()
                call_model(model, batch.to(device))
                for key, tensor in _keyed(calls, len(batch)):
                    store.setdefault(key, []).append(tensor)
    finally:
        model.train(was_training)
    return store


def capture_activations(
    model: nn.Module,
    inputs: np.ndarray | Inputs,
    modules: list[str] | None = None,
    batch_size: int = CAPTURE_BATCH_SIZE,
) -> dict[str, torch.Tensor]:
    """Outputs of `modules` (default: every leaf) on `inputs` as [N, D] float32, forward order.

    The caller chooses the sample (1,024 random instances is the usual choice). A module
    called k times per forward also yields "name#1" … "name#{k-1}". The model's training
    mode is restored afterwards.
    """
    names = leaf_modules(model) if modules is None else list(modules)
    inputs = inputs if isinstance(inputs, TensorFields) else torch.as_tensor(inputs)
    if batch_size < 1 or len(inputs) == 0:
        raise ActivationError("capture needs a positive batch size and at least one input")
    calls: list[tuple[str, torch.Tensor]] = []
    handles = []
    try:
        for name in names:
            try:
                module = model.get_submodule(name)
            except AttributeError as exc:
                raise ActivationError(f"cannot hook module: {exc}") from None
            handles.append(module.register_forward_hook(_recorder(name, calls)))
        store = _run_batches(model, inputs, batch_size, calls)
    finally:
        for handle in handles:
            handle.remove()
    return _concatenated(store, len(inputs), modules)


def _concatenated(
    store: dict[str, list[torch.Tensor]], rows: int, requested: list[str] | None
) -> dict[str, torch.Tensor]:
    """One [N, D] tensor per key; every requested module must have produced all N rows."""
    acts = {key: torch.cat(parts) for key, parts in store.items()}
    broken = [key for key, t in acts.items() if t.shape[0] != rows]
    missing = [name for name in requested or [] if name not in acts]
    if broken or missing:
        raise ActivationError(
            f"no per-instance output for {missing} and incomplete rows for {broken}; "
            "modules must run on every batch with the batch as their first dimension"
        )
    return acts
