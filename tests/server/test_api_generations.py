"""/api/generations and /api/generations/compare: 409 before, POST generates, 200 after."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.server.app import create_app
from token_generations import add_token_dataset

QUERY = "dataset=held-out&prompts=4&prompt_tokens=4&length=8"
GENERATIONS = f"/api/generations?model=llama&{QUERY}"
COMPARISON = f"/api/generations/compare?base=llama&model=llama&{QUERY}"
OPTIONS = {"prompts": 4, "prompt_tokens": 4, "length": 8}


@pytest.fixture
def lm_workspace(tmp_path: Path, tiny_llama_folder: Path) -> cl.Workspace:
    ws = cl.Workspace(tmp_path / "ws")
    ws.add_hf_model(tiny_llama_folder, name="llama", task="causal-lm")
    add_token_dataset(ws)
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


def test_generations_answer_409_before_and_the_python_result_after(
    client: TestClient, lm_workspace: cl.Workspace
) -> None:
    before = client.get(GENERATIONS)
    assert before.status_code == 409 and before.json()["code"] == "not_computed"
    assert client.post(GENERATIONS).status_code in (200, 202)
    response = _settled(client, GENERATIONS)
    assert response.status_code == 200
    assert response.json() == lm_workspace.generate("llama", "held-out", **OPTIONS)


def test_a_comparison_answers_409_before_and_200_after(
    client: TestClient, lm_workspace: cl.Workspace
) -> None:
    assert client.get(COMPARISON).status_code == 409
    assert client.post(COMPARISON).status_code in (200, 202)
    response = _settled(client, COMPARISON)
    assert response.status_code == 200
    body = response.json()
    assert body == lm_workspace.compare_generations("llama", "llama", "held-out", **OPTIONS)
    assert body["summary"]["share_identical"] == 1.0


def test_stored_generations_answer_at_once(client: TestClient, lm_workspace: cl.Workspace) -> None:
    lm_workspace.generate("llama", "held-out", **OPTIONS)
    assert client.get(GENERATIONS).status_code == 200


def test_a_dataset_that_is_not_a_token_dataset_answers_400_at_once(
    client: TestClient, lm_workspace: cl.Workspace
) -> None:
    lm_workspace.add_dataset("pixels", [[0.0, 1.0], [1.0, 0.0]], [0, 1])
    response = client.get("/api/generations?model=llama&dataset=pixels")
    assert response.status_code == 400
    assert "not a token dataset" in response.json()["detail"]


def test_an_unknown_model_answers_404(client: TestClient) -> None:
    assert client.get("/api/generations?model=nobody&dataset=held-out").status_code == 404
