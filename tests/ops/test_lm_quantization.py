"""Weight-only int8/int4 and dynamic int8 on the tiny Llama and GPT-2 (Conv1D → nn.Linear)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import compresslens as cl
from compresslens.analysis.weights import quantized_modules
from compresslens.errors import OperationError
from compresslens.models.module_kinds import is_conv1d
from compresslens.ops.registry import OperationContext, get_operation

pytest.importorskip("transformers", reason="the tiny LMs need transformers")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(
        "ignore:torch.ao.quantization is deprecated:DeprecationWarning",
        "ignore:.*quantized tensor creation functions.*:UserWarning",
    ),
]

LMS = ["tiny_llama_folder", "tiny_gpt2_folder"]
QUANTIZATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "int8-weights": ("quantize.weight_only", {"bits": 8, "group_size": 16}),
    "int4-weights": ("quantize.weight_only", {"bits": 4, "group_size": 16}),
    "dynamic-torchao": ("quantize.dynamic_int8", {}),
    "dynamic-torch.ao": ("quantize.dynamic_int8", {"backend": "torch.ao"}),
}
TOKENS = torch.randint(0, 64, (2, 16), generator=torch.Generator().manual_seed(0))


def run_op(name: str, model: nn.Module, **params: Any) -> nn.Module:
    operation = get_operation(name)
    return operation.apply(model, operation.validate(params), OperationContext())


def logits(model: nn.Module) -> torch.Tensor:
    with torch.inference_mode():
        return model(TOKENS).logits


@pytest.mark.parametrize("quantization", list(QUANTIZATIONS))
@pytest.mark.parametrize("folder", LMS)
def test_quantized_lm_reloads_with_identical_logits(
    folder: str, quantization: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    operation, params = QUANTIZATIONS[quantization]
    ws = cl.Workspace(tmp_path / "ws")
    ws.add_hf_model(request.getfixturevalue(folder), name="base", task="causal-lm")
    child = ws.compress("base", operation, **params)
    expected = run_op(operation, ws.load_model("base"), **params)
    reloaded = ws.load_model(child)
    assert torch.equal(logits(reloaded), logits(expected))
    base = logits(ws.load_model("base"))
    assert not torch.equal(logits(reloaded), base)
    # rounding, not breakage: on these random weights int4 moves logits by ~12% of their range
    assert float((logits(reloaded) - base).abs().max()) < 0.25 * float(base.abs().max())


@pytest.mark.parametrize("quantization", ["int4-weights", "dynamic-torch.ao"])
def test_gpt2_conv1d_layers_are_quantized_as_linear(
    tiny_gpt2_folder: Path, quantization: str
) -> None:
    from transformers import AutoModelForCausalLM

    operation, params = QUANTIZATIONS[quantization]
    model = AutoModelForCausalLM.from_pretrained(tiny_gpt2_folder, local_files_only=True)
    child = run_op(operation, model, **params)
    assert not any(is_conv1d(m) for m in child.modules())
    quantized = set(quantized_modules(child))
    for layer in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
        assert {f"transformer.h.{i}.{layer}" for i in range(2)} <= quantized


def test_an_excluded_conv1d_stays_a_float_conv1d(tiny_gpt2_folder: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_gpt2_folder, local_files_only=True)
    child = run_op("quantize.weight_only", model, bits=8, group_size=16, exclude=["*.mlp.*"])
    assert is_conv1d(child.get_submodule("transformer.h.0.mlp.c_fc"))
    assert not is_conv1d(child.get_submodule("transformer.h.0.attn.c_attn"))


def test_quantizers_accept_the_linear_alias_and_refuse_norms() -> None:
    assert get_operation("quantize.weight_only").validate({"include_types": ["linear"]})
    with pytest.raises(OperationError, match="only Linear"):
        get_operation("quantize.weight_only").validate({"include_types": ["norm"]})
