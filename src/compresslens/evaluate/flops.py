"""Compute cost: multiply-accumulates per module and the bit-ops they take at their widths.

MACs come from ``torch.utils.flop_counter.FlopCounterMode`` (MACs = FLOPs / 2: it counts
only matmul, convolution and attention kernels, each 2 FLOPs per MAC). Its registry has no
entry for torch.ao quantized kernels (``quantized::linear_dynamic``, ``quantized::conv2d``
...), nor for the integer matmul of torchao's dynamic int8 Linear, so those modules read 0
there; they are counted from their input/output shapes instead, which gives an int8 model
the same MACs as its float parent.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torch.utils.hooks import RemovableHandle

from compresslens.data.inputs import Inputs
from compresslens.errors import CompressLensError
from compresslens.evaluate.efficiency import (
    count_nonzero,
    is_packed_quantized,
    is_quantized_subclass,
    module_weight,
    packed_dtype,
    subclass_quantizes_activations,
    subclass_weight_bits,
)
from compresslens.models.calling import call_model, eval_mode

FLOPS_PER_MAC = 2
QUANTIZED_ACTIVATION_BITS = 8


@dataclass
class MacReport:
    """MACs of one forward pass on the example input, in total and per module."""

    total_macs: int
    per_module: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        return asdict(self)


# ---------------------------------------------------------------- shape-based fallback


def has_quantized_kernel(module: nn.Module) -> bool:
    """Modules whose matmul may run in kernels FlopCounterMode does not count."""
    weight = getattr(module, "weight", None)
    return is_packed_quantized(module) or is_quantized_subclass(weight)


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, tuple | list) and value:
        return _first_tensor(value[0])
    return None


def _linear_macs(module: nn.Module, output: torch.Tensor) -> int:
    return output.numel() * int(module.in_features)


def _conv_macs(module: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    kernel = math.prod(module.kernel_size)
    if "Transpose" in type(module).__name__:  # every input element meets each kernel tap
        return inputs.numel() * (int(module.out_channels) // int(module.groups)) * kernel
    return output.numel() * (int(module.in_channels) // int(module.groups)) * kernel


def shape_macs(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """MACs of a quantized Linear/Conv from its shapes (0 for modules it cannot size)."""
    first_input, first_output = _first_tensor(inputs), _first_tensor(output)
    if first_input is None or first_output is None:
        return 0
    if hasattr(module, "in_features"):
        return _linear_macs(module, first_output)
    if hasattr(module, "kernel_size") and hasattr(module, "in_channels"):
        return _conv_macs(module, first_input, first_output)
    return 0


# ------------------------------------------------------------------------- counting


class _MacTracker:
    """Per-module FLOP deltas read off a FlopCounterMode through forward hooks."""

    def __init__(self, counter: FlopCounterMode) -> None:
        self.counter = counter
        self.stack: list[list[int]] = []  # [flops at entry, flops of children]
        self.direct_flops: dict[str, int] = {}
        self.fallback_macs: dict[str, int] = {}

    def attach(self, model: nn.Module) -> list[RemovableHandle]:
        handles = []
        for name, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(self._enter))
            handles.append(module.register_forward_hook(self._leave_hook(name)))
        return handles

    def _enter(self, module: nn.Module, inputs: tuple[Any, ...]) -> None:
        self.stack.append([self.counter.get_total_flops(), 0])

    def _leave_hook(self, name: str) -> Any:
        def leave(mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            start, children = self.stack.pop()
            inclusive = self.counter.get_total_flops() - start
            self.direct_flops[name] = self.direct_flops.get(name, 0) + inclusive - children
            if self.stack:
                self.stack[-1][1] += inclusive
            if inclusive == 0 and has_quantized_kernel(mod):
                macs = shape_macs(mod, inputs, output)
                self.fallback_macs[name] = self.fallback_macs.get(name, 0) + macs

        return leave


def count_macs(model: nn.Module, example_input: Inputs) -> MacReport:
    """Multiply-accumulates of one eval-mode forward pass on ``example_input`` (pass batch 1).

    ``per_module`` has every leaf module, plus any parent whose own forward does matmuls
    (keyed by qualified name, "" for the root); its values sum to ``total_macs``.
    """
    counter = FlopCounterMode(display=False)
    tracker = _MacTracker(counter)
    handles = tracker.attach(model)
    try:
        with eval_mode(model), torch.inference_mode(), counter:
            call_model(model, example_input)
    finally:
        for handle in handles:
            handle.remove()
    per_module = _per_module_macs(model, tracker)
    return MacReport(total_macs=sum(per_module.values()), per_module=per_module)


def counted_modules(model: nn.Module) -> Iterator[tuple[str, nn.Module, bool]]:
    """(name, module, is_leaf) for every module, a packed quantized module being a leaf.

    Dynamic quantized Linear holds a ``_packed_params`` child module that never runs; it
    and anything else inside a packed quantized module are not listed.
    """
    packed_prefixes: list[str] = []
    for name, module in model.named_modules():
        if any(name.startswith(prefix) for prefix in packed_prefixes):
            continue
        if is_packed_quantized(module):
            yield name, module, True
            if not name:
                return  # the whole model is one packed quantized module
            packed_prefixes.append(f"{name}.")
        else:
            yield name, module, next(module.children(), None) is None


def _per_module_macs(model: nn.Module, tracker: _MacTracker) -> dict[str, int]:
    per_module: dict[str, int] = {}
    for name, _module, is_leaf in counted_modules(model):
        flops = tracker.direct_flops.get(name, 0)
        macs = flops // FLOPS_PER_MAC + tracker.fallback_macs.get(name, 0)
        if macs or is_leaf:
            per_module[name] = macs
    return per_module


# -------------------------------------------------------------------------- bit-ops


def float_bits(dtype: torch.dtype) -> int:
    """Bits of a floating dtype's element (32 for float32, 16 for float16/bfloat16)."""
    return torch.finfo(dtype).bits


