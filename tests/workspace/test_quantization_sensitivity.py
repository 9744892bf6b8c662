"""Per-layer quantization sensitivity and the mixed-precision recipe it proposes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import compresslens as cl

pytestmark = pytest.mark.filterwarnings(
    "ignore:torch.ao.quantization is deprecated:DeprecationWarning",
    "ignore:.*quantized tensor creation functions.*:UserWarning",
)


def is_int4(module: nn.Module) -> bool:
    return getattr(module.weight, "target_dtype", None) == torch.int4


def accuracy_with_one_layer_quantized(
    ws: cl.Workspace, operation: str, layer: str, **params: object
) -> float:
    child = ws.compress("mlp", operation, include=[layer], **params)
    return ws.evaluate(child, "digits", latency=False).metrics["accuracy"]


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("quantize.weight_only", {"bits": 4, "group_size": 16}),
        ("quantize.dynamic_int8", {"backend": "torchao"}),
        ("quantize.dynamic_int8", {"backend": "torch.ao"}),
    ],
)
def test_quantization_sensitivity_ranks_each_linear_layer_quantized_alone(
    digits_workspace: cl.Workspace, operation: str, params: dict[str, object]
) -> None:
    ws = digits_workspace
    report = ws.sensitivity("mlp", "digits", operation, **params)
    assert report["operation"]["params"]["include_types"] == ["Linear"]
    scores = {row["layer"]: row["score"] for row in report["ranking"]}
    assert set(scores) == {"body.0", "classifier"}
    for layer, score in scores.items():
        assert score == pytest.approx(
            accuracy_with_one_layer_quantized(ws, operation, layer, **params)
        )
    drops = [row["drop"] for row in report["ranking"]]
    assert drops == sorted(drops, reverse=True)


def test_int4_sensitivity_proposes_passes_that_build_the_mixed_precision_model(
    digits_workspace: cl.Workspace,
) -> None:
    ws = digits_workspace
    report = ws.sensitivity(
        "mlp", "digits", "quantize.weight_only", bits=4, group_size=16, keep_share=0.5
    )
    most_sensitive, least_sensitive = (row["layer"] for row in report["ranking"])
    assert report["mixed_precision"] == {most_sensitive: 8, least_sensitive: 4}
    assert report["weight_only_passes"] == [
        {"bits": 4, "group_size": 16, "include": [least_sensitive]},
        {"bits": 8, "group_size": 16, "include": [most_sensitive]},
    ]
    model = ws.model("mlp")
    for params in report["weight_only_passes"]:
        model = ws.compress(model, "quantize.weight_only", **params)
    reloaded = ws.load_model(model)
    int4 = {name for name, m in reloaded.named_modules() if isinstance(m, nn.Linear) and is_int4(m)}
    assert int4 == {least_sensitive}
    assert type(reloaded.get_submodule(most_sensitive).weight).__name__ == "Int8Tensor"
    result = ws.evaluate(model, "digits", latency=False)
    assert result.metrics["accuracy"] > 0.8


def test_static_int8_sensitivity_is_refused_with_the_reason(
    digits_workspace: cl.Workspace,
) -> None:
    with pytest.raises(
        cl.CompressLensError,
        match=r"quantize\.static_int8 cannot be limited to one layer: .*whole",
    ):
        digits_workspace.sensitivity("mlp", "digits", "quantize.static_int8")
