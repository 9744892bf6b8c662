"""Keys far beyond any name get a documented 4xx, never a 500 (SQLite's LIKE refused a
50,000-character pattern: "LIKE or GLOB pattern too complex")."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.server.app import create_app

LONG = "m" * 50_000


@pytest.fixture
def client(digits_workspace: cl.Workspace) -> TestClient:
    return TestClient(create_app(digits_workspace))


@pytest.mark.parametrize(
    "url",
    [
        f"/api/models/{LONG}",
        f"/api/models/{LONG}/outputs?dataset=digits",
        f"/api/models/mlp/outputs?dataset={LONG}",
        f"/api/datasets/{LONG}/instances/0",
        f"/api/compare?base={LONG}&model=mlp",
        f"/api/compare?base=mlp&model=mlp&dataset={LONG}",
        f"/api/layers?base=mlp&model={LONG}",
        f"/api/layers/histogram?base=mlp&model=mlp&module={LONG}",
        f"/api/geometry?model={LONG}&dataset=digits",
        f"/api/select?selector={LONG}",
        f"/api/differences?models={'m' * 60_000}",
        f"/api/sensitivity?model={LONG}&dataset=digits",
        f"/api/robustness?models={'m' * 60_000}&dataset=digits",
    ],
)
def test_an_overlong_key_gets_a_4xx_with_a_message(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (404, 422), response.text[:300]
    assert response.json()["detail"]
