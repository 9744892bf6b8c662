"""Workspace.generate and compare_generations: stored once, decoded by the dataset's token
names, the first divergence of a planted lm_head edit, clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import compresslens as cl
from compresslens.errors import IncompatibleDatasetError, NotComputedError
from compresslens.workspace import generations
from token_generations import TOKEN_NAMES, add_token_dataset, entry_starts, save_edited_llama

OPTIONS = {"prompts": 16, "prompt_tokens": 4, "length": 12}
SCALE = 1.05


@pytest.fixture
def lm_workspace(tmp_path: Path, tiny_llama_folder: Path) -> cl.Workspace:
    ws = cl.Workspace(tmp_path / "ws")
    ws.add_hf_model(tiny_llama_folder, name="llama", task="causal-lm")
    add_token_dataset(ws)
    return ws


def test_generations_start_from_the_first_tokens_of_long_enough_entries(
    lm_workspace: cl.Workspace,
) -> None:
    result = lm_workspace.generate("llama", "held-out", **OPTIONS)
    labels = lm_workspace.load_dataset("held-out").labels.numpy()
    starts = entry_starts()
    assert [row["entry"] for row in result["generations"]] == [0, 2, 3, 5, 6]
    for row in result["generations"]:
        start = starts[row["entry"]]
        assert row["prompt_ids"] == labels[start : start + 4].tolist()
        assert len(row["generated_ids"]) == 12
    assert (result["prompt_tokens"], result["length"]) == (4, 12)
    assert result["model"]["name"] == "llama" and result["dataset"]["name"] == "held-out"


def test_generations_are_the_models_greedy_tokens_decoded_by_the_token_names(
    lm_workspace: cl.Workspace,
) -> None:
    result = lm_workspace.generate("llama", "held-out", **OPTIONS)
    model = lm_workspace.load_model("llama")
    for row in result["generations"]:
        ids = torch.tensor([row["prompt_ids"]])
        with torch.no_grad():
            for _ in range(12):
                ids = torch.cat([ids, model(input_ids=ids).logits[:, -1].argmax(1, True)], 1)
        assert row["generated_ids"] == ids[0, 4:].tolist()
        assert row["text"] == "".join(TOKEN_NAMES[i] for i in row["generated_ids"])
        assert row["prompt_text"] == "".join(TOKEN_NAMES[i] for i in row["prompt_ids"])


def test_generations_are_computed_once_and_stored(
    lm_workspace: cl.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NotComputedError, match="generations of llama on held-out"):
        lm_workspace.generate("llama", "held-out", **OPTIONS, cached_only=True)
    first = lm_workspace.generate("llama", "held-out", **OPTIONS)

    def no_model_runs(*_: object, **__: object) -> None:
        raise AssertionError("generated again")

    monkeypatch.setattr(generations, "greedy_generate", no_model_runs)
    assert lm_workspace.generate("llama", "held-out", **OPTIONS) == first
    assert lm_workspace.generate("llama", "held-out", **OPTIONS, cached_only=True) == first
    for other in ({"length": 6}, {"prompt_tokens": 3}, {"threads": 2}):  # another result
        with pytest.raises(NotComputedError):
            lm_workspace.generate("llama", "held-out", **{**OPTIONS, **other}, cached_only=True)


def teacher_forced_logits(ws: cl.Workspace, rows: list[dict]) -> torch.Tensor:
    """The base's logits [P, L, V] before each of its own generated tokens."""
    ids = torch.tensor([row["prompt_ids"] + row["generated_ids"] for row in rows])
    with torch.no_grad():
        logits = ws.load_model("llama")(input_ids=ids).logits
    return logits[:, 3:-1]


def expected_divergence(
    logits: torch.Tensor, generated: np.ndarray, winner: int, copied: int
) -> list[int | None]:
    """Where a model with winner's logit = SCALE × copied's first picks another token."""
    edited = logits.clone()
    edited[..., winner] = SCALE * logits[..., copied]
    differ = edited.argmax(-1).numpy() != generated
    return [int(np.argmax(row)) if row.any() else None for row in differ]


def test_an_lm_head_edit_diverges_exactly_where_its_token_starts_to_win(
    lm_workspace: cl.Workspace, tiny_llama_folder: Path, tmp_path: Path
) -> None:
    rows = lm_workspace.generate("llama", "held-out", **OPTIONS)["generations"]
    generated = np.array([row["generated_ids"] for row in rows])
    logits = teacher_forced_logits(lm_workspace, rows)
    winner = min(set(range(1, 64)) - set(generated.ravel().tolist()))
    plans = [
        (k, int(generated[0, k]))
        for k in range(2, 12)
        if expected_divergence(logits, generated, winner, int(generated[0, k]))[0] == k
    ]
    assert plans, "no position of the first prompt where an edit makes a new token win"
    k, copied = plans[0]
    save_edited_llama(tiny_llama_folder, tmp_path / "edited", winner, copied, SCALE)
    lm_workspace.add_hf_model(tmp_path / "edited", name="edited", task="causal-lm")

    result = lm_workspace.compare_generations("llama", "edited", "held-out", **OPTIONS)
    firsts = [row["first_divergence"] for row in result["prompts"]]
    assert firsts == expected_divergence(logits, generated, winner, copied)
    first_prompt = result["prompts"][0]
    assert first_prompt["first_divergence"] == first_prompt["shared_prefix"] == k
    assert first_prompt["model_ids"][:k] == first_prompt["base_ids"][:k]
    assert first_prompt["model_ids"][k] == winner
    assert first_prompt["model_tokens"][k] == TOKEN_NAMES[winner]
    identical = sum(first is None for first in firsts)
    assert result["summary"]["share_identical"] == identical / len(firsts)


def test_a_model_compared_with_itself_is_identical_everywhere(lm_workspace: cl.Workspace) -> None:
    result = lm_workspace.compare_generations("llama", "llama", "held-out", **OPTIONS)
    assert [row["first_divergence"] for row in result["prompts"]] == [None] * 5
    assert result["summary"] == {
        "prompts": 5,
        "identical": 5,
        "share_identical": 1.0,
        "mean_shared_prefix": 12.0,
        "mean_first_divergence": None,
    }
    assert result["base"]["name"] == result["model"]["name"] == "llama"


def test_a_dataset_that_is_not_a_token_dataset_is_refused(lm_workspace: cl.Workspace) -> None:
    lm_workspace.add_dataset("pixels", torch.zeros(4, 1, 2, 2), torch.tensor([0, 1, 0, 1]))
    with pytest.raises(IncompatibleDatasetError, match="'pixels' is not a token dataset"):
        lm_workspace.generate("llama", "pixels", **OPTIONS)


def test_a_token_dataset_without_entries_is_refused(lm_workspace: cl.Workspace) -> None:
    lm_workspace.add_dataset(
        "bare", torch.arange(10), torch.arange(1, 11), num_classes=64, modality="tokens"
    )
    with pytest.raises(IncompatibleDatasetError, match="lacks the attribute entry, position"):
        lm_workspace.generate("llama", "bare", **OPTIONS)


def test_a_model_that_is_not_a_causal_lm_is_refused(
    lm_workspace: cl.Workspace, tiny_bert_folder: Path
) -> None:
    lm_workspace.add_hf_model(tiny_bert_folder, name="bert")
    with pytest.raises(IncompatibleDatasetError, match="not a causal language model"):
        lm_workspace.generate("bert", "held-out", **OPTIONS)
