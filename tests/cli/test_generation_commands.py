"""`compresslens generate`: one model's continuations, or two side by side with the first
diverging token marked ⟦…⟧; --json is the Workspace call's document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import fails, succeeds

import compresslens as cl
from compresslens.cli.generation_commands import marked
from token_generations import TOKEN_NAMES, add_token_dataset, save_edited_llama

OPTIONS = ["-d", "held-out", "--prompts", "3", "--prompt-tokens", "4", "--length", "8"]


@pytest.fixture
def lm_workspace(tmp_path: Path, tiny_llama_folder: Path) -> cl.Workspace:
    """The tiny Llama, and a copy whose token 1 takes twice the logit of the base's first
    generated token of the first prompt (so it wins there when that logit is positive)."""
    ws = cl.Workspace(tmp_path / "ws")
    ws.add_hf_model(tiny_llama_folder, name="llama", task="causal-lm")
    add_token_dataset(ws)
    first = ws.generate("llama", "held-out", prompts=3, prompt_tokens=4, length=8)
    copied = first["generations"][0]["generated_ids"][0]
    save_edited_llama(tiny_llama_folder, tmp_path / "edited", 1, copied, 2.0)
    ws.add_hf_model(tmp_path / "edited", name="edited", task="causal-lm")
    return ws


def test_generate_json_is_the_workspace_document(lm_workspace: cl.Workspace) -> None:
    document = json.loads(
        succeeds("generate", "llama", *OPTIONS, "-w", lm_workspace.location, "--json")
    )
    assert document == lm_workspace.generate(
        "llama", "held-out", prompts=3, prompt_tokens=4, length=8
    )


def test_generate_text_shows_each_prompt_and_its_continuation(lm_workspace: cl.Workspace) -> None:
    text = succeeds("generate", "llama", *OPTIONS, "-w", lm_workspace.location)
    rows = lm_workspace.generate("llama", "held-out", prompts=3, prompt_tokens=4, length=8)
    for row in rows["generations"]:
        assert f"entry {row['entry']}: {row['prompt_text']} │ {row['text']}" in text


def test_generate_with_a_base_marks_the_first_diverging_token(lm_workspace: cl.Workspace) -> None:
    arguments = ["generate", "edited", *OPTIONS, "--base", "llama", "-w", lm_workspace.location]
    document = json.loads(succeeds(*arguments, "--json"))
    assert document["prompts"][0]["first_divergence"] == 0
    assert document["prompts"][0]["model_ids"][0] == 1
    text = succeeds(*arguments)
    first = document["prompts"][0]
    assert f"model │ ⟦{TOKEN_NAMES[1]}⟧{''.join(first['model_tokens'][1:])}" in text
    assert f"base  │ ⟦{first['base_tokens'][0]}⟧" in text
    assert "first divergence at token 0" in text


def test_the_mark_surrounds_the_token_at_the_divergence() -> None:
    assert marked(["a", "b", "c"], 1) == "a⟦b⟧c"
    assert marked(["a", "b"], None) == "ab"
    assert marked(["x\n", "y"], 0) == "⟦x↵⟧y"


def test_generate_refuses_a_dataset_that_is_not_tokens(lm_workspace: cl.Workspace) -> None:
    lm_workspace.add_dataset("pixels", [[0.0, 1.0], [1.0, 0.0]], [0, 1])
    message = fails("generate", "llama", "-d", "pixels", "-w", lm_workspace.location)
    assert "'pixels' is not a token dataset" in message