def _model_float_dtype(model: nn.Module) -> torch.dtype:
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.dtype.is_floating_point:
            return tensor.dtype
    return torch.float32


def default_bits(module: nn.Module | None, model_dtype: torch.dtype) -> tuple[int, int]:
    """(weight bits, activation bits) a module computes at, by the rule in effective_bitops."""
    weight = module_weight(module) if module is not None else None
    if weight is None:
        bits = float_bits(model_dtype)
        return bits, bits
    stored = packed_dtype(module) if module is not None else None
    if is_quantized_subclass(weight):
        activation = float_bits(weight.dtype)  # weight-only: activations stay floating point
        if subclass_quantizes_activations(weight):
            activation = QUANTIZED_ACTIVATION_BITS
        return subclass_weight_bits(weight), activation
    if weight.is_quantized:
        return weight.int_repr().element_size() * 8, QUANTIZED_ACTIVATION_BITS
    if stored is not None and stored.is_floating_point:  # fp16 dynamic: float32 activations
        return float_bits(stored), float_bits(torch.float32)
    if weight.dtype.is_floating_point:
        return float_bits(weight.dtype), float_bits(weight.dtype)
    bits = weight.element_size() * 8
    return bits, bits


def weight_density(module: nn.Module | None) -> Fraction:
    """Share of a module's weight that is non-zero (1 for modules without a weight)."""
    weight = module_weight(module) if module is not None else None
    if weight is None or weight.numel() == 0:
        return Fraction(1)
    return Fraction(count_nonzero(weight), weight.numel())


def _submodule(model: nn.Module, name: str) -> nn.Module | None:
    try:
        return model.get_submodule(name)
    except AttributeError:
        return None


def effective_bitops(
    model: nn.Module,
    mac_report: MacReport,
    weight_bits: Mapping[str, int] | None = None,
    activation_bits: Mapping[str, int] | None = None,
) -> int:
    """Σ over modules of MACs × weight density × weight bits × activation bits.

    A cost that credits both sparsity and low bit-width, so pruned and quantized models
    sit on one axis. Default widths: a float weight sets both factors to its dtype's
    width (32 for float32, 16 for float16/bfloat16); an int8-quantized torch.ao module is
    8 × 8; an fp16 dynamic-quantized module is 16 × 32 (its activations stay float32);
    a torchao weight counts its value bits (int4 → 4) times 8 when it quantizes
    activations (dynamic int8), else times its float width (weight-only);
    modules without a weight (matmuls in a parent's forward) use the model's float width
    for both and density 1. ``weight_bits`` / ``activation_bits`` override per module
    name (e.g. int4 values kept in int8 containers). A dense float32 model gives
    ``total_macs × 1024``; zeroing half of one layer's weight halves that layer's share.
    """
    weight_bits = weight_bits or {}
    activation_bits = activation_bits or {}
    _check_names(mac_report, weight_bits, "weight_bits")
    _check_names(mac_report, activation_bits, "activation_bits")
    model_dtype = _model_float_dtype(model)
    total = Fraction(0)
    for name, macs in mac_report.per_module.items():
        if not macs:
            continue
        module = _submodule(model, name)
        default_w, default_a = default_bits(module, model_dtype)
        w_bits = weight_bits.get(name, default_w)
        a_bits = activation_bits.get(name, default_a)
        total += macs * weight_density(module) * w_bits * a_bits
    return round(total)


def _check_names(report: MacReport, overrides: Mapping[str, int], what: str) -> None:
    unknown = sorted(set(overrides) - set(report.per_module))
    if unknown:
        raise CompressLensError(f"{what} names modules the MAC report does not have: {unknown}")
