"""The one registry of compression operations: a name, an apply function, a replay rule."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from compresslens.errors import OperationError


@dataclass
class OperationContext:
    """What an operation may need beyond the model: a seed, data, other parent models."""

    seed: int = 0
    parents: list[nn.Module] = field(default_factory=list)
    datasets: Mapping[str, Any] = field(default_factory=dict)


ApplyFn = Callable[[nn.Module, Mapping[str, Any], OperationContext], nn.Module]
ReplayArchitectureFn = Callable[[nn.Module, Mapping[str, Any]], nn.Module]


@dataclass(frozen=True)
class Operation:
    """`apply` makes the child; `replay` rebuilds only its architecture (None: unchanged)."""

    name: str
    apply: ApplyFn
    replay: ReplayArchitectureFn | None = None
    description: str = ""


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


def replay_architecture(model: nn.Module, name: str, params: Mapping[str, Any]) -> nn.Module:
    """Rebuild the architecture change an operation made, without recomputing its weights."""
    operation = get_operation(name)
    return model if operation.replay is None else operation.replay(model, params)
