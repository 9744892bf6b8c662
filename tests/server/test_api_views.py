"""Layer and geometry endpoints: the Python API's numbers, clear 4xx."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app


@pytest.fixture
def client(pruned: cl.Workspace) -> TestClient:
    return TestClient(create_app(pruned))


def test_layers_match_the_python_comparison(client: TestClient, pruned: cl.Workspace) -> None:
    body = client.get("/api/layers?base=mlp&model=mlp-70").json()
    assert body["layers"] == jsonable(pruned.compare("mlp", "mlp-70").layers())
    histogram = client.get("/api/layers/histogram?base=mlp&model=mlp-70&module=body.0&bins=10")
    assert histogram.status_code == 200
    expected = pruned.compare("mlp", "mlp-70").weight_histograms("body.0", bins=10)
    about = {
        "base": {"id": pruned.model("mlp").id, "name": "mlp"},
        "model": {"id": pruned.model("mlp-70").id, "name": "mlp-70"},
        "dataset": "digits",
    }
    assert histogram.json() == jsonable({**about, **expected})


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/layers?base=mlp&model=ghost", 404),
        ("/api/layers?model=mlp", 422),
        ("/api/layers/histogram?base=mlp&model=mlp-70&module=nowhere", 400),
        ("/api/layers/histogram?base=mlp&model=mlp-70&module=body.0&bins=1", 422),
    ],
)
def test_bad_layer_requests_get_a_clear_4xx(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["detail"]


def test_geometry_matches_the_python_api(client: TestClient, pruned: cl.Workspace) -> None:
    body = client.get("/api/geometry?model=mlp-70").json()
    assert body == jsonable(pruned.geometry("mlp-70"))
    change = client.get("/api/geometry?model=mlp-70&base=mlp").json()
    direct = pruned.compare("mlp", "mlp-70").geometry()
    assert change["base"]["per_class"] == jsonable(direct["base"])
    assert change["fragility"] == jsonable(direct["fragility"])


def test_geometry_map_places_every_selected_model(client: TestClient, pruned: cl.Workspace) -> None:
    body = client.get("/api/geometry/map?models=mlp,mlp-70&dataset=digits&method=pca").json()
    assert body == jsonable(pruned.geometry_map("mlp,mlp-70", "digits", method="pca"))
    assert [m["name"] for m in body["models"]] == ["mlp", "mlp-70"]
    assert len(body["coordinates"]) == 2 and len(body["edges"]) == 1


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/geometry?model=ghost", 404),
        ("/api/geometry?model=mlp&base=ghost", 404),
        ("/api/geometry/map?models=tag:none&dataset=digits", 404),
        ("/api/geometry/map?models=mlp", 422),
        ("/api/geometry/map?models=mlp&dataset=digits&method=tsne", 422),
    ],
)
def test_bad_geometry_requests_get_a_clear_4xx(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["detail"]
