"""Quantization and cast operations: what each promises, and bit-identical Workspace reloads."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

import compresslens as cl
from compresslens.errors import OperationError
from compresslens.evaluate.efficiency import model_state_for_size, storage_bytes
from compresslens.models.state_codec import export_state, restore_state
from compresslens.models.zoo import small_cnn, small_resnet
from compresslens.ops.registry import OperationContext, ReplayContext, get_operation

pytestmark = pytest.mark.filterwarnings(
    "ignore:torch.ao.quantization is deprecated:DeprecationWarning",
    "ignore:.*quantized tensor creation functions.*:UserWarning",
)


def run_op(
    name: str, model: nn.Module, *, seed: int = 0, load_dataset: Any = None, **params: Any
) -> nn.Module:
    """Apply a registered operation the way Workspace.compress does (typed params, context)."""
    operation = get_operation(name)
    context = OperationContext(seed=seed, load_dataset=load_dataset)
    return operation.apply(model, operation.validate(params), context)


def agreement(a: nn.Module, b: nn.Module, inputs: torch.Tensor) -> float:
    with torch.inference_mode():
        return float((a(inputs).argmax(1) == b(inputs).argmax(1)).float().mean())


def accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.inference_mode():
        return float((model(inputs).argmax(1) == labels).float().mean())


def assert_reload_is_bit_identical(
    ws: cl.Workspace, child: cl.ModelInfo, expected: nn.Module, inputs: torch.Tensor
) -> None:
    reloaded = ws.load_model(child.id)
    with torch.inference_mode():
        assert torch.equal(reloaded(inputs), expected(inputs))


# ----------------------------------------------------------------------- dynamic int8


def test_torchao_dynamic_int8_keeps_predictions_and_stores_int8_weights(
    trained_mlp: nn.Module, digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    inputs, _ = digits
    child = run_op("quantize.dynamic_int8", copy.deepcopy(trained_mlp))
    for layer in (child.body[0], child.classifier):
        assert layer.weight.qdata.dtype == torch.int8
        assert layer.weight.qdata.shape == layer.weight.shape
    assert agreement(trained_mlp, child, inputs) >= 0.95


def test_torch_ao_dynamic_int8_keeps_predictions_and_stores_int8_weights(
    trained_mlp: nn.Module, digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    inputs, _ = digits
    child = run_op("quantize.dynamic_int8", copy.deepcopy(trained_mlp), backend="torch.ao")
    for layer in (child.body[0], child.classifier):
        assert layer.weight().dtype == torch.qint8
    assert agreement(trained_mlp, child, inputs) >= 0.95


@pytest.mark.parametrize("backend", ["torchao", "torch.ao"])
def test_dynamic_int8_reloads_bit_identically(
    digits_workspace: cl.Workspace, digits: tuple[torch.Tensor, torch.Tensor], backend: str
) -> None:
    inputs, _ = digits
    child = digits_workspace.compress("mlp", "quantize.dynamic_int8", backend=backend)
    expected = run_op("quantize.dynamic_int8", digits_workspace.load_model("mlp"), backend=backend)
    assert_reload_is_bit_identical(digits_workspace, child, expected, inputs)


def test_dynamic_int8_refuses_an_unknown_backend() -> None:
    with pytest.raises(OperationError, match="backend"):
        get_operation("quantize.dynamic_int8").validate({"backend": "onnx"})


def test_dynamic_int8_refuses_a_model_without_linear_layers() -> None:
    with pytest.raises(OperationError, match=r"no nn\.Linear"):
        run_op("quantize.dynamic_int8", nn.Sequential(nn.Conv2d(1, 2, 3)))


# ------------------------------------------------------------------------ static int8


class _Arrays:
    def __init__(self, inputs: torch.Tensor) -> None:
        self.inputs = inputs
        self.labels = torch.zeros(len(inputs), dtype=torch.long)


def test_static_int8_stays_close_to_float_accuracy(
    trained_mlp: nn.Module, digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    inputs, labels = digits
    child = run_op(
        "quantize.static_int8",
        copy.deepcopy(trained_mlp),
        load_dataset=lambda name: _Arrays(inputs),
        dataset="digits",
        input_shape=[64],
    )
    assert child.classifier.weight().dtype == torch.qint8
    assert abs(accuracy(child, inputs, labels) - accuracy(trained_mlp, inputs, labels)) <= 0.02


def test_static_int8_reloads_bit_identically(
    digits_workspace: cl.Workspace, digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    inputs, _ = digits
    params = {"dataset": "digits", "calibration_batches": 2, "input_shape": [64]}
    child = digits_workspace.compress("mlp", "quantize.static_int8", **params)
    expected = run_op(
        "quantize.static_int8",
        digits_workspace.load_model("mlp"),
        load_dataset=digits_workspace.load_dataset,
        **params,
    )
    assert_reload_is_bit_identical(digits_workspace, child, expected, inputs)


@pytest.mark.parametrize("factory", [small_cnn, small_resnet])
def test_static_int8_quantizes_the_zoo_models_with_per_channel_weights(factory: Any) -> None:
    kwargs = {"width": 4, "hidden": 8, "image_size": 8} if factory is small_cnn else {}
    kwargs = kwargs or {"widths": (4, 8)}
    torch.manual_seed(0)
    model = factory(**kwargs).eval()
    images = torch.randn(8, 1, 8, 8)
    operation = get_operation("quantize.static_int8")
    params = operation.validate({"dataset": "images", "batch_size": 8, "input_shape": [1, 8, 8]})
    child = operation.apply(
        model, params, OperationContext(load_dataset=lambda name: _Arrays(images))
    )
    convs = [m for m in child.modules() if type(m).__name__.startswith("Conv")]
    assert convs and all(m.weight().qscheme() == torch.per_channel_affine for m in convs)
    torch.manual_seed(1)
    rebuilt = operation.replay(factory(**kwargs), params, ReplayContext())
    restore_state(rebuilt, export_state(child))
    with torch.inference_mode():
        assert torch.equal(rebuilt(images), child(images))


def test_static_int8_names_the_input_shape_that_fits_the_dataset(
    trained_mlp: nn.Module, digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    inputs, _ = digits
    with pytest.raises(OperationError, match=r"pass input_shape=\[64\]"):
        run_op(
            "quantize.static_int8",
            trained_mlp,
            load_dataset=lambda name: _Arrays(inputs),
            dataset="digits",
            input_shape=[1, 28, 28],
        )


# ------------------------------------------------------------------------ weight-only


@pytest.mark.parametrize(("bits", "low", "high"), [(8, -128, 127), (4, -8, 7)])
def test_weight_only_is_round_to_nearest_with_each_groups_scale(
    trained_mlp: nn.Module, bits: int, low: int, high: int
) -> None:
    child = run_op("quantize.weight_only", copy.deepcopy(trained_mlp), bits=bits, group_size=16)
    float_weight = trained_mlp.body[0].weight.detach()
    weight = child.body[0].weight
    groups = float_weight.reshape(32, 4, 16)
    scale = weight.scale[..., None]  # one scale per (row, group of 16 inputs)
    assert torch.allclose(scale, groups.abs().amax(-1, keepdim=True) / ((high - low) / 2))
    # torchao divides by multiplying with the reciprocal scale; so does this check
    rtn = torch.clamp(torch.round(groups * (1.0 / scale)), low, high).to(torch.int8)
    assert torch.equal(weight.qdata.reshape(32, 4, 16), rtn)
    dequantized = weight.dequantize().reshape(32, 4, 16)
    assert torch.equal(dequantized, rtn.float() * scale)
    assert float(((dequantized - groups).abs() / scale).max()) <= 0.5 + 1e-4


def test_int4_weights_are_sized_at_four_bits_plus_scales(trained_mlp: nn.Module) -> None:
    child = run_op("quantize.weight_only", copy.deepcopy(trained_mlp), bits=4, group_size=32)
    rows = {r["name"]: r for r in storage_bytes(model_state_for_size(child)).per_tensor}
    values = rows["body.0.weight.qdata"]
    assert values["bits"] == 4
    assert values["compressed_bytes"] <= 64 * 32 // 2
    assert rows["body.0.weight.scale"]["numel"] == 32 * 2


@pytest.mark.parametrize("bits", [8, 4])
def test_weight_only_reloads_bit_identically(
    digits_workspace: cl.Workspace, digits: tuple[torch.Tensor, torch.Tensor], bits: int
) -> None:
    inputs, _ = digits
    child = digits_workspace.compress("mlp", "quantize.weight_only", bits=bits)
    expected = run_op("quantize.weight_only", digits_workspace.load_model("mlp"), bits=bits)
    assert_reload_is_bit_identical(digits_workspace, child, expected, inputs)


def test_weight_only_names_layers_the_group_size_does_not_divide(
    trained_mlp: nn.Module,
) -> None:
    with pytest.raises(OperationError, match=r"group_size=24 .*body\.0 \(64\)"):
        run_op("quantize.weight_only", trained_mlp, group_size=24)


def test_weight_only_refuses_other_bit_widths() -> None:
    with pytest.raises(OperationError, match="bits"):
        get_operation("quantize.weight_only").validate({"bits": 2})


# ------------------------------------------------------------------ module selection


def weight_kind(module: nn.Module) -> str:
    """What a Linear layer holds: float, int4/int8 weight-only, or dynamic int8 (by backend)."""
    if isinstance(module, torch.ao.nn.quantized.dynamic.Linear):
        return "dynamic torch.ao"
    weight = module.weight
    if type(weight) in (torch.Tensor, nn.Parameter):
        return "float"
    if getattr(weight, "target_dtype", None) == torch.int4:
        return "int4"
    return "dynamic torchao" if weight.act_quant_kwargs is not None else "int8"


def kinds(model: nn.Module) -> dict[str, str]:
    return {"body.0": weight_kind(model.body[0]), "classifier": weight_kind(model.classifier)}


SELECTIONS = [
    ({}, {"body.0", "classifier"}),
    ({"include": ["classifier"]}, {"classifier"}),
    ({"exclude": ["classifier"]}, {"body.0"}),
    ({"include": ["body.*"]}, {"body.0"}),
    ({"include_types": ["Linear"], "exclude": ["body.*"]}, {"classifier"}),
]
QUANTIZERS = [
    ("quantize.weight_only", {"bits": 4, "group_size": 16}, "int4"),
    ("quantize.weight_only", {"bits": 8, "group_size": 16}, "int8"),
    ("quantize.dynamic_int8", {"backend": "torchao"}, "dynamic torchao"),
    ("quantize.dynamic_int8", {"backend": "torch.ao"}, "dynamic torch.ao"),
]


@pytest.mark.parametrize(("name", "params", "kind"), QUANTIZERS)
@pytest.mark.parametrize(("selection", "quantized"), SELECTIONS)
def test_quantization_touches_exactly_the_selected_linear_layers(
    trained_mlp: nn.Module,
    name: str,
    params: dict[str, Any],
    kind: str,
    selection: dict[str, Any],
    quantized: set[str],
) -> None:
    child = run_op(name, copy.deepcopy(trained_mlp), **params, **selection)
    expected = {layer: kind if layer in quantized else "float" for layer in kinds(child)}
    assert kinds(child) == expected


@pytest.mark.parametrize("name", ["quantize.weight_only", "quantize.dynamic_int8"])
def test_quantization_selects_linear_layers_by_default(name: str) -> None:
    params = get_operation(name).normalized({})
    assert (params["include_types"], params["include"], params["exclude"]) == (
        ["Linear"],
        ["*"],
        [],
    )


@pytest.mark.parametrize(("name", "params", "kind"), QUANTIZERS)
def test_quantization_refuses_a_layer_type_it_cannot_quantize(
    name: str, params: dict[str, Any], kind: str
) -> None:
    with pytest.raises(OperationError, match=rf"{name}: include_types: .*Conv2d"):
        get_operation(name).validate({**params, "include_types": ["Linear", "Conv2d"]})


@pytest.mark.parametrize(("name", "params", "kind"), QUANTIZERS)
def test_quantization_refuses_a_selection_that_matches_nothing(
    trained_mlp: nn.Module, name: str, params: dict[str, Any], kind: str
) -> None:
    with pytest.raises(OperationError, match=rf"{name}: no module matches .*include=\['head'\]"):
        run_op(name, trained_mlp, **params, include=["head"])


@pytest.mark.parametrize(("name", "params", "kind"), QUANTIZERS)
def test_quantization_skips_layers_already_quantized(
    trained_mlp: nn.Module, name: str, params: dict[str, Any], kind: str
) -> None:
    first = run_op("quantize.weight_only", copy.deepcopy(trained_mlp), include=["classifier"])
    child = run_op(name, first, **params)
    assert kinds(child) == {"body.0": kind, "classifier": "int8"}
    with pytest.raises(OperationError, match=rf"{name}: no float nn\.Linear"):
        run_op(name, child, **params)


@pytest.mark.parametrize("backend", ["torchao", "torch.ao"])
def test_selected_dynamic_int8_reloads_the_same_layers_bit_identically(
    digits_workspace: cl.Workspace, digits: tuple[torch.Tensor, torch.Tensor], backend: str
) -> None:
    inputs, _ = digits
    child = digits_workspace.compress(
        "mlp", "quantize.dynamic_int8", backend=backend, exclude=["body.*"]
    )
    expected = run_op(
        "quantize.dynamic_int8",
        digits_workspace.load_model("mlp"),
        backend=backend,
        exclude=["body.*"],
    )
    reloaded = digits_workspace.load_model(child.id)
    assert (
        kinds(reloaded)
        == kinds(expected)
        == {"body.0": "float", "classifier": f"dynamic {backend}"}
    )
    assert_reload_is_bit_identical(digits_workspace, child, expected, inputs)


# ------------------------------------------------------------------------------ casts


@pytest.mark.parametrize(
    ("name", "dtype"), [("cast.fp16", torch.float16), ("cast.bf16", torch.bfloat16)]
)
def test_cast_changes_every_floating_tensor_and_halves_the_size(
    trained_mlp: nn.Module, digits: tuple[torch.Tensor, torch.Tensor], name: str, dtype: torch.dtype
) -> None:
    inputs, _ = digits
    child = run_op(name, copy.deepcopy(trained_mlp))
    assert {p.dtype for p in child.parameters()} == {dtype}
    before = storage_bytes(model_state_for_size(trained_mlp)).dense_bytes
    assert storage_bytes(model_state_for_size(child)).dense_bytes * 2 == before
    with torch.inference_mode():
        logits = child(inputs)  # float32 inputs are cast by the model itself
    assert logits.dtype == torch.float32
    assert agreement(trained_mlp, child, inputs) >= 0.95


def test_casting_twice_keeps_one_input_cast(trained_mlp: nn.Module) -> None:
    child = run_op("cast.bf16", run_op("cast.fp16", copy.deepcopy(trained_mlp)))
    assert len(child._forward_pre_hooks) == 1 and len(child._forward_hooks) == 1
    with torch.inference_mode():
        assert child(torch.randn(2, 64)).dtype == torch.float32


@pytest.mark.parametrize("name", ["cast.fp16", "cast.bf16"])
def test_cast_reloads_bit_identically(
    digits_workspace: cl.Workspace, digits: tuple[torch.Tensor, torch.Tensor], name: str
) -> None:
    inputs, _ = digits
    child = digits_workspace.compress("mlp", name)
    assert (
        child.efficiency["dense_bytes"] * 2
        == digits_workspace.model("mlp").efficiency["dense_bytes"]
    )
    expected = run_op(name, digits_workspace.load_model("mlp"))
    assert_reload_is_bit_identical(digits_workspace, child, expected, inputs)


def test_weight_only_by_pattern_makes_a_mixed_precision_model(workspace) -> None:
    """int4 on one layer, int8 on the other: two passes, round trip still bit-identical."""
    import warnings

    from compresslens.models.zoo import mlp

    torch.manual_seed(0)
    workspace.add_model(mlp(), name="m", factory="compresslens.models.zoo:mlp", input_shape=[64])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        low = workspace.compress("m", "quantize.weight_only", bits=4, include=["hidden"])
        mixed = workspace.compress(low, "quantize.weight_only", bits=8, exclude=["hidden"])
        model = workspace.load_model(mixed)
    kinds = {
        name: type(m.weight).__name__
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.Linear)
    }
    assert kinds["hidden"] != kinds["classifier"]  # two different quantized layouts
    assert all(kind not in ("Tensor", "Parameter") for kind in kinds.values())
    x = torch.rand(5, 64)
    again = workspace.load_model(mixed)
    with torch.inference_mode():
        assert torch.equal(model(x), again(x))
    with pytest.raises(OperationError, match=r"no float nn\.Linear"):
        workspace.compress(mixed, "quantize.weight_only", bits=8)
