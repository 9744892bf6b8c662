"""Sizes, MACs and bit-ops of the models the quantization and cast operations produce.

Quantizing changes widths, not work: every variant has its float parent's MACs; int8
weights take one byte each, int4 weights half a byte plus their group scales.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from fractions import Fraction

import pytest
import torch
from torch import nn

from compresslens.evaluate.efficiency import (
    count_nonzero,
    count_parameters,
    model_state_for_size,
    storage_bytes,
)
from compresslens.evaluate.flops import count_macs, default_bits, effective_bitops
from compresslens.models.zoo import small_cnn
from compresslens.ops.quantization import (
    DynamicInt8Params,
    WeightOnlyParams,
    cast_model,
    convert_static,
    dynamic_int8,
    prepare_static,
    weight_only,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:torch.ao.quantization is deprecated:DeprecationWarning",
    "ignore:.*quantized tensor creation functions.*:UserWarning",
)

EXAMPLE = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
LINEARS = ("hidden", "classifier")
CONVS = ("block1.conv", "block2.conv")


def cnn() -> nn.Module:
    """Two 3×3 convs (4 and 8 channels) on 8×8 inputs, Linear 32→16, classifier 16→10."""
    torch.manual_seed(0)
    return small_cnn(width=4, hidden=16, image_size=8).eval()


def static_int8(model: nn.Module) -> nn.Module:
    prepared = prepare_static(model, EXAMPLE)
    with torch.no_grad():
        prepared(torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(1)))
    return convert_static(prepared)


VARIANTS: dict[str, Callable[[nn.Module], nn.Module]] = {
    "dynamic torchao": lambda m: dynamic_int8(m, DynamicInt8Params()),
    "dynamic torch.ao": lambda m: dynamic_int8(m, DynamicInt8Params(backend="torch.ao")),
    "static": static_int8,
    "weight-only int8": lambda m: weight_only(m, WeightOnlyParams(bits=8, group_size=16)),
    "weight-only int4": lambda m: weight_only(m, WeightOnlyParams(bits=4, group_size=16)),
    "fp16": lambda m: cast_model(m, torch.float16),
    "bf16": lambda m: cast_model(m, torch.bfloat16),
}
# (weight bits, activation bits) of the Linear layers, and of the convs
EXPECTED_BITS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "dynamic torchao": ((8, 8), (32, 32)),
    "dynamic torch.ao": ((8, 8), (32, 32)),
    "static": ((8, 8), (8, 8)),
    "weight-only int8": ((8, 32), (32, 32)),
    "weight-only int4": ((4, 32), (32, 32)),
    "fp16": ((16, 16), (16, 16)),
    "bf16": ((16, 16), (16, 16)),
}


def variant(name: str) -> nn.Module:
    return VARIANTS[name](copy.deepcopy(cnn()))


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_keeps_the_float_parents_macs(name: str) -> None:
    parent = count_macs(cnn(), EXAMPLE)
    child = count_macs(variant(name), EXAMPLE)
    assert child.total_macs == parent.total_macs
    for module in (*CONVS, *LINEARS):
        assert child.per_module[module] == parent.per_module[module]


@pytest.mark.parametrize("name", list(VARIANTS))
def test_bitops_use_each_layers_quantized_widths(name: str) -> None:
    model = variant(name)
    macs = count_macs(model, EXAMPLE)
    linear_bits, conv_bits = EXPECTED_BITS[name]
    expected = Fraction(0)
    for module_name, count in macs.per_module.items():
        if not count:
            continue
        module = model.get_submodule(module_name)
        weight_bits, activation_bits = linear_bits if module_name in LINEARS else conv_bits
        assert default_bits(module, torch.float32) == (weight_bits, activation_bits)
        weight = module.weight() if callable(module.weight) else module.weight
        density = Fraction(count_nonzero(weight), weight.numel())
        expected += count * density * weight_bits * activation_bits
    assert effective_bitops(model, macs) == round(expected)


@pytest.mark.parametrize("name", ["dynamic torchao", "dynamic torch.ao", "weight-only int4"])
def test_quantized_weights_are_counted_once_at_their_float_shape(name: str) -> None:
    assert count_parameters(variant(name))[0] == count_parameters(cnn())[0]


def test_static_int8_counts_batch_norm_folded_into_conv_biases() -> None:
    parent = cnn()
    channels = sum(m.num_features for m in parent.modules() if isinstance(m, nn.BatchNorm2d))
    # each BatchNorm (weight + bias) folds into one bias per channel of its conv
    assert count_parameters(variant("static"))[0] == count_parameters(parent)[0] - channels


def rows(model: nn.Module) -> dict[str, dict]:
    return {row["name"]: row for row in storage_bytes(model_state_for_size(model)).per_tensor}


def test_torchao_int8_weights_take_one_byte_each() -> None:
    row = rows(variant("dynamic torchao"))["hidden.weight.qdata"]
    assert (row["bits"], row["numel"], row["dense_bytes"]) == (8, 16 * 32, 16 * 32)


@pytest.mark.parametrize(("name", "scales"), [("dynamic torch.ao", 1), ("static", 16)])
def test_torch_ao_int8_weights_take_one_byte_each_plus_qparams(name: str, scales: int) -> None:
    row = rows(variant(name))["hidden.weight"]
    assert row["dense_bytes"] == 16 * 32 + scales * (8 + 8)  # float64 scale, int64 zero point


def test_int4_weights_are_packed_two_per_byte_plus_group_scales() -> None:
    table = rows(variant("weight-only int4"))
    values, scale = table["hidden.weight.qdata"], table["hidden.weight.scale"]
    assert values["bits"] == 4
    assert values["dense_bytes"] == 16 * 32  # held in int8
    assert values["compressed_bytes"] <= 16 * 32 // 2  # stored at 4 bits
    assert scale["numel"] == 16 * (32 // 16)  # one scale per row and group of 16


def test_int4_model_is_smaller_than_int8_and_int8_smaller_than_float() -> None:
    def size(model: nn.Module) -> int:
        return storage_bytes(model_state_for_size(model)).compressed_bytes

    int4, int8 = size(variant("weight-only int4")), size(variant("weight-only int8"))
    assert int4 < int8 < size(cnn())


def test_explicit_bits_override_the_width_a_torchao_tensor_implies() -> None:
    state = model_state_for_size(variant("weight-only int4"))
    report = storage_bytes(state, bits={"hidden.weight.qdata": 8})
    row = next(r for r in report.per_tensor if r["name"] == "hidden.weight.qdata")
    assert row["bits"] == 8


def test_casts_halve_every_floating_tensor() -> None:
    float_bytes = storage_bytes(model_state_for_size(cnn()))
    half = storage_bytes(model_state_for_size(variant("fp16")))
    integer_bytes = sum(r["dense_bytes"] for r in float_bytes.per_tensor if r["dtype"] == "int64")
    assert half.dense_bytes - integer_bytes == (float_bytes.dense_bytes - integer_bytes) // 2


def test_non_zeros_of_a_torchao_weight_are_those_that_dequantize_to_non_zero() -> None:
    model = cnn()
    with torch.no_grad():
        model.hidden.weight[:4] = 0.0
    weight = weight_only(model, WeightOnlyParams(bits=4, group_size=16)).hidden.weight
    assert count_nonzero(weight) == int(torch.count_nonzero(weight.dequantize()))
    assert count_nonzero(weight) <= 12 * 32
