"""Module kinds and selection on causal LMs: Conv1D is a Linear, HF norms are norms, ties once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from compresslens.models.module_kinds import (
    input_features,
    is_norm,
    linear_from_conv1d,
    module_kind,
    out_in,
)
from compresslens.ops.registry import OperationContext, get_operation
from compresslens.ops.selection import SelectionParams, select_modules, selected_weights

pytest.importorskip("transformers", reason="the tiny LMs need transformers")

LMS = ["tiny_llama_folder", "tiny_gpt2_folder"]


def load_lm(folder: Path) -> nn.Module:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()


@pytest.fixture(params=LMS)
def lm(request: pytest.FixtureRequest) -> nn.Module:
    return load_lm(request.getfixturevalue(request.param))


def run_op(name: str, model: nn.Module, **params: Any) -> nn.Module:
    operation = get_operation(name)
    return operation.apply(model, operation.validate(params), OperationContext())


def names(model: nn.Module, **params: Any) -> list[str]:
    return list(select_modules(model, SelectionParams(**params)))


def kinds(model: nn.Module) -> Counter[str | None]:
    return Counter(module_kind(m) for _, m in model.named_modules() if module_kind(m))


# ------------------------------------------------------------------------ module kinds


def test_module_kinds_of_the_tiny_llama(tiny_llama_folder: Path) -> None:
    # 7 projections × 2 layers + lm_head; 2 RMSNorms × 2 layers + the final one
    assert kinds(load_lm(tiny_llama_folder)) == {"linear": 15, "norm": 5, "embedding": 1}


def test_module_kinds_of_the_tiny_gpt2(tiny_gpt2_folder: Path) -> None:
    # 4 Conv1D × 2 layers + lm_head; 2 LayerNorms × 2 layers + ln_f; wte and wpe
    assert kinds(load_lm(tiny_gpt2_folder)) == {"linear": 9, "norm": 5, "embedding": 2}


def test_a_norm_is_a_class_named_norm_that_holds_a_weight() -> None:
    class ScaleRMSNorm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(3))

    class StatelessNorm(nn.Module):
        pass

    class Normalizer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(3))

    assert is_norm(ScaleRMSNorm()) and is_norm(nn.LayerNorm(3))
    assert not is_norm(StatelessNorm()) and not is_norm(Normalizer())


def test_conv1d_is_read_as_out_in_and_converts_to_an_equal_linear() -> None:
    from transformers.pytorch_utils import Conv1D

    torch.manual_seed(0)
    conv = Conv1D(nf=3, nx=5)  # weight [in=5, out=3]
    linear = linear_from_conv1d(conv)
    x = torch.randn(4, 5)
    assert module_kind(conv) == "linear" and input_features(conv) == 5
    assert torch.equal(out_in(conv, conv.weight), linear.weight)
    torch.testing.assert_close(linear(x), conv(x))


# --------------------------------------------------------------------------- selection


def test_default_selection_takes_every_projection_and_lm_head_but_no_norm(lm: nn.Module) -> None:
    selected = names(lm)
    linears = [n for n, m in lm.named_modules() if module_kind(m) == "linear"]
    assert selected == linears and "lm_head" in selected
    assert not any(module_kind(lm.get_submodule(n)) in ("norm", "embedding") for n in selected)


def test_gpt2_conv1d_projections_are_selected_by_default(tiny_gpt2_folder: Path) -> None:
    selected = names(load_lm(tiny_gpt2_folder))
    assert "transformer.h.0.attn.c_attn" in selected and "transformer.h.1.mlp.c_proj" in selected


def test_kind_aliases_select_norms_and_embeddings(tiny_llama_folder: Path) -> None:
    model = load_lm(tiny_llama_folder)
    assert names(model, include_types=["norm"]) == [
        "model.layers.0.input_layernorm",
        "model.layers.0.post_attention_layernorm",
        "model.layers.1.input_layernorm",
        "model.layers.1.post_attention_layernorm",
        "model.norm",
    ]
    assert names(model, include_types=["embedding"]) == ["model.embed_tokens"]
    assert len(names(model, include_types=["linear", "norm"])) == 15 + 5


def test_llama_rmsnorm_is_protected_from_broad_type_names(tiny_llama_folder: Path) -> None:
    model = load_lm(tiny_llama_folder)
    assert not any("norm" in name for name in names(model, include_types=["Module"]))
    assert names(model, include_types=["LlamaRMSNorm"])[-1] == "model.norm"


def test_exclude_lm_head_leaves_it_untouched(lm: nn.Module) -> None:
    before = lm.lm_head.weight.detach().clone()
    assert "lm_head" not in names(lm, exclude=["lm_head"])
    run_op("prune.magnitude", lm, amount=0.5, scope="global", exclude=["lm_head"])
    assert torch.equal(lm.lm_head.weight, before)


def test_tied_lm_head_and_embedding_are_pruned_once(tiny_gpt2_folder: Path) -> None:
    model = load_lm(tiny_gpt2_folder)
    assert model.lm_head.weight is model.transformer.wte.weight
    params = {"include_types": ["linear", "embedding"], "include": ["lm_head", "transformer.w*"]}
    modules = select_modules(model, SelectionParams(**params))
    weights = selected_weights(modules)
    assert list(modules) == ["transformer.wte", "transformer.wpe", "lm_head"]
    assert list(weights) == ["transformer.wte", "transformer.wpe"]  # lm_head's is wte's
    run_op("prune.magnitude", model, amount=0.5, scope="global", **params)
    total = sum(w.numel() for w in weights.values())
    zeros = sum(int((w == 0).sum()) for w in weights.values())
    assert zeros == round(0.5 * total)  # counted once, not twice through the tie


def test_global_magnitude_over_linear_and_norm_reaches_the_exact_share(lm: nn.Module) -> None:
    params = {"include_types": ["linear", "norm"]}
    weights = selected_weights(select_modules(lm, SelectionParams(**params)))
    run_op("prune.magnitude", lm, amount=0.3, scope="global", **params)
    total = sum(w.numel() for w in weights.values())
    assert sum(int((w == 0).sum()) for w in weights.values()) == round(0.3 * total)


# ------------------------------------------------------------------------------ 2:4


def assert_two_of_four_along_inputs(module: nn.Module) -> None:
    rows = out_in(module, module.weight.detach())  # [out, in]
    groups = rows.reshape(rows.shape[0], -1, 4)
    assert bool(((groups == 0).sum(dim=2) >= 2).all())


def test_nm_2_4_groups_every_output_s_inputs_on_both_lms(lm: nn.Module) -> None:
    run_op("prune.nm", lm, n=2, m=4)
    for module in select_modules(lm, SelectionParams()).values():
        assert_two_of_four_along_inputs(module)


def test_nm_groups_a_conv1d_weight_by_columns() -> None:
    from transformers.pytorch_utils import Conv1D

    conv = Conv1D(nf=2, nx=4)
    with torch.no_grad():  # [in, out]: output 0 reads 1,2,3,4; output 1 reads 8,7,6,5
        conv.weight.copy_(torch.tensor([[1.0, 8.0], [2.0, 7.0], [3.0, 6.0], [4.0, 5.0]]))
    run_op("prune.nm", nn.Sequential(conv), n=2, m=4)
    expected = torch.tensor([[0.0, 8.0], [0.0, 7.0], [3.0, 0.0], [4.0, 0.0]])
    assert torch.equal(conv.weight.detach(), expected)
