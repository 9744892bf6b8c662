"""prune.wanda: zero the lowest |W_ij|·‖X_j‖₂ per output row, on Linear and Conv1D alike."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

import compresslens as cl
from compresslens.errors import OperationError
from compresslens.models.module_kinds import out_in
from compresslens.ops.registry import OperationContext, get_operation
from compresslens.ops.selection import SelectionParams, select_modules
from compresslens.ops.wanda import input_norms, token_windows, window_length

pytest.importorskip("transformers", reason="the tiny LMs need transformers")

LMS = ["tiny_llama_folder", "tiny_gpt2_folder"]
WEIGHT = torch.tensor([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])  # Linear [out=2, in=4]
FEATURE_SCALES = torch.tensor([4.0, 1.0, 1.0, 0.25])  # ‖X_j‖ ∝ these
# |W|·‖X‖ per row: [4, 2, 3, 1] and [16, 3, 2, 0.25]: Wanda zeros inputs 3,1 and 3,2;
# magnitude would zero inputs 0,1 and 3,2
WANDA_ZEROS = torch.tensor([[False, True, False, True], [False, False, True, True]])


def load_lm(folder: Path) -> nn.Module:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()


def run_op(name: str, model: nn.Module, inputs: Any, **params: Any) -> nn.Module:
    operation = get_operation(name)
    data = SimpleNamespace(inputs=inputs, labels=torch.zeros(len(inputs), dtype=torch.long))
    context = OperationContext(load_dataset=lambda name: data)
    return operation.apply(model, operation.validate({"dataset": "d", **params}), context)


def planted_inputs(count: int = 16) -> torch.Tensor:
    """Every instance is FEATURE_SCALES, so ‖X_j‖ = scale_j·√count."""
    return FEATURE_SCALES.repeat(count, 1)


def token_stream(length: int = 300, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 64, (length,), generator=torch.Generator().manual_seed(seed))


def stream_workspace(tmp_path: Path, folder: Path) -> cl.Workspace:
    """A workspace holding one LM and a held-out token stream (the token dataset contract)."""
    ws = cl.Workspace(tmp_path / "ws")
    stream = token_stream(301)
    ws.add_dataset("held-out", stream[:-1].clone(), stream[1:].clone(), modality="tokens")
    ws.add_hf_model(folder, name="lm", task="causal-lm")
    return ws


# ------------------------------------------------------------------- defining property


def test_wanda_zeros_the_lowest_weight_times_input_norm_in_each_row() -> None:
    layer = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(WEIGHT)
    run_op("prune.wanda", nn.Sequential(layer), planted_inputs(), amount=0.5)
    assert torch.equal(layer.weight == 0, WANDA_ZEROS)
    magnitude_zeros = torch.tensor([[True, True, False, False], [False, False, True, True]])
    assert not torch.equal(WANDA_ZEROS, magnitude_zeros)


def test_wanda_on_a_conv1d_zeros_the_same_weights_transposed() -> None:
    from transformers.pytorch_utils import Conv1D

    conv = Conv1D(nf=2, nx=4)  # weight [in, out]
    with torch.no_grad():
        conv.weight.copy_(WEIGHT.t())
        conv.bias.zero_()
    run_op("prune.wanda", nn.Sequential(conv), planted_inputs(), amount=0.5)
    assert torch.equal(conv.weight == 0, WANDA_ZEROS.t())


def test_wanda_n_m_keeps_the_highest_scores_of_each_group() -> None:
    layer = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(WEIGHT)
    run_op("prune.wanda", nn.Sequential(layer), planted_inputs(), n=2, m=4)
    assert torch.equal(layer.weight == 0, WANDA_ZEROS)


# 16 + 8 weights: a third is 5 + 3 per layer, or the second layer's 8 ranked jointly
@pytest.mark.parametrize(
    ("scope", "first_zeros", "second_zeros"), [("layer", 5, 3), ("global", 0, 8)]
)
def test_wanda_layer_and_global_scopes(scope: str, first_zeros: int, second_zeros: int) -> None:
    first, second = nn.Linear(4, 4, bias=False), nn.Linear(4, 2, bias=False)
    with torch.no_grad():  # every score of the second layer is below every score of the first
        first.weight.copy_(torch.eye(4) * 10 + 5)
        second.weight.copy_(WEIGHT / 10_000)
    run_op("prune.wanda", nn.Sequential(first, second), planted_inputs(), amount=1 / 3, scope=scope)
    assert int((first.weight == 0).sum()) == first_zeros
    assert int((second.weight == 0).sum()) == second_zeros


# ------------------------------------------------------------------ calibration data


def test_a_token_stream_is_cut_into_windows_of_the_model_s_positions(
    tiny_gpt2_folder: Path,
) -> None:
    model = load_lm(tiny_gpt2_folder)
    assert window_length(None, model) == 32 and window_length(8, model) == 8
    windows = token_windows(torch.arange(70), 32)
    assert windows.shape == (2, 32) and torch.equal(windows[1], torch.arange(32, 64))
    assert token_windows(torch.arange(5), 32).shape == (1, 5)


@pytest.mark.parametrize("folder", LMS)
def test_input_norms_come_from_one_pass_over_all_layers(
    folder: str, request: pytest.FixtureRequest
) -> None:
    model = load_lm(request.getfixturevalue(folder))
    modules = select_modules(model, SelectionParams(include_types=["linear"]))
    batches = [token_windows(token_stream(96, seed), 16) for seed in range(2)]
    calls = []
    model.register_forward_pre_hook(lambda module, args: calls.append(1))
    norms = input_norms(model, modules, batches)
    assert len(calls) == len(batches) and set(norms) == set(modules)
    with torch.no_grad():  # lm_head's input is the last hidden state, after the final norm
        hidden = torch.cat([model(b, output_hidden_states=True).hidden_states[-1] for b in batches])
    expected = hidden.reshape(-1, hidden.shape[-1]).double().pow(2).sum(0).sqrt()
    torch.testing.assert_close(norms["lm_head"], expected)


# --------------------------------------------------------------- on the tiny LMs


@pytest.mark.parametrize("folder", LMS)
def test_wanda_prunes_half_of_every_row_of_both_lms(
    folder: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    ws = stream_workspace(tmp_path, request.getfixturevalue(folder))
    child = ws.compress("lm", "prune.wanda", amount=0.5, dataset="held-out", window=16)
    model = ws.load_model(child)
    for name, module in select_modules(model, SelectionParams(include_types=["linear"])).items():
        rows = out_in(module, module.weight.detach())
        assert bool(((rows == 0).sum(dim=1) == rows.shape[1] // 2).all()), name
    assert child.operation is not None and child.operation["params"]["scope"] == "row"


@pytest.mark.parametrize("folder", LMS)
def test_wanda_2_4_on_both_lms(folder: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    ws = stream_workspace(tmp_path, request.getfixturevalue(folder))
    model = ws.load_model(ws.compress("lm", "prune.wanda", n=2, m=4, dataset="held-out"))
    for module in select_modules(model, SelectionParams(include_types=["linear"])).values():
        groups = out_in(module, module.weight.detach())
        groups = groups.reshape(groups.shape[0], -1, 4)
        assert bool(((groups == 0).sum(dim=2) >= 2).all())


# --------------------------------------------------------------------- bad input


def test_wanda_refuses_norms_in_its_selection(tiny_llama_folder: Path) -> None:
    model = load_lm(tiny_llama_folder)
    with pytest.raises(OperationError, match=r"Linear and Conv1D.*model\.norm \(LlamaRMSNorm\)"):
        run_op("prune.wanda", model, token_stream(), amount=0.5, include_types=["linear", "norm"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "give amount"),
        ({"amount": 0.5, "n": 2, "m": 4}, "drop amount"),
        ({"n": 2}, "both n and m"),
        ({"n": 4, "m": 4}, "smaller than m"),
    ],
)
def test_wanda_parameters_need_an_amount_or_a_pattern(params: dict[str, Any], message: str) -> None:
    with pytest.raises(OperationError, match=message):
        get_operation("prune.wanda").validate({"dataset": "d", **params})
