"""Post-training quantization and casts: dynamic/static int8, weight-only int8/int4, fp16/bf16.

Every operation here changes module types or tensor classes, so each has a replay that
re-applies the same configuration to the rebuilt float model; the stored quantized values
(flattened by `models/state_codec.py`) then overwrite whatever replay computed. Replay never
needs data: static quantization calibrates its throwaway observers on one seeded random
batch of `input_shape`.

Two dynamic int8 back-ends are offered because they differ on CPU (see PLATFORM.md):
torchao's `Int8DynamicActivationInt8WeightConfig` is the maintained path; torch.ao's
`quantize_dynamic` is deprecated but faster on Linear-heavy models here. torchao is
imported lazily: importing it costs seconds and prints loader noise, which
`compresslens ls` should not pay for.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, field_validator
from torch import nn

from compresslens.errors import OperationError
from compresslens.models.module_kinds import is_conv1d, linear_from_conv1d, replace_module
from compresslens.ops.registry import (
    NoParams,
    Operation,
    OperationContext,
    OperationParams,
    ReplayContext,
    register_operation,
)
from compresslens.ops.selection import SelectionParams, is_selected, select_modules

Backend = Literal["torchao", "torch.ao"]
# torch.ao observers warn about reduce_range on every construction; nothing a user can act on.
_OBSERVER_NOISE = "Please use quant_min and quant_max"
_QCONFIG_BACKEND = "x86"
_REPLAY_SEED = 0
# layer types every quantizer here has a kernel for (include_types may name only these);
# a selected GPT-2 Conv1D is first swapped for the equivalent nn.Linear (see `conv1d_as_linear`)
QUANTIZABLE_TYPES = ("Linear", "linear", "Conv1D")
DEFAULT_QUANTIZED_TYPES = ("Linear",)  # selects Conv1D too (see ops/selection.py)


# ------------------------------------------------------------------------ parameters


class LinearSelectionParams(SelectionParams):
    """The pruning ops' module selection, limited to the layer types these quantizers handle.

    Naming another type is refused up front rather than quietly quantizing nothing.
    """

    include_types: list[str] = Field(default_factory=lambda: list(DEFAULT_QUANTIZED_TYPES))

    @field_validator("include_types")
    @classmethod
    def _quantizable_types_only(cls, value: list[str]) -> list[str]:
        other = [name for name in value if name not in QUANTIZABLE_TYPES]
        if other:
            raise ValueError(
                f"only {', '.join(QUANTIZABLE_TYPES)} layers can be quantized, not "
                f"{', '.join(other)} (quantize.static_int8 quantizes convolutions too, "
                "over the whole model)"
            )
        return value


class DynamicInt8Params(LinearSelectionParams):
    """Which implementation quantizes the selected Linear layers' weights and activations."""

    backend: Backend = "torchao"


class StaticInt8Params(OperationParams):
    """Calibration data for static int8 (FX): a registered dataset, batches of a size.

    `input_shape` (one instance, no batch dimension, e.g. [1, 28, 28]) is the shape replay
    calibrates its throwaway observers on; by default the model's recorded input spec. If
    given, it must be the dataset's instance shape.
    """

    whole_model_reason: ClassVar[str] = (
        "static int8 quantizes the whole FX-traced graph at once (the activations flowing "
        "between layers and fused conv+bn+relu patterns share one calibration); measure "
        "per-layer quantization sensitivity with quantize.weight_only or quantize.dynamic_int8"
    )

    dataset: str
    calibration_batches: int = Field(default=8, gt=0)
    batch_size: int = Field(default=32, gt=0)
    input_shape: list[int] | None = Field(default=None, min_length=1)


class WeightOnlyParams(LinearSelectionParams):
    """Round-to-nearest symmetric weight quantization with one scale per group of inputs.

    The selection picks the Linear layers, so two passes (int4 on the insensitive layers,
    int8 on the rest) make a mixed-precision model.
    """

    bits: Literal[8, 4] = 8
    group_size: int = Field(default=32, gt=0)


