"""restore: exactly the named parameters come back from the ancestor, nothing else moves."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import compresslens as cl
from compresslens.errors import OperationError
from compresslens.ops.restore import restore_parameters

pytest.importorskip("transformers", reason="the tiny LMs need transformers")

LMS = ["tiny_llama_folder", "tiny_gpt2_folder"]
NORM_NAMES = {  # the parameters "norm" stands for
    "tiny_llama_folder": {
        f"model.layers.{i}.{which}.weight"
        for i in range(2)
        for which in ("input_layernorm", "post_attention_layernorm")
    }
    | {"model.norm.weight"},
    "tiny_gpt2_folder": {
        f"transformer.h.{i}.{which}.{kind}"
        for i in range(2)
        for which in ("ln_1", "ln_2")
        for kind in ("weight", "bias")
    }
    | {"transformer.ln_f.weight", "transformer.ln_f.bias"},
}


def lm_workspace(tmp_path: Path, folder: Path) -> cl.Workspace:
    ws = cl.Workspace(tmp_path / "ws")
    ws.add_hf_model(folder, name="base", task="causal-lm")
    return ws


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    return dict(model.named_parameters(remove_duplicate=False))


@pytest.mark.parametrize("folder", LMS)
def test_restore_copies_exactly_the_named_tensors(
    folder: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    ws = lm_workspace(tmp_path, request.getfixturevalue(folder))
    pruned = ws.compress(
        "base", "prune.magnitude", amount=0.995, scope="global", include_types=["linear", "norm"]
    )
    restored = ws.compress(pruned, "restore", names=["norm"], teacher="base")
    base, first, child = (state(ws.load_model(m)) for m in ("base", pruned, restored))
    named = NORM_NAMES[folder]
    assert any(not torch.equal(first[name], base[name]) for name in named)  # norms were pruned
    assert set(child) == set(first)
    for name, tensor in child.items():
        expected = base[name] if name in named else first[name]
        assert torch.equal(tensor, expected), name
    assert restored.operation is not None
    parents = [(p["id"], p["role"]) for p in restored.operation["parents"]]
    assert parents == [(pruned.id, "input"), (ws.model("base").id, "teacher")]


def test_restore_takes_fnmatch_patterns_over_parameter_names(
    tiny_llama_folder: Path, tmp_path: Path
) -> None:
    ws = lm_workspace(tmp_path, tiny_llama_folder)
    pruned = ws.compress("base", "prune.magnitude", amount=0.5, include_types=["linear", "norm"])
    restored = ws.compress(pruned, "restore", names=["*.layers.1.*norm*"], teacher="base")
    base, first, child = (state(ws.load_model(m)) for m in ("base", pruned, restored))
    for name, tensor in child.items():
        wanted = name.startswith("model.layers.1.") and "norm" in name
        assert torch.equal(tensor, base[name] if wanted else first[name]), name


def test_restore_refuses_a_name_that_matches_nothing(
    tiny_gpt2_folder: Path, tmp_path: Path
) -> None:
    ws = lm_workspace(tmp_path, tiny_gpt2_folder)
    with pytest.raises(OperationError, match=r"'\*rmsnorm\*' matches no parameter.*ln_1"):
        ws.compress("base", "restore", names=["*rmsnorm*"], teacher="base")


def test_restore_without_an_ancestor_says_how_to_give_one(
    tiny_gpt2_folder: Path, tmp_path: Path
) -> None:
    ws = lm_workspace(tmp_path, tiny_gpt2_folder)
    with pytest.raises(OperationError, match=r"second parent.*teacher="):
        ws.compress("base", "restore", names=["norm"])


def test_restore_refuses_different_shapes_before_copying_anything() -> None:
    model, ancestor = nn.Sequential(nn.Linear(4, 2)), nn.Sequential(nn.Linear(4, 3))
    before = {name: t.detach().clone() for name, t in model.named_parameters()}
    with pytest.raises(OperationError, match=r"'0\.weight' is \[2, 4\].*\[3, 4\]"):
        restore_parameters(model, ancestor, ["0.*"])
    assert all(torch.equal(t, before[name]) for name, t in model.named_parameters())


def test_restore_refuses_a_parameter_the_ancestor_lacks() -> None:
    model, ancestor = (
        nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 2)),
        nn.Sequential(nn.Linear(4, 2)),
    )
    with pytest.raises(OperationError, match=r"ancestor has no parameter '1\.weight'"):
        restore_parameters(model, ancestor, ["1.weight"])
