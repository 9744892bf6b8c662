"""The state codec: every kind of model as plain tensors under derived names, and back."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import pytest
import torch
from torch import nn

from compresslens.errors import InvalidWeightsError
from compresslens.models.state_codec import export_state, is_plain_tensor, restore_state
from compresslens.models.weights import state_dict_from_bytes, state_dict_to_bytes
from compresslens.models.zoo import small_cnn

pytestmark = pytest.mark.filterwarnings(
    "ignore:torch.ao.quantization is deprecated:DeprecationWarning",
    "ignore:.*quantized tensor creation functions.*:UserWarning",
    "ignore:Please use quant_min and quant_max:UserWarning",
)


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).eval()


def torch_ao_dynamic(model: nn.Module) -> nn.Module:
    return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def fx_static(model: nn.Module) -> nn.Module:
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    example = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_fx(model.eval(), get_default_qconfig_mapping("x86"), (example,))
        prepared(example)
        return convert_fx(prepared)


def torchao_int8(model: nn.Module) -> nn.Module:
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    quantize_(model, Int8DynamicActivationInt8WeightConfig())
    return model


def torchao_int4(model: nn.Module) -> nn.Module:
    from torchao.quantization import IntxWeightOnlyConfig, quantize_
    from torchao.quantization.granularity import PerGroup

    quantize_(model, IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(32)))
    return model


def through_safetensors(model: nn.Module) -> dict[str, torch.Tensor]:
    return state_dict_from_bytes(state_dict_to_bytes(export_state(model)))


def assert_same_outputs(a: nn.Module, b: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


# ----------------------------------------------------------------------------- float


def test_float_model_exports_its_state_dict_unchanged() -> None:
    model = mlp()
    flat = export_state(model)
    assert list(flat) == list(model.state_dict())
    assert all(torch.equal(flat[k], v) for k, v in model.state_dict().items())


def test_float_model_round_trips_into_a_fresh_instance() -> None:
    model, fresh = mlp(0), mlp(1)
    restore_state(fresh, through_safetensors(model))
    assert_same_outputs(model, fresh, torch.randn(8, 64))


def test_float_model_names_missing_unexpected_and_mis_shaped_entries() -> None:
    flat = export_state(mlp())
    flat["extra"] = torch.zeros(1)
    flat["2.bias"] = torch.zeros(3)
    del flat["0.bias"]
    with pytest.raises(InvalidWeightsError) as error:
        restore_state(mlp(), flat)
    message = str(error.value)
    assert "missing ['0.bias']" in message
    assert "unexpected ['extra']" in message
    assert "2.bias (3,) vs model (10,)" in message


# --------------------------------------------------------------------- torch.ao dynamic


def test_torch_ao_dynamic_linear_flattens_packed_params_to_plain_tensors() -> None:
    flat = export_state(torch_ao_dynamic(mlp()))
    assert all(is_plain_tensor(v) for v in flat.values())
    packed = "0._packed_params._packed_params"
    assert flat[f"{packed}.0.int_repr"].dtype == torch.int8
    assert flat[f"{packed}.0.int_repr"].shape == (32, 64)
    assert flat[f"{packed}.0.scale"].dtype == torch.float64
    assert flat[f"{packed}.0.zero_point"].dtype == torch.int64
    assert flat[f"{packed}.1"].shape == (32,)  # the float bias
    assert "0._packed_params.dtype" not in flat  # fixed by the architecture


def test_torch_ao_dynamic_round_trip_is_bit_identical() -> None:
    model = torch_ao_dynamic(mlp(0))
    rebuilt = torch_ao_dynamic(mlp(1))
    restore_state(rebuilt, through_safetensors(model))
    assert_same_outputs(model, rebuilt, torch.randn(16, 64))


# -------------------------------------------------------------------------- FX static


def tiny_cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return small_cnn(width=4, hidden=16, image_size=8).eval()


def test_fx_static_stores_per_channel_weights_and_activation_qparams() -> None:
    flat = export_state(fx_static(tiny_cnn(0)))
    assert all(is_plain_tensor(v) for v in flat.values())
    assert flat["block1.conv.weight.int_repr"].shape == (4, 1, 3, 3)
    assert flat["block1.conv.weight.scales"].shape == (4,)
    assert flat["block1.conv.weight.zero_points"].shape == (4,)
    assert int(flat["block1.conv.weight.axis"]) == 0
    assert "block1_conv_input_scale_0" in flat  # the input's quantization scale
    assert "hidden._packed_params._packed_params.0.scales" in flat


def test_fx_static_round_trip_is_bit_identical() -> None:
    model = fx_static(tiny_cnn(0))
    rebuilt = fx_static(tiny_cnn(1))
    restore_state(rebuilt, through_safetensors(model))
    assert_same_outputs(model, rebuilt, torch.randn(8, 1, 8, 8))


# ---------------------------------------------------------------------- torchao


@pytest.mark.parametrize("quantize", [torchao_int8, torchao_int4])
def test_torchao_tensors_flatten_to_their_inner_tensors(
    quantize: Callable[[nn.Module], nn.Module],
) -> None:
    flat = export_state(quantize(mlp()))
    assert sorted(k for k in flat if k.startswith("0.")) == [
        "0.bias",
        "0.weight.qdata",
        "0.weight.scale",
        "0.weight.zero_point",
    ]
    assert flat["0.weight.qdata"].dtype == torch.int8
    assert type(flat["0.weight.qdata"]) is torch.Tensor


@pytest.mark.parametrize("quantize", [torchao_int8, torchao_int4])
def test_torchao_round_trip_is_bit_identical(quantize: Callable[[nn.Module], nn.Module]) -> None:
    model = quantize(mlp(0))
    rebuilt = quantize(mlp(1))
    restore_state(rebuilt, through_safetensors(model))
    assert type(rebuilt[0].weight) is type(model[0].weight)
    assert torch.equal(rebuilt[0].weight.qdata, model[0].weight.qdata)
    assert_same_outputs(model, rebuilt, torch.randn(16, 64))


# ---------------------------------------------------------------------------- errors


def test_quantized_model_names_missing_unexpected_and_mis_shaped_entries() -> None:
    flat = export_state(torchao_int8(mlp()))
    del flat["0.weight.scale"]
    flat["2.weight.qdata"] = flat["2.weight.qdata"][:5]
    flat["0.weight.extra"] = torch.zeros(1)
    with pytest.raises(InvalidWeightsError) as error:
        restore_state(torchao_int8(mlp()), flat)
    message = str(error.value)
    assert "missing ['0.weight.scale']" in message
    assert "unexpected ['0.weight.extra']" in message
    assert "2.weight.qdata (5, 32) vs model (10, 32)" in message


def test_quantized_entry_of_the_wrong_dtype_is_refused() -> None:
    flat = export_state(torch_ao_dynamic(mlp()))
    name = "0._packed_params._packed_params.0.int_repr"
    flat[name] = flat[name].float()
    with pytest.raises(InvalidWeightsError, match=f"dtype mismatch .*{name} torch.float32"):
        restore_state(torch_ao_dynamic(mlp()), flat)


def test_float_weights_do_not_fit_a_quantized_architecture() -> None:
    with pytest.raises(InvalidWeightsError, match=r"unexpected .*'0\.weight'"):
        restore_state(torch_ao_dynamic(mlp()), export_state(mlp()))


class _ExtraState(nn.Linear):
    def get_extra_state(self) -> dict[str, int]:
        return {"step": 3}

    def set_extra_state(self, state: dict[str, int]) -> None:
        pass


def test_a_non_tensor_state_entry_is_refused_by_name() -> None:
    with pytest.raises(InvalidWeightsError, match="'_extra_state' is a dict"):
        export_state(_ExtraState(2, 2))


def test_export_does_not_change_the_model() -> None:
    model = torchao_int8(mlp())
    before = copy.deepcopy(model)
    export_state(model)
    assert_same_outputs(model, before, torch.randn(4, 64))
