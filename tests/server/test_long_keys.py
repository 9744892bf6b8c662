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


def test_every_list_of_models_takes_fifty_long_names(client: TestClient) -> None:
    """A bound for one key must not cut a list of keys short (50 names of 200 characters)."""
    paths = client.get("/openapi.json").json()["paths"]
    lists = {
        (path, p["name"]): p["schema"].get("maxLength") or p["schema"]["anyOf"][0]["maxLength"]
        for path, ops in paths.items()
        for op in ops.values()
        for p in op.get("parameters", [])
        if p["name"] in ("models", "baseline", "compressed", "selector")
    }
    assert len(lists) >= 8
    assert {key: bound for key, bound in lists.items() if bound < 50 * 201} == {}


def test_a_batch_of_many_model_ids_is_not_refused_for_its_length(client: TestClient) -> None:
    ids = ",".join(["mlp"] * 30 + ["m" * 200])  # 321 characters: unknown model, not too long
    response = client.get(f"/api/behaviours?base=mlp&models={ids}")
    assert response.status_code == 404, response.text[:300]
