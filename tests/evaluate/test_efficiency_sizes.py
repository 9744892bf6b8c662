"""Parameter counts and storage bytes: dense vs the real sparse/low-bit encoding."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from compresslens.errors import CompressLensError
from compresslens.evaluate.efficiency import (
    count_parameters,
    model_state_for_size,
    packed_tensors,
    storage_bytes,
)
from compresslens.evaluate.encoding import encoded_nbytes

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))


def _dynamic_int8_modules(model: nn.Module, types: set[type[nn.Module]]) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, types, dtype=torch.qint8)


def _dynamic_int8(model: nn.Module, dtype: torch.dtype = torch.qint8) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=dtype)


class _TiedLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.head = nn.Linear(8, 50, bias=False)
        self.head.weight = self.embed.weight


MLP_PARAMETERS = 10 * 20 + 20 + 20 * 5 + 5


def test_count_parameters_counts_totals_and_nonzeros() -> None:
    model = _mlp()
    assert count_parameters(model) == (MLP_PARAMETERS, MLP_PARAMETERS)
    with torch.no_grad():
        model[0].weight[:5] = 0.0
    assert count_parameters(model) == (MLP_PARAMETERS, MLP_PARAMETERS - 5 * 10)


def test_tied_weights_are_counted_once() -> None:
    assert count_parameters(_TiedLM()) == (50 * 8, 50 * 8)


def test_masked_pruning_counts_the_masked_weight() -> None:
    model = _mlp()
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    assert count_parameters(model) == (MLP_PARAMETERS, MLP_PARAMETERS - 100)


def test_dynamic_int8_weights_are_read_from_packed_params() -> None:
    float_model = _mlp()
    quantized = _dynamic_int8(float_model)
    assert list(quantized.parameters()) == []  # nothing left for named_parameters
    total, nonzero = count_parameters(quantized)
    assert total == MLP_PARAMETERS
    expected_nonzero = sum(
        int(torch.count_nonzero(t.dequantize() if t.is_quantized else t))
        for module in (quantized[0], quantized[2])
        for t in (module.weight(), module.bias())
    )
    assert nonzero == expected_nonzero


def test_static_int8_conv_and_linear_weights_are_counted() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant = torch.ao.quantization.QuantStub()
            self.conv = nn.Conv2d(3, 4, 3)
            self.fc = nn.Linear(4 * 6 * 6, 3)
            self.dequant = torch.ao.quantization.DeQuantStub()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.conv(self.quant(x))
            return self.dequant(self.fc(x.flatten(1)))

    net = Net().eval()
    float_total = count_parameters(net)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.qconfig = torch.ao.quantization.get_default_qconfig("x86")
        prepared = torch.ao.quantization.prepare(net)
        prepared(torch.randn(8, 3, 8, 8))
        quantized = torch.ao.quantization.convert(prepared)
    assert count_parameters(quantized)[0] == float_total


def test_storage_of_a_dense_model_is_numel_times_element_size() -> None:
    model = _mlp()
    report = storage_bytes(model.state_dict())
    assert report.dense_bytes == MLP_PARAMETERS * 4
    assert report.compressed_bytes == report.dense_bytes
    assert [row["name"] for row in report.per_tensor] == list(model.state_dict())
    row = report.per_tensor[0]
    assert row == {
        "name": "0.weight",
        "shape": [20, 10],
        "dtype": "float32",
        "bits": 32,
        "numel": 200,
        "nonzero": 200,
        "dense_bytes": 800,
        "compressed_bytes": 800,
        "format": "dense",
        "qparams_bytes": 0,
    }
    json.dumps(report.to_dict())


def test_storage_of_a_sparse_tensor_is_its_bitmask_encoding() -> None:
    weight = torch.randn(100, 80)
    weight[:, 8:] = 0.0  # 10% non-zero
    report = storage_bytes({"w": weight})
    assert report.dense_bytes == 8000 * 4
    assert report.compressed_bytes == 8000 // 8 + 800 * 4
    assert report.per_tensor[0]["format"] == "bitmask"
    assert report.per_tensor[0]["nonzero"] == 800


def test_bits_override_sizes_int4_values_in_int8_containers() -> None:
    values = torch.randint(-8, 8, (64, 32), dtype=torch.int8)
    values[values == 0] = 1
    report = storage_bytes({"q": values}, bits={"q": 4})
    assert report.dense_bytes == 64 * 32
    assert report.compressed_bytes == 64 * 32 // 2
    assert report.per_tensor[0]["bits"] == 4


def test_bits_for_an_unknown_tensor_is_refused() -> None:
    with pytest.raises(CompressLensError, match="not in the state dict"):
        storage_bytes({"a": torch.zeros(3)}, bits={"b": 4})


def test_quantized_tensor_counts_int_repr_and_its_qparams() -> None:
    per_tensor = torch.quantize_per_tensor(torch.randn(16, 16), 0.05, 0, torch.qint8)
    row = storage_bytes({"w": per_tensor}).per_tensor[0]
    assert row["dtype"] == "qint8"
    assert row["bits"] == 8
    assert row["dense_bytes"] == 16 * 16 + 8 + 8  # int8 values, float64 scale, int64 zero point
    assert row["qparams_bytes"] == 8 + 1  # a zero zero-point encodes as a 1-byte bitmask
    assert row["compressed_bytes"] == row["qparams_bytes"] + encoded_nbytes(per_tensor.int_repr())
    per_channel = torch.quantize_per_channel(
        torch.randn(4, 16),
        torch.rand(4).double() + 0.01,
        torch.zeros(4, dtype=torch.int64),
        0,
        torch.qint8,
    )
    row = storage_bytes({"w": per_channel}).per_tensor[0]
    assert row["dense_bytes"] == 4 * 16 + 4 * 8 + 4 * 8
    # all-zero zero points take a 1-byte bitmask
    assert row["qparams_bytes"] == 4 * 8 + 1


def test_non_tensor_entries_and_shared_tensors_are_skipped_with_notes() -> None:
    tied = _TiedLM().state_dict()
    assert set(tied) == {"embed.weight", "head.weight"}
    report = storage_bytes({**tied, "version": 3})  # type: ignore[dict-item]
    assert report.dense_bytes == 50 * 8 * 4
    assert any("shares storage with embed.weight" in note for note in report.notes)
    assert any(note.startswith("version: skipped") for note in report.notes)


def test_dynamic_int8_state_dict_sizes_its_packed_weights() -> None:
    quantized = _dynamic_int8(_mlp())
    report = storage_bytes(quantized.state_dict())
    names = {row["name"]: row for row in report.per_tensor}
    assert names["0._packed_params._packed_params.0"]["dtype"] == "qint8"
    assert names["0._packed_params._packed_params.0"]["numel"] == 200
    assert names["0._packed_params._packed_params.1"]["dtype"] == "float32"
    weights_and_biases = 300 + 16 * 2 + 25 * 4  # int8 weights, qparams, float32 biases
    assert report.dense_bytes == weights_and_biases + 2 * (4 + 8)  # + output scale/zero point
    assert report.compressed_bytes < storage_bytes(_mlp().state_dict()).compressed_bytes / 2


def test_model_state_for_size_unpacks_quantized_weights_and_folds_masks() -> None:
    quantized = _dynamic_int8(_mlp())
    state = model_state_for_size(quantized)
    assert state["0.weight"].dtype == torch.qint8
    assert state["2.bias"].shape == (5,)
    assert not any("_packed_params" in name for name in state)

    pruned = _mlp()
    prune.l1_unstructured(pruned[0], "weight", amount=0.9)
    state = model_state_for_size(pruned)
    assert "0.weight_orig" not in state and "0.weight_mask" not in state
    assert int(torch.count_nonzero(state["0.weight"])) == 20
    assert storage_bytes(state).per_tensor[-1]["name"] == "0.weight"


def test_fp16_dynamic_weights_are_sized_at_16_bits() -> None:
    half = _dynamic_int8(_mlp(), dtype=torch.float16)
    weight = packed_tensors(half[0])["weight"]
    assert weight.dtype == torch.float16
    sizes = {row["name"]: row for row in storage_bytes(model_state_for_size(half)).per_tensor}
    assert sizes["0.weight"]["dense_bytes"] == 200 * 2


def test_dynamic_int8_lstm_weights_come_from_get_weight() -> None:
    float_model = nn.Sequential(nn.LSTM(4, 8, num_layers=2))
    quantized = _dynamic_int8_modules(float_model, {nn.LSTM})
    assert count_parameters(quantized)[0] == count_parameters(float_model)[0]
    state = model_state_for_size(quantized)
    assert state["0.weight_hh_l1"].dtype == torch.qint8
    assert state["0.bias_ih_l0"].dtype == torch.float32
    # its state_dict holds ScriptObjects only: sizing needs model_state_for_size
    assert storage_bytes(quantized.state_dict()).dense_bytes == 0
    assert storage_bytes(state).dense_bytes > 0
