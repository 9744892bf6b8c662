"""The one registry of compression operations: a name, typed parameters, apply and replay.

Like torchao's `quantize_(model, Config())`, an operation reads as a registered verb plus a
small config object; here the config is a pydantic model, so a bad parameter is refused
with a message naming it before anything runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from torch import nn

from compresslens.data.inputs import Inputs
from compresslens.errors import OperationError


class OperationParams(BaseModel):
    """Base of every operation's parameters: unknown fields are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(OperationParams):
    pass


P = TypeVar("P", bound=OperationParams)


@dataclass
class OperationContext:
    """What an operation may need beyond the model: a seed, other parents, data, an example.

    `load_dataset(name)` returns the registered dataset's arrays (inputs, labels); it is
    how calibration, gradient scoring and fine-tuning reach data without doing I/O.
    `example_input` is a batch of one instance shaped like the model's inputs (from its
    recorded input spec or a dataset): what tracing and the output-shape check run on.
    """

    seed: int = 0
    parents: list[nn.Module] = field(default_factory=list)
    load_dataset: Callable[[str], Any] | None = None
    example_input: Inputs | None = None

    def dataset(self, name: str) -> Any:
        if self.load_dataset is None:
            raise OperationError(f"this operation needs dataset {name!r}, but none was provided")
        return self.load_dataset(name)

    def example(self, operation: str) -> Inputs:
        return require_example(self.example_input, operation)

    @property
    def teacher(self) -> nn.Module:
        if len(self.parents) < 2:
            raise OperationError("this operation needs a second parent (teacher=…)")
        return self.parents[1]


@dataclass(frozen=True)
class ReplayContext:
    """What rebuilding an operation's architecture change may read.

    `stored_shapes` are the node's own stored tensor shapes (name -> shape), for changes such
    as removed channels or low-rank factors; `example_input` is as in OperationContext.
    """

    stored_shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    example_input: Inputs | None = None

    def example(self, operation: str) -> Inputs:
        return require_example(self.example_input, operation)


def require_example(example: Inputs | None, operation: str) -> Inputs:
    """The example input, or an error that says how to give the model one."""
    if example is None:
        raise OperationError(
            f"{operation} needs an example input to trace the model, but its input shape is "
            "unknown: register the model with input_shape=[…] (one instance, no batch "
            "dimension, e.g. [1, 28, 28]), evaluate it on a dataset, or pass input_shape=…"
        )
    return example


def validate_params(params: type[P], raw: Mapping[str, Any], what: str) -> P:
    """Typed, complete parameters from user values, or an error naming each bad field."""
    try:
        return params.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors()
        )
        raise OperationError(f"bad parameters for {what}: {problems}") from None


ApplyFn = Callable[[nn.Module, Any, OperationContext], nn.Module]
# Rebuild only the architecture change (the stored values overwrite every weight after).
ReplayFn = Callable[[nn.Module, Any, ReplayContext], nn.Module]


@dataclass(frozen=True)
class Operation:
    """`apply` makes the child; `replay` rebuilds its architecture (None: unchanged)."""

    name: str
    apply: ApplyFn
    params: type[OperationParams] = NoParams
    replay: ReplayFn | None = None
    description: str = ""

    def validate(self, raw: Mapping[str, Any]) -> OperationParams:
        return validate_params(self.params, raw, self.name)

    def normalized(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters as stored and hashed: validated, defaults filled in, JSON values."""
        return self.validate(raw).model_dump(mode="json")


_REGISTRY: dict[str, Operation] = {}


def register_operation(operation: Operation, *, replace: bool = False) -> Operation:
    if operation.name in _REGISTRY and not replace:
        raise OperationError(f"operation {operation.name!r} is already registered")
    _REGISTRY[operation.name] = operation
    return operation


def unregister_operation(name: str) -> None:
    _REGISTRY.pop(name, None)


def get_operation(name: str) -> Operation:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise OperationError(f"unknown operation {name!r}{hint} (registered: {known})")
    return _REGISTRY[name]


def registered_operations() -> list[str]:
    return sorted(_REGISTRY)


def replay_architecture(
    model: nn.Module,
    name: str,
    params: Mapping[str, Any],
    stored_shapes: Mapping[str, tuple[int, ...]],
    example_input: Inputs | None = None,
) -> nn.Module:
    """Rebuild the architecture change an operation made, without recomputing its weights."""
    operation = get_operation(name)
    if operation.replay is None:
        return model
    context = ReplayContext(stored_shapes, example_input)
    return operation.replay(model, operation.validate(params), context)
