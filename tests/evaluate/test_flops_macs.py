"""MACs per module and effective bit-ops, on hand-built models with known answers."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn

from compresslens.errors import CompressLensError
from compresslens.evaluate.flops import count_macs, effective_bitops

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

MLP_MACS = 10 * 20 + 20 * 5


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))


def _quantize_dynamic(model: nn.Module, dtype: torch.dtype = torch.qint8) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=dtype)


class _ConvNet(nn.Module):
    """Conv 3→8 (3×3, pad 1) on 16×16, ReLU, then Linear on the flattened 8×16×16."""

    def __init__(self, quant_stubs: bool = False) -> None:
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub() if quant_stubs else nn.Identity()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8 * 16 * 16, 10)
        self.dequant = torch.ao.quantization.DeQuantStub() if quant_stubs else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.conv(self.quant(x)))
        return self.dequant(self.fc(x.flatten(1)))


CONV_MACS = 8 * 16 * 16 * 3 * 3 * 3
CONVNET_MACS = CONV_MACS + 8 * 16 * 16 * 10


class _Attention(nn.Module):
    """A parent whose own forward multiplies activations (no leaf sees that matmul)."""

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(4, 4, bias=False)
        self.k = nn.Linear(4, 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.q(x) @ self.k(x).transpose(-1, -2)


def test_mlp_macs_are_exact_per_leaf() -> None:
    report = count_macs(_mlp(), torch.randn(1, 10))
    assert report.total_macs == MLP_MACS
    assert report.per_module == {"0": 200, "1": 0, "2": 100}
    json.dumps(report.to_dict())


def test_conv_macs_follow_output_size_times_kernel_volume() -> None:
    report = count_macs(_ConvNet(), torch.randn(1, 3, 16, 16))
    assert report.per_module["conv"] == CONV_MACS
    assert report.total_macs == CONVNET_MACS


def test_strided_grouped_conv_macs() -> None:
    conv = nn.Conv2d(8, 16, kernel_size=3, stride=2, padding=1, groups=4)
    report = count_macs(conv, torch.randn(1, 8, 10, 10))
    assert report.total_macs == 16 * 5 * 5 * (8 // 4) * 3 * 3
    assert report.per_module == {"": report.total_macs}


def test_matmul_in_a_parent_forward_is_kept_under_the_parent() -> None:
    report = count_macs(_Attention(), torch.randn(1, 6, 4))
    assert report.per_module == {"": 6 * 4 * 6, "q": 6 * 4 * 4, "k": 6 * 4 * 4}
    assert report.total_macs == sum(report.per_module.values())


def test_count_macs_restores_training_mode() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)).train()
    count_macs(model, torch.randn(1, 4))
    assert all(module.training for module in model.modules())


def test_dense_fp32_bitops_are_macs_times_1024() -> None:
    model = _mlp()
    report = count_macs(model, torch.randn(1, 10))
    assert effective_bitops(model, report) == MLP_MACS * 1024


def test_half_zeroed_layer_halves_its_share_of_bitops() -> None:
    model = _mlp()
    with torch.no_grad():
        model[0].weight[:, :5] = 0.0
    report = count_macs(model, torch.randn(1, 10))
    assert report.total_macs == MLP_MACS  # masked zeros still cost MACs
    assert effective_bitops(model, report) == 200 * 1024 // 2 + 100 * 1024


def test_fp16_and_bf16_weights_count_16_by_16_bits() -> None:
    for dtype in (torch.float16, torch.bfloat16):
        model = _mlp().to(dtype)
        report = count_macs(model, torch.randn(1, 10, dtype=dtype))
        assert report.total_macs == MLP_MACS
        assert effective_bitops(model, report) == MLP_MACS * 16 * 16


def test_bit_overrides_apply_per_module() -> None:
    model = _mlp()
    report = count_macs(model, torch.randn(1, 10))
    bitops = effective_bitops(model, report, weight_bits={"0": 4}, activation_bits={"0": 8})
    assert bitops == 200 * 4 * 8 + 100 * 1024
    with pytest.raises(CompressLensError, match="does not have"):
        effective_bitops(model, report, weight_bits={"missing": 4})


def test_dynamic_int8_keeps_macs_and_counts_8_by_8_bits() -> None:
    float_model = _mlp()
    quantized = _quantize_dynamic(float_model)
    report = count_macs(quantized, torch.randn(1, 10))
    assert report.per_module == {"0": 200, "1": 0, "2": 100}
    densities = [
        int(torch.count_nonzero(layer.weight().dequantize())) / layer.weight().numel()
        for layer in (quantized[0], quantized[2])
    ]
    expected = 200 * densities[0] * 64 + 100 * densities[1] * 64
    assert effective_bitops(quantized, report) == round(expected)


def test_fp16_dynamic_counts_16_bit_weights_and_32_bit_activations() -> None:
    quantized = _quantize_dynamic(_mlp(), dtype=torch.float16)
    report = count_macs(quantized, torch.randn(1, 10))
    assert report.total_macs == MLP_MACS
    assert effective_bitops(quantized, report) == MLP_MACS * 16 * 32


def test_static_int8_convnet_keeps_the_float_macs() -> None:
    net = _ConvNet(quant_stubs=True).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.qconfig = torch.ao.quantization.get_default_qconfig("x86")
        prepared = torch.ao.quantization.prepare(net)
        prepared(torch.randn(4, 3, 16, 16))
        quantized = torch.ao.quantization.convert(prepared)
    report = count_macs(quantized, torch.randn(1, 3, 16, 16))
    assert report.per_module["conv"] == CONV_MACS
    assert report.total_macs == CONVNET_MACS