# ------------------------------------------------------------------------- helpers


def linear_layers(model: nn.Module, operation: str) -> dict[str, nn.Linear]:
    """The model's nn.Linear layers, or an error: quantizing nothing is surely a mistake."""
    layers = {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    if not layers:
        raise OperationError(f"{operation}: the model has no nn.Linear layer to quantize")
    return layers


def any_linear(module: nn.Linear) -> bool:
    return True


def exactly_linear(module: nn.Linear) -> bool:
    """torch.ao's quantize_dynamic swaps modules by exact type; subclasses stay float."""
    return type(module) is nn.Linear


def dynamically_quantizable(module: nn.Linear) -> bool:
    """torchao's own default: attention's out_proj is called through F.linear, not swapped."""
    return not isinstance(module, nn.modules.linear.NonDynamicallyQuantizableLinear)


def conv1d_as_linear(model: nn.Module, params: LinearSelectionParams) -> None:
    """Swap each selected Conv1D for the nn.Linear computing the same (weight transposed).

    The quantizers have kernels for nn.Linear only; the child stores the Linear's [out, in]
    weight, and replay makes the same swap before the stored values overwrite it.
    """
    chosen = [
        (name, module)
        for name, module in model.named_modules()
        if is_conv1d(module) and is_selected(name, module, params)
    ]
    for name, module in chosen:
        replace_module(model, name, linear_from_conv1d(module))


def selected_float_linears(
    model: nn.Module,
    params: LinearSelectionParams,
    operation: str,
    has_kernel: Callable[[nn.Linear], bool] = any_linear,
) -> dict[str, nn.Linear]:
    """The float nn.Linear layers the selection picks (already-quantized ones are skipped).

    Depends only on module names, types and weight classes, so replay on the rebuilt
    architecture picks exactly the same layers. Selected Conv1D layers become nn.Linear.
    """
    conv1d_as_linear(model, params)
    linear_layers(model, operation)
    try:
        selected = select_modules(model, params)
    except OperationError as exc:
        raise OperationError(f"{operation}: {exc}") from None
    layers = {
        name: m
        for name, m in selected.items()
        if isinstance(m, nn.Linear)
        and type(m.weight) in (torch.Tensor, nn.Parameter)
        and has_kernel(m)
    }
    if not layers:
        raise OperationError(
            f"{operation}: no float nn.Linear layer matches include_types="
            f"{params.include_types} include={params.include} exclude={params.exclude} "
            "(layers quantized already are skipped)"
        )
    return layers


def only(chosen: Mapping[str, nn.Module]) -> Callable[[nn.Module, str], bool]:
    """A torchao `filter_fn` that accepts exactly the chosen modules."""
    return lambda module, fqn: fqn in chosen and module is chosen[fqn]


def _check_group_size(layers: Mapping[str, nn.Linear], group_size: int) -> None:
    """Groups split each row of a weight evenly, or torchao fails deep inside."""
    uneven = [f"{n} ({m.in_features})" for n, m in layers.items() if m.in_features % group_size]
    if uneven:
        raise OperationError(
            f"quantize.weight_only: group_size={group_size} does not divide the input "
            f"features of {', '.join(uneven)}; choose a group_size that divides them"
        )


@contextmanager
def observer_noise_hidden() -> Iterator[None]:
    """Hide torch.ao's per-observer reduce_range warning, and only it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_OBSERVER_NOISE, category=UserWarning)
        yield


# ------------------------------------------------------------------ dynamic int8


def dynamic_int8(model: nn.Module, params: DynamicInt8Params) -> nn.Module:
    """Int8 weights, int8 activations quantized per batch, in the selected nn.Linear layers."""
    torch_ao = params.backend == "torch.ao"
    kernel = exactly_linear if torch_ao else dynamically_quantizable
    chosen = selected_float_linears(model, params, "quantize.dynamic_int8", kernel)
    model.eval()
    if torch_ao:
        from torch.ao.quantization import quantize_dynamic

        with observer_noise_hidden():  # a set of module names: default qint8 qconfig for each
            return quantize_dynamic(model, set(chosen), dtype=torch.qint8, inplace=True)
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    quantize_(model, Int8DynamicActivationInt8WeightConfig(), filter_fn=only(chosen))
    return model


def _apply_dynamic_int8(
    model: nn.Module, params: DynamicInt8Params, context: OperationContext
) -> nn.Module:
    return dynamic_int8(model, params)


def _replay_dynamic_int8(
    model: nn.Module, params: DynamicInt8Params, context: ReplayContext
) -> nn.Module:
    return dynamic_int8(model, params)


# ------------------------------------------------------------------- static int8


def prepare_static(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """FX-trace the eval-mode model and insert x86 observers (per-channel weights)."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_fx

    mapping = get_default_qconfig_mapping(_QCONFIG_BACKEND)
    with observer_noise_hidden():
        try:
            return prepare_fx(model.eval(), mapping, (example,))
        except Exception as exc:  # symbolic tracing fails on data-dependent control flow
            raise OperationError(
                f"quantize.static_int8 cannot FX-trace {type(model).__name__}: {exc}"
            ) from exc


def convert_static(prepared: nn.Module) -> nn.Module:
    """Replace observed modules by quantized ones (int8 weights and activations)."""
    from torch.ao.quantization.quantize_fx import convert_fx

    with observer_noise_hidden():
        return convert_fx(prepared).eval()


def _calibration_inputs(
    inputs: torch.Tensor, params: StaticInt8Params, seed: int
) -> list[torch.Tensor]:
    """Batches drawn by a seeded shuffle, so the same seed calibrates on the same images."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(inputs), generator=generator)
    count = min(len(inputs), params.calibration_batches * params.batch_size)
    return [inputs[order[i : i + params.batch_size]] for i in range(0, count, params.batch_size)]


def _check_input_shape(inputs: Any, params: StaticInt8Params) -> None:
    if not isinstance(inputs, torch.Tensor) or not inputs.dtype.is_floating_point:
        raise OperationError(
            "quantize.static_int8 calibrates on one floating-point input tensor (images, "
            f"features); dataset {params.dataset!r} holds {type(inputs).__name__} inputs: "
            "use quantize.dynamic_int8 or quantize.weight_only for token models"
        )
    if len(inputs) == 0:
        raise OperationError(f"dataset {params.dataset!r} is empty; it cannot calibrate")
    if params.input_shape is not None and list(inputs.shape[1:]) != params.input_shape:
        raise OperationError(
            f"quantize.static_int8: dataset {params.dataset!r} has instances of shape "
            f"{list(inputs.shape[1:])} but input_shape is {params.input_shape} (the shape "
            f"of one instance, no batch dimension); pass input_shape={list(inputs.shape[1:])}"
        )


def _apply_static_int8(
    model: nn.Module, params: StaticInt8Params, context: OperationContext
) -> nn.Module:
    inputs = context.dataset(params.dataset).inputs
    _check_input_shape(inputs, params)
    batches = _calibration_inputs(inputs, params, context.seed)
    prepared = prepare_static(model, batches[0][:1])
    with torch.no_grad():  # observers update buffers: inference tensors would break convert
        for batch in batches:
            prepared(batch)
    return convert_static(prepared)


def _replay_static_int8(
    model: nn.Module, params: StaticInt8Params, context: ReplayContext
) -> nn.Module:
    if params.input_shape is not None:
        shape = [1, *params.input_shape]
    else:
        like = context.example("quantize.static_int8")
        if not isinstance(like, torch.Tensor):
            raise OperationError("quantize.static_int8 replay needs one input tensor")
        shape = list(like.shape)
    generator = torch.Generator().manual_seed(_REPLAY_SEED)
    example = torch.randn(shape, generator=generator)
    prepared = prepare_static(model, example)
    with torch.no_grad():
        prepared(example)
    return convert_static(prepared)


# ------------------------------------------------------------------- weight-only


def weight_only_config(params: WeightOnlyParams) -> Any:
    """The torchao config: Int8WeightOnly or IntxWeightOnly(int4), both per group."""
    from torchao.quantization import Int8WeightOnlyConfig, IntxWeightOnlyConfig
    from torchao.quantization.granularity import PerGroup

    granularity = PerGroup(params.group_size)
    if params.bits == 8:
        return Int8WeightOnlyConfig(granularity=granularity)
    return IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=granularity)


def weight_only(model: nn.Module, params: WeightOnlyParams) -> nn.Module:
    """Quantize the selected nn.Linear weights; activations stay floating point."""
    from torchao.quantization import quantize_

    # attention's out_proj is used through F.linear on its weight (a .t() torchao's int
    # weights do not implement): torchao leaves it out by default, and so do we
    chosen = selected_float_linears(model, params, "quantize.weight_only", dynamically_quantizable)
    _check_group_size(chosen, params.group_size)
    quantize_(model.eval(), weight_only_config(params), filter_fn=only(chosen))
    return model


def _apply_weight_only(
    model: nn.Module, params: WeightOnlyParams, context: OperationContext
) -> nn.Module:
    return weight_only(model, params)


def _replay_weight_only(
    model: nn.Module, params: WeightOnlyParams, context: ReplayContext
) -> nn.Module:
    return weight_only(model, params)


# -------------------------------------------------------------------------- casts


def _cast_inputs(dtype: torch.dtype, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_cast_floating(a, dtype) for a in args)


def _float32_outputs(module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
    """Logits leave as float32 (exact for fp16/bf16 values), so metrics use one width."""
    return _cast_floating(output, torch.float32)


def _cast_floating(value: Any, dtype: torch.dtype) -> Any:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.to(dtype)
    return value


def _is_cast_hook(hook: Any) -> bool:
    return (isinstance(hook, functools.partial) and hook.func is _cast_inputs) or (
        hook is _float32_outputs
    )


def cast_model(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Cast floating parameters and buffers; the model casts its floating inputs itself.

    Callers (evaluation, latency, MACs) keep feeding float32 inputs; hooks on the root
    convert them, and earlier cast hooks are replaced, so casting twice stays one cast.
    """
    model.to(dtype)
    for hooks in (model._forward_pre_hooks, model._forward_hooks):
        for key in [k for k, hook in hooks.items() if _is_cast_hook(hook)]:
            del hooks[key]
    model.register_forward_pre_hook(functools.partial(_cast_inputs, dtype))
    model.register_forward_hook(_float32_outputs)
    return model


def _cast_operation(name: str, dtype: torch.dtype) -> Operation:
    def apply(model: nn.Module, params: NoParams, context: OperationContext) -> nn.Module:
        return cast_model(model, dtype)

    def replay(model: nn.Module, params: NoParams, context: ReplayContext) -> nn.Module:
        return cast_model(model, dtype)

    return Operation(
        name=name,
        apply=apply,
        replay=replay,
        description=f"cast floating parameters and buffers to {dtype}".replace("torch.", ""),
    )


# ---------------------------------------------------------------------- registry

register_operation(
    Operation(
        name="quantize.dynamic_int8",
        apply=_apply_dynamic_int8,
        params=DynamicInt8Params,
        replay=_replay_dynamic_int8,
        description="int8 weights and per-batch int8 activations in the selected Linear layers",
    )
)
register_operation(
    Operation(
        name="quantize.static_int8",
        apply=_apply_static_int8,
        params=StaticInt8Params,
        replay=_replay_static_int8,
        description="post-training static int8 (FX, x86, per-channel weights), calibrated",
    )
)
register_operation(
    Operation(
        name="quantize.weight_only",
        apply=_apply_weight_only,
        params=WeightOnlyParams,
        replay=_replay_weight_only,
        description="round-to-nearest group-wise int8/int4 weights of the selected Linear layers",
    )
)
register_operation(_cast_operation("cast.fp16", torch.float16))
register_operation(_cast_operation("cast.bf16", torch.bfloat16))
