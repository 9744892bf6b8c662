"""A model's values as a flat dict of plain tensors, and back: what safetensors can hold.

`export_state` / `restore_state` are the only way the workspace reads or writes a model's
values, so every kind of module (float, masked, quantized) round-trips through one place.

Entries that safetensors cannot hold are flattened under derived names: the state-dict key
plus a suffix. A parameter name never contains a dot, so a suffix cannot collide with
another entry:

* a torch.ao quantized tensor ``k`` → ``k.int_repr`` plus ``k.scale`` / ``k.zero_point``
  (per tensor, float64 / int64 scalars) or ``k.scales`` / ``k.zero_points`` / ``k.axis``
  (per channel);
* a tuple (torch.ao packed parameters ``(weight, bias)``) ``k`` → ``k.0``, ``k.1``, …;
* a torchao tensor subclass ``k`` → one entry per inner tensor of ``__tensor_flatten__``
  (``k.qdata``, ``k.scale``, ``k.zero_point``, …), recursively.

What the architecture fixes (quantized dtype, qscheme, block sizes, the packed-params
``dtype``, ``None`` biases) is not stored: `restore_state` takes it from the model that
replay rebuilt, which already has the right module types and subclass tensors.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import is_traceable_wrapper_subclass

from compresslens.errors import InvalidWeightsError
from compresslens.models.weights import load_state_into

_PER_TENSOR = (torch.per_tensor_affine, torch.per_tensor_symmetric)
_PER_CHANNEL = (torch.per_channel_affine, torch.per_channel_symmetric)
_LISTED = 5


def is_plain_tensor(value: Any) -> bool:
    """A tensor safetensors can store as it is: not quantized, not a wrapper subclass."""
    return (
        isinstance(value, torch.Tensor)
        and not value.is_quantized
        and not is_traceable_wrapper_subclass(value)
    )


def _is_structural(value: Any) -> bool:
    """State-dict values the architecture determines (packed-params dtype, absent bias)."""
    return value is None or isinstance(value, torch.dtype)


# ------------------------------------------------------------------------------ export


def export_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every value the model needs, as plain (non-quantized, non-subclass) tensors."""
    flat: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        flat.update(flatten_value(key, value))
    return flat


def flatten_value(name: str, value: Any) -> dict[str, torch.Tensor]:
    """One state-dict entry as plain tensors under ``name`` or names derived from it."""
    if _is_structural(value):
        return {}
    if isinstance(value, tuple | list):
        flat: dict[str, torch.Tensor] = {}
        for index, item in enumerate(value):
            flat.update(flatten_value(f"{name}.{index}", item))
        return flat
    if not isinstance(value, torch.Tensor):
        raise InvalidWeightsError(
            f"state dict entry {name!r} is a {type(value).__name__}, not a tensor; "
            "compresslens stores tensors only"
        )
    if value.is_quantized:
        return _flatten_quantized(name, value)
    if is_traceable_wrapper_subclass(value):
        return _flatten_subclass(name, value)
    return {name: value}


def _flatten_quantized(name: str, value: torch.Tensor) -> dict[str, torch.Tensor]:
    qscheme = value.qscheme()
    values = {f"{name}.int_repr": value.int_repr()}
    if qscheme in _PER_TENSOR:
        values[f"{name}.scale"] = torch.tensor(value.q_scale(), dtype=torch.float64)
        values[f"{name}.zero_point"] = torch.tensor(value.q_zero_point(), dtype=torch.int64)
        return values
    if qscheme in _PER_CHANNEL:
        values[f"{name}.scales"] = value.q_per_channel_scales()
        values[f"{name}.zero_points"] = value.q_per_channel_zero_points()
        values[f"{name}.axis"] = torch.tensor(value.q_per_channel_axis(), dtype=torch.int64)
        return values
    raise InvalidWeightsError(
        f"state dict entry {name!r} is quantized with {qscheme}, which compresslens cannot store"
    )


