"""/api/tokens/text and /api/tokens/flips: the Behaviours view's token-level comparison of two
causal LMs, 409 before, POST compares, 200 after — equal to the Python API."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.errors import NotComputedError
from compresslens.server.app import create_app

IDS = "base=llama&model=swapped&dataset=held-out"
VOCAB = 64
TOKEN_NAMES = [f"t{i}" for i in range(VOCAB)]
LENGTH = 40
SWAPPED_IN = 0  # a token the greedy stream never holds (checked)
TEXT = f"/api/tokens/text?{IDS}&offset=5&limit=20"
FLIPS = f"/api/tokens/flips?{IDS}"


def greedy_stream(module: torch.nn.Module, length: int) -> torch.Tensor:
    """s[0] = 1, then each token the model's top-1 after those before: the base is right on
    every token of it, so a changed top-1 is a correct→incorrect flip."""
    ids = [1]
    with torch.no_grad():
        while len(ids) < length:
            ids.append(int(module(input_ids=torch.tensor([ids])).logits[0, -1].argmax()))
    return torch.tensor(ids)


@pytest.fixture
def lm_workspace(tmp_path: Path, tiny_llama_folder: Path) -> cl.Workspace:
    """The base on its own greedy stream (two entries), and a child whose lm_head rows of the
    stream's most common token and an unseen one are swapped: exactly that token flips."""
    ws = cl.Workspace(tmp_path / "ws")
    base = ws.add_hf_model(tiny_llama_folder, name="llama", task="causal-lm")
    module = ws.load_model(base)
    ids = greedy_stream(module, LENGTH + 1)
    half = LENGTH // 2
    ws.add_dataset(
        "held-out",
        ids[:-1],
        ids[1:],
        class_names=TOKEN_NAMES,
        attributes={
            "entry": np.repeat([0, 1], half),
            "position": np.concatenate([np.arange(half), np.arange(half)]),
        },
        modality="tokens",
    )
    swapped = Counter(ids[1:].tolist()).most_common(1)[0][0]
    assert SWAPPED_IN not in ids.tolist()
    state = {k: v.clone() for k, v in module.state_dict().items()}
    head = state["lm_head.weight"]
    head[[swapped, SWAPPED_IN]] = head[[SWAPPED_IN, swapped]]
    ws.log_model("swapped", parents=[base], operation={"name": "train.finetune"}, weights=state)
    return ws


@pytest.fixture
def client(lm_workspace: cl.Workspace) -> TestClient:
    return TestClient(create_app(lm_workspace))


def _settled(client: TestClient, url: str, seconds: float = 60) -> Any:
    """GET until the answer is not 202 (bounded)."""
    deadline = time.monotonic() + seconds
    while (response := client.get(url)).status_code == 202:
        assert time.monotonic() < deadline, f"still running: {response.json()}"
        time.sleep(0.05)
    return response


def test_a_text_page_answers_409_before_and_the_python_page_after(
    client: TestClient, lm_workspace: cl.Workspace
) -> None:
    before = client.get(TEXT)
    assert before.status_code == 409 and before.json()["code"] == "not_computed"
    assert client.post(TEXT).status_code in (200, 202)
    response = _settled(client, TEXT)
    assert response.status_code == 200
    assert response.json() == lm_workspace.token_text(
        "llama", "swapped", "held-out", offset=5, limit=20
    )


def test_the_page_shows_each_token_with_its_comparison(lm_workspace: cl.Workspace) -> None:
    page = lm_workspace.token_text("llama", "swapped", "held-out", offset=5, limit=20)["page"]
    arrays = lm_workspace.token_differences("llama", "swapped", "held-out")
    labels = lm_workspace.load_dataset("held-out").labels.numpy()
    window = slice(5, 25)
    assert page["token"] == [TOKEN_NAMES[i] for i in labels[window]]
    assert page["model_top1"] == [TOKEN_NAMES[i] for i in arrays["model_top1"][window]]
    assert page["flip"] == arrays["flip"][window].tolist()
    assert page["same_top"] == arrays["same_top"][window].astype(bool).tolist()
    assert np.allclose(page["kld"], arrays["kld"][window])
    assert page["entry"][0] == 0 and page["position"][0] == 5 and page["entry"][-1] == 1


def test_the_last_page_is_short(lm_workspace: cl.Workspace) -> None:
    tokens = lm_workspace.load_dataset("held-out").labels.shape[0]
    page = lm_workspace.token_text("llama", "swapped", "held-out", offset=tokens - 3, limit=10)
    assert len(page["page"]["token"]) == 3 and page["summary"]["tokens"] == tokens


def test_the_flips_are_the_comparisons_with_the_base_margin(
    client: TestClient, lm_workspace: cl.Workspace
) -> None:
    assert client.post(FLIPS).status_code in (200, 202)
    answer = _settled(client, FLIPS).json()
    summary = lm_workspace.token_comparison("llama", "swapped", "held-out")
    flips = answer["flips"]
    lost = summary["correct_to_incorrect"]["count"]
    assert lost > 0 and summary["incorrect_to_correct"]["count"] == 0
    assert flips["kind"] == ["correct_to_incorrect"] * lost
    assert answer["summary"]["correct_to_incorrect"] == lost
    assert flips["model_top1"] == [TOKEN_NAMES[SWAPPED_IN]] * lost
    assert flips["token"] == flips["base_top1"]
    margin = lm_workspace.token_outputs("llama", "held-out").top1_margin
    assert np.allclose(flips["base_margin"], margin[flips["index"]])
    codes = lm_workspace.token_differences("llama", "swapped", "held-out")["flip"]
    assert np.all(codes[flips["index"]] > 0) and int((codes > 0).sum()) == len(flips["index"])


def test_the_reverse_comparison_lists_the_same_tokens_incorrect_to_correct(
    lm_workspace: cl.Workspace,
) -> None:
    forward = lm_workspace.token_flips("llama", "swapped", "held-out")["flips"]
    reverse = lm_workspace.token_flips("swapped", "llama", "held-out")["flips"]
    assert reverse["index"] == forward["index"]
    assert set(reverse["kind"]) == {"incorrect_to_correct"}


def test_cached_only_refuses_a_comparison_not_stored(lm_workspace: cl.Workspace) -> None:
    with pytest.raises(NotComputedError, match="not compared"):
        lm_workspace.token_flips("llama", "swapped", "held-out", cached_only=True)


def test_a_bad_page_is_refused(client: TestClient) -> None:
    assert client.get(f"/api/tokens/text?{IDS}&limit=0").status_code == 422
    assert client.get(f"/api/tokens/text?{IDS}&offset=-1").status_code == 422
