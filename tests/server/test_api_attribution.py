"""GET/POST /api/attribution: the job protocol (409, 202 with progress, 200) and the same
answer as `Workspace.attribute_flips`, then from the store after a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app
from planted_flips import DAMAGED_LAYER, planted_workspace

URL = "/api/attribution?base=mlp&model=mlp-damaged&control=32"


@pytest.fixture(scope="module")
def planted(
    tmp_path_factory: pytest.TempPathFactory,
    digits: tuple[torch.Tensor, torch.Tensor],
    trained_mlp_state: dict[str, torch.Tensor],
) -> Iterator[cl.Workspace]:
    ws = planted_workspace(tmp_path_factory.mktemp("api") / "ws", digits, trained_mlp_state)
    yield ws
    ws.close()


def _poll(client: TestClient, url: str) -> tuple[Any, list[dict[str, Any]]]:
    """GET until the answer is not 202 (bounded); the final response and the 202 bodies."""
    bodies, deadline = [], time.monotonic() + 60
    while (response := client.get(url)).status_code == 202:
        bodies.append(response.json())
        assert time.monotonic() < deadline, f"still running: {bodies[-1]}"
        time.sleep(0.02)
    return response, bodies


def test_attribution_answers_409_then_the_python_result_then_from_the_store(
    planted: cl.Workspace,
) -> None:
    client = TestClient(create_app(planted))
    assert client.get(URL).status_code == 409  # a GET starts nothing
    assert client.post(URL).status_code in (200, 202)
    response, _ = _poll(client, URL)
    assert response.status_code == 200
    body = response.json()
    direct = planted.attribute_flips("mlp", "mlp-damaged", control=32)
    assert body == jsonable(direct.to_json())
    assert body["rows"][0]["module"] == DAMAGED_LAYER and body["context"]["class"] is None
    fresh = TestClient(create_app(planted)).get(URL)  # a restart answers from the store
    assert fresh.status_code == 200 and fresh.json() == body


def test_bad_attribution_requests_are_4xx_before_any_job(planted: cl.Workspace) -> None:
    client = TestClient(create_app(planted))
    assert client.get(f"{URL}&groups=layers").status_code == 422
    assert client.get(f"{URL}&target=0").status_code == 422
    assert client.post("/api/attribution?base=mlp&model=nobody").status_code == 404
    assert client.post(f"{URL}&class=eleven").status_code in (400, 422)
