"""The Layers comparison on causal LMs: every projection and every norm, with its sparsity.

`ws.compare(base, model).layers()` needs both models evaluated on a dataset, which causal
LMs are not yet (part B of issue 12); these tests run the very computation it caches
(`compare_weights` of `module_weights(…, include_norms=True)`) on models from a workspace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import compresslens as cl
from compresslens.analysis.weights import compare_weights, module_weights, quantized_modules

pytest.importorskip("transformers", reason="the tiny LMs need transformers")

LLAMA_LAYER = [
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
    "input_layernorm",
    "post_attention_layernorm",
]
GPT2_LAYER = ["ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"]
MODULES = {
    "tiny_llama_folder": [f"model.layers.{i}.{m}" for i in range(2) for m in LLAMA_LAYER]
    + ["model.norm", "lm_head"],
    "tiny_gpt2_folder": [f"transformer.h.{i}.{m}" for i in range(2) for m in GPT2_LAYER]
    + ["transformer.ln_f", "lm_head"],
}
NORMS = {
    folder: [name for name in names if "norm" in name or ".ln_" in name]
    for folder, names in MODULES.items()
}


def lm_workspace(tmp_path: Path, folder: Path) -> cl.Workspace:
    ws = cl.Workspace(tmp_path / "ws")
    ws.add_hf_model(folder, name="base", task="causal-lm")
    return ws


def layers(ws: cl.Workspace, base: Any, model: Any) -> dict[str, Any]:
    """What Comparison.layers computes (and stores) for a pair."""
    base_module, module = ws.load_model(base), ws.load_model(model)
    return compare_weights(
        module_weights(base_module, include_norms=True),
        module_weights(module, include_norms=True),
        quantized=quantized_modules(module),
    )


def model_sparsity(result: dict[str, Any]) -> dict[str, float]:
    return {row["module"]: row["model"]["sparsity"] for row in result["modules"]}


@pytest.mark.parametrize("folder", list(MODULES))
def test_layers_list_every_projection_and_norm_of_an_lm(
    folder: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    ws = lm_workspace(tmp_path, request.getfixturevalue(folder))
    child = ws.compress("base", "prune.magnitude", amount=0.5)
    result = layers(ws, "base", child)
    assert [row["module"] for row in result["modules"]] == MODULES[folder]
    sparsity = model_sparsity(result)
    assert all(sparsity[name] == 0.0 for name in NORMS[folder])  # protected by default


@pytest.mark.parametrize("folder", list(MODULES))
def test_global_magnitude_including_norms_shows_their_sparsity(
    folder: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    ws = lm_workspace(tmp_path, request.getfixturevalue(folder))
    # norm scales start at 1, far above the projections' weights: only a high amount reaches them
    child = ws.compress(
        "base", "prune.magnitude", amount=0.995, scope="global", include_types=["linear", "norm"]
    )
    sparsity = model_sparsity(layers(ws, "base", child))
    assert sum(sparsity[name] for name in NORMS[folder]) > 0
    assert sparsity[NORMS[folder][0]] > 0


def test_gpt2_conv1d_compares_with_its_quantized_linear_element_by_element(
    tiny_gpt2_folder: Path, tmp_path: Path
) -> None:
    ws = lm_workspace(tmp_path, tiny_gpt2_folder)
    child = ws.compress("base", "quantize.weight_only", bits=8, group_size=16)
    rows = {row["module"]: row for row in layers(ws, "base", child)["modules"]}
    c_attn = rows["transformer.h.0.attn.c_attn"]
    assert c_attn["comparable"] and c_attn["base"]["shape"] == [96, 32]  # [out, in] both sides
    # int8 rounding; a transposed square c_proj would compare unrelated weights (≈ 0 dB)
    assert rows["transformer.h.0.attn.c_proj"]["sqnr_db"] > 30
