"""The Layers view's activation comparison on a causal LM's token dataset: the stream is cut
into windows of context (a single token is no input to a language model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import compresslens as cl
from compresslens.workspace.comparison import ACTIVATION_WINDOW, activation_inputs


def test_a_token_stream_becomes_consecutive_windows_of_its_first_tokens() -> None:
    stream = torch.arange(100)
    windows = activation_inputs(stream, 70)
    assert windows.shape == (70 // ACTIVATION_WINDOW, ACTIVATION_WINDOW)
    assert torch.equal(windows.flatten(), stream[: windows.numel()])
    assert activation_inputs(torch.arange(10), 1024).shape == (1, 10)  # shorter than a window


def test_other_inputs_keep_their_first_instances() -> None:
    images = torch.zeros(10, 3, 4, 4)
    assert activation_inputs(images, 4).shape == (4, 3, 4, 4)


def test_an_lm_and_its_pruned_child_compare_activations_on_tokens(
    workspace: cl.Workspace, tiny_llama_folder: Path
) -> None:
    workspace.add_hf_model(tiny_llama_folder, name="lm", task="causal-lm")
    ids = torch.randint(0, 64, (129,), generator=torch.Generator().manual_seed(0))
    length = 128
    workspace.add_dataset(
        "held",
        ids[:-1],
        ids[1:],
        attributes={"entry": np.zeros(length, dtype=np.int64), "position": np.arange(length)},
        modality="tokens",
    )
    workspace.compress("lm", "prune.magnitude", name="pruned", amount=0.5, threads=1)
    for model in ("lm", "pruned"):
        workspace.evaluate(model, "held", latency=False)
    same = workspace.compare("lm", "lm", "held").activations(sample=128)
    changed = workspace.compare("lm", "pruned", "held").activations(sample=128)
    modules = {row["module"]: row for row in changed["modules"]}
    assert any(m.endswith("q_proj") for m in modules)
    assert any(m.endswith("input_layernorm") for m in modules)
    assert all(row["cka"] == 1.0 or abs(row["cka"] - 1.0) < 1e-5 for row in same["modules"])
    assert min(row["cka"] for row in changed["modules"]) < 0.999
