"""Putting a base model's weights back into one module of a compressed copy, and taking them
out again, so flip attribution can try many restorations on one working copy.

A unit is a base module that holds tensors of its own (weights, biases, norm statistics).
It is restorable when the compressed model has the same module with tensors of the same
shapes (magnitude pruning, fp16/bf16 casts, torchao's weight-only int8, which keeps the
module and swaps its weight tensor), or a torch.ao dynamic-int8 module of the same
interface (float in, float out: the base's float module takes its place). Structured
pruning changes shapes, and static int8 computes on int8 activations: those units are
reported with the reason and never touched.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from compresslens.models.module_kinds import replace_module

# torch.ao's dynamic quantized modules take and return float tensors: a float swap fits
DYNAMIC_QUANTIZED_PREFIXES = ("torch.ao.nn.quantized.dynamic", "torch.nn.quantized.dynamic")


@dataclass(frozen=True)
class Unit:
    """One base module with tensors of its own, and whether the compressed model takes it back."""

    name: str
    parameters: int
    restorable: bool
    reason: str | None  # why not, when not restorable
    swap: bool = False  # restored by putting the base's module in place (not its tensors)
    unchanged: bool = False  # the model holds the base's values already: nothing to restore


def own_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """The module's own parameters and buffers (not its children's), by local name."""
    found = {k: v for k, v in module.named_parameters(recurse=False) if v is not None}
    found.update((k, v) for k, v in module.named_buffers(recurse=False) if v is not None)
    return found


def _shape(tensor: torch.Tensor) -> list[int]:
    return [int(d) for d in tensor.shape]


def _is_dynamic_quantized(module: nn.Module) -> bool:
    return type(module).__module__.startswith(DYNAMIC_QUANTIZED_PREFIXES)


def _dynamic_weight_shape(module: nn.Module) -> list[int] | None:
    """The float shape of a dynamic-int8 module's packed weight (`weight()` is a method)."""
    weight = getattr(module, "weight", None)
    if callable(weight):
        value = weight()
        if isinstance(value, torch.Tensor):
            return _shape(value)
    return None


def restoration_unit(name: str, base: nn.Module, model: nn.Module) -> Unit:
    """Whether module `name` of `model` can take back the base's values, and why not."""
    base_module = base.get_submodule(name)
    tensors = own_tensors(base_module)
    count = sum(int(t.numel()) for k, t in base_module.named_parameters(recurse=False))
    try:
        target = model.get_submodule(name)
    except AttributeError:
        return Unit(name, count, False, f"the compressed model has no module {name!r}")
    if type(target) is not type(base_module):
        if not _is_dynamic_quantized(target):
            return Unit(
                name,
                count,
                False,
                f"{type(target).__name__} replaced the base's {type(base_module).__name__} "
                "(it computes on quantized activations): a float module does not fit in",
            )
        weight = tensors.get("weight")
        packed = _dynamic_weight_shape(target)
        if weight is None or packed != _shape(weight):
            return Unit(
                name,
                count,
                False,
                f"shape mismatch: weight is {_shape(weight) if weight is not None else None} "
                f"in the base, {packed} in the model",
            )
        return Unit(name, count, True, None, swap=True)
    mine = own_tensors(target)
    for key, tensor in tensors.items():
        if key not in mine:
            return Unit(name, count, False, f"the compressed {name} has no tensor {key!r}")
        if _shape(mine[key]) != _shape(tensor):
            return Unit(
                name,
                count,
                False,
                f"shape mismatch: {key} is {_shape(tensor)} in the base, "
                f"{_shape(mine[key])} in the model (structured pruning removed channels)",
            )
    same = all(_equal(mine[key], tensor) for key, tensor in tensors.items())
    return Unit(name, count, True, None, unchanged=same)


def _equal(current: torch.Tensor, base: torch.Tensor) -> bool:
    """Bitwise the same values and dtype; a quantized tensor subclass never counts as equal."""
    if type(current) not in (torch.Tensor, nn.Parameter) or current.is_quantized:
        return False
    return current.dtype == base.dtype and torch.equal(current.detach(), base.detach())


def restoration_units(base: nn.Module, model: nn.Module) -> list[Unit]:
    """Every base module that holds tensors of its own, in the base's module order."""
    return [
        restoration_unit(name, base, model)
        for name, module in base.named_modules()
        if name and own_tensors(module)
    ]


def _restored_tensor(base_tensor: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """The base's values where `current` lives: its dtype for a plain float tensor (a cast
    model keeps computing at its width), the base's own for a quantized tensor subclass."""
    plain = type(current) in (torch.Tensor, nn.Parameter) and not current.is_quantized
    dtype = current.dtype if plain and current.is_floating_point() else base_tensor.dtype
    return base_tensor.detach().to(device=current.device, dtype=dtype).clone()


@contextmanager
def restored(model: nn.Module, base: nn.Module, units: Sequence[Unit]) -> Iterator[nn.Module]:
    """`model` with the base's tensors (or, for a swap, module) in each restorable unit;
    everything is put back on exit, so one working copy serves every restoration."""
    undo: list[tuple[str, nn.Module | None, str | None, object]] = []
    try:
        for unit in units:
            if not unit.restorable:
                continue
            base_module = base.get_submodule(unit.name)
            if unit.swap:
                old = model.get_submodule(unit.name)
                replace_module(model, unit.name, copy.deepcopy(base_module))
                undo.append((unit.name, old, None, None))
                continue
            target = model.get_submodule(unit.name)
            for key, tensor in own_tensors(base_module).items():
                store = target._parameters if key in target._parameters else target._buffers
                current = store[key]
                assert current is not None  # own_tensors of the model matched by name
                value = _restored_tensor(tensor, current)
                is_param = isinstance(current, nn.Parameter)
                store[key] = nn.Parameter(value, requires_grad=False) if is_param else value
                undo.append((unit.name, target, key, current))
        yield model
    finally:
        for name, module, key, old in reversed(undo):
            if key is None:
                assert module is not None
                replace_module(model, name, module)
            else:
                assert module is not None
                store = module._parameters if key in module._parameters else module._buffers
                store[key] = old  # type: ignore[assignment]
