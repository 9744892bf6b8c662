"""The output contract every operation keeps: the child answers with the parent's shape.

A model's output layers are found by tracing, never by name: a user's classifier may be
called `fc`, `head`, `lm_head` or `7`. `output_layers` runs the model once on an example and
walks the autograd graph back from its output to the first layers that produced it; those
layers' output channels *are* the model's outputs (the classes), so no operation may remove
them. `apply_operation` runs an operation and refuses a child whose outputs changed shape,
so a broken model is never stored as ready.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from compresslens.data.inputs import Inputs, describe_example
from compresslens.errors import OperationError
from compresslens.models.calling import call_model, eval_mode, output_tensor
from compresslens.ops.registry import Operation, OperationContext, OperationParams

# Layers whose output channels other layers' channels couple to (what pruning removes).
CHANNEL_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.modules.conv._ConvNd, nn.Embedding)


def output_shape(model: nn.Module, example: Inputs) -> tuple[int, ...]:
    """The shape of the model's main output on `example` (batch dimension included)."""
    with eval_mode(model), torch.no_grad():
        return tuple(output_tensor(call_model(model, example)).shape)


def _output_tensors(output: Any) -> list[torch.Tensor]:
    """The tensors a model's output holds that depend on the weights."""
    if isinstance(output, torch.Tensor):
        return [output] if output.grad_fn is not None else []
    main = getattr(output, "logits", None)
    if isinstance(main, torch.Tensor):
        return _output_tensors(main)
    if isinstance(output, dict):
        return [t for value in output.values() for t in _output_tensors(value)]
    if isinstance(output, tuple | list):
        return [t for value in output for t in _output_tensors(value)]
    return []


@contextmanager
def _all_parameters_require_grad(model: nn.Module) -> Iterator[None]:
    """Frozen parameters leave no autograd graph to walk: unfreeze them for the trace."""
    flags = [(p, p.requires_grad) for p in model.parameters() if p.is_floating_point()]
    try:
        for parameter, _ in flags:
            parameter.requires_grad_(True)
        yield
    finally:
        for parameter, flag in flags:
            parameter.requires_grad_(flag)


def output_layers(
    model: nn.Module,
    example: Inputs,
    layer_types: tuple[type[nn.Module], ...] = CHANNEL_LAYERS,
) -> list[str]:
    """Names of the layers whose outputs reach the model's output without another such layer.

    Their output channels are the model's outputs. Found by walking the autograd graph of
    one forward pass on `example` from the output back to the first layer of `layer_types`
    on every path (normalisations, reshapes, residual additions and pooling pass through).
    """
    names = {module: name for name, module in model.named_modules()}
    produced: dict[Any, str] = {}

    def remember(module: nn.Module, _args: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor) and output.grad_fn is not None:
            produced[output.grad_fn] = names[module]

    hooks = [
        m.register_forward_hook(remember) for m in model.modules() if isinstance(m, layer_types)
    ]
    try:
        with eval_mode(model), _all_parameters_require_grad(model), torch.enable_grad():
            output = call_model(model, example)
    except Exception as exc:
        raise OperationError(
            f"could not trace the model on an example input of {describe_example(example)} "
            f"to find its output layers: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        for hook in hooks:
            hook.remove()
    found: dict[str, None] = {}
    seen: set[Any] = set()
    pending = [t.grad_fn for t in _output_tensors(output)]
    while pending:
        node = pending.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if node in produced:
            found[produced[node]] = None
            continue
        pending.extend(parent for parent, _ in node.next_functions)
    return list(found)


def check_output_shape(
    operation: str, child: nn.Module, example: Inputs, expected: tuple[int, ...]
) -> None:
    """Refuse a child that fails on the example or answers with another shape than its parent."""
    try:
        shape = output_shape(child, example)
    except Exception as exc:
        raise OperationError(
            f"{operation} made a model that no longer runs on an example input "
            f"({type(exc).__name__}: {exc}); nothing was stored"
        ) from exc
    if shape != expected:
        raise OperationError(
            f"{operation} changed the model's output shape from {list(expected)} to "
            f"{list(shape)} on an example input; nothing was stored (an output layer lost "
            "channels or the operation does not fit this architecture)"
        )


def apply_operation(
    operation: Operation,
    parent: nn.Module,
    params: OperationParams,
    context: OperationContext,
) -> nn.Module:
    """Apply `operation` to a copy of `parent`, then check the output contract on an example.

    Any failure raises OperationError (naming the operation) and leaves `parent` untouched.
    """
    example = context.example(operation.name)
    try:
        expected = output_shape(parent, example)
    except Exception as exc:
        raise OperationError(
            f"{operation.name}: the model does not run on its example input ({exc}); "
            "check its recorded input shape"
        ) from exc
    try:
        child = operation.apply(copy.deepcopy(parent), params, context)
    except OperationError as exc:
        if str(exc).startswith(operation.name):
            raise
        raise OperationError(f"{operation.name}: {exc}") from exc
    except Exception as exc:
        raise OperationError(f"{operation.name} failed: {type(exc).__name__}: {exc}") from exc
    check_output_shape(operation.name, child, example, expected)
    return child