def _flatten_subclass(name: str, value: torch.Tensor) -> dict[str, torch.Tensor]:
    inner_names, _ = value.__tensor_flatten__()
    flat: dict[str, torch.Tensor] = {}
    for inner in inner_names:
        flat.update(flatten_value(f"{name}.{inner}", getattr(value, inner)))
    return flat


# ----------------------------------------------------------------------------- restore


def restore_state(model: nn.Module, flat: Mapping[str, torch.Tensor]) -> nn.Module:
    """Load `export_state`'s output into a model of the same architecture (strictly).

    Quantized tensors and tensor subclasses are rebuilt from their flattened entries with
    the metadata of the model's own (replayed) values, then loaded with load_state_dict,
    so torch.ao modules repack their weights and outputs are bit-identical.
    """
    template = model.state_dict()
    if all(is_plain_tensor(value) for value in template.values()):
        return load_state_into(model, flat)
    _check_fits(template, flat)
    rebuilt: OrderedDict[str, Any] = OrderedDict(
        (key, _rebuild(key, value, flat)) for key, value in template.items()
    )
    # torch.ao modules read their state-dict version from the metadata to unpack entries
    rebuilt._metadata = getattr(template, "_metadata", OrderedDict())  # type: ignore[attr-defined]
    model.load_state_dict(rebuilt, strict=True)
    return model


def _check_fits(template: Mapping[str, Any], flat: Mapping[str, torch.Tensor]) -> None:
    """Refuse, naming each entry, values that are missing, unexpected or mis-shaped."""
    expected: dict[str, torch.Tensor] = {}
    for key, value in template.items():
        expected.update(flatten_value(key, value))
    missing = sorted(set(expected) - set(flat))
    unexpected = sorted(set(flat) - set(expected))
    common = sorted(set(expected) & set(flat))
    mis_shaped = [
        f"{name} {tuple(flat[name].shape)} vs model {tuple(expected[name].shape)}"
        for name in common
        if flat[name].shape != expected[name].shape
    ]
    # derived entries are rebuilt as they are, so their dtype must match exactly
    mis_typed = [
        f"{name} {flat[name].dtype} vs model {expected[name].dtype}"
        for name in common
        if name not in template and flat[name].dtype != expected[name].dtype
    ]
    problems = [
        f"{label} {_listed(names)}"
        for label, names in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("shape mismatch", mis_shaped),
            ("dtype mismatch", mis_typed),
        )
        if names
    ]
    if problems:
        raise InvalidWeightsError("weights do not fit the model: " + "; ".join(problems))


def _listed(names: list[str]) -> str:
    return f"{names[:_LISTED]}{' …' if len(names) > _LISTED else ''}"


def _rebuild(name: str, template: Any, flat: Mapping[str, torch.Tensor]) -> Any:
    """The value for one state-dict entry, shaped like the template's."""
    if _is_structural(template):
        return template
    if isinstance(template, tuple | list):
        items = [_rebuild(f"{name}.{i}", item, flat) for i, item in enumerate(template)]
        return type(template)(items)
    if template.is_quantized:
        return _rebuild_quantized(name, template, flat)
    if is_traceable_wrapper_subclass(template):
        return _rebuild_subclass(name, template, flat)
    return flat[name]


def _rebuild_quantized(
    name: str, template: torch.Tensor, flat: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    values = flat[f"{name}.int_repr"]
    if template.qscheme() in _PER_TENSOR:
        scale = float(flat[f"{name}.scale"])
        zero_point = int(flat[f"{name}.zero_point"])
        return torch._make_per_tensor_quantized_tensor(values, scale, zero_point)
    return torch._make_per_channel_quantized_tensor(
        values,
        flat[f"{name}.scales"],
        flat[f"{name}.zero_points"],
        int(flat[f"{name}.axis"]),
    )


def _rebuild_subclass(
    name: str, template: torch.Tensor, flat: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    inner_names, attributes = template.__tensor_flatten__()
    inner = {n: _rebuild(f"{name}.{n}", getattr(template, n), flat) for n in inner_names}
    return type(template).__tensor_unflatten__(
        inner, attributes, template.size(), template.stride()
    )
