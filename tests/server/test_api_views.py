"""PIE, layer, geometry and robustness endpoints: the Python API's numbers, clear 4xx."""

from __future__ import annotations

import pytest
import torch
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app
from conftest import MLP_FACTORY


@pytest.fixture
def client(pruned: cl.Workspace) -> TestClient:
    return TestClient(create_app(pruned))


@pytest.fixture
def populations(digits_workspace: cl.Workspace) -> TestClient:
    """Two trained bases, each pruned to 50% and 90%: populations of two per level."""
    ws = digits_workspace
    ws.evaluate("mlp", "digits", latency=False)
    for seed in range(2):
        base = ws.train(MLP_FACTORY, dataset="digits", seed=seed, epochs=2, lr=0.02)
        ws.evaluate(base, "digits", latency=False)
        for amount in (0.5, 0.9):
            ws.evaluate(
                ws.compress(base, "prune.magnitude", amount=amount), "digits", latency=False
            )
    return TestClient(create_app(ws))


def test_pies_match_the_python_report(
    populations: TestClient, digits_workspace: cl.Workspace
) -> None:
    body = populations.get(
        "/api/pies?baseline=op:train.scratch&compressed=op:prune.magnitude%26amount=0.9"
    ).json()
    direct = digits_workspace.pies("op:train.scratch", "op:prune.magnitude&amount=0.9")
    assert body["by"] is None and len(body["levels"]) == 1
    assert body["levels"][0]["summary"] == jsonable(direct["summary"])
    assert body["levels"][0]["pie_ids"] == jsonable(direct["pie_ids"])


def test_pies_by_level_give_one_report_per_amount(
    populations: TestClient, digits_workspace: cl.Workspace
) -> None:
    body = populations.get(
        "/api/pies?baseline=op:train.scratch&compressed=op:prune.magnitude&by=amount"
    ).json()
    direct = digits_workspace.pies_by_level("op:train.scratch", "op:prune.magnitude", "amount")
    assert [level["level"] for level in body["levels"]] == [{"amount": "0.5"}, {"amount": "0.9"}]
    assert [lv["summary"] for lv in body["levels"]] == [jsonable(d["summary"]) for d in direct]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("baseline=tag:none&compressed=op:prune.magnitude", 404),
        ("baseline=op:train.scratch", 422),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&by=nope", 404),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&alpha=2", 422),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&correction=x", 422),
        ("baseline=mlp&compressed=op:prune.magnitude", 400),  # a population of one
    ],
)
def test_bad_pie_requests_get_a_clear_4xx(populations: TestClient, query: str, status: int) -> None:
    response = populations.get(f"/api/pies?{query}")
    assert response.status_code == status
    assert response.json()["detail"]


def test_layers_match_the_python_comparison(client: TestClient, pruned: cl.Workspace) -> None:
    body = client.get("/api/layers?base=mlp&model=mlp-70").json()
    assert body["layers"] == jsonable(pruned.compare("mlp", "mlp-70").layers())
    histogram = client.get("/api/layers/histogram?base=mlp&model=mlp-70&module=body.0&bins=10")
    assert histogram.status_code == 200
    expected = pruned.compare("mlp", "mlp-70").weight_histograms("body.0", bins=10)
    assert histogram.json() == jsonable(expected)


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


@pytest.fixture
def cnns(workspace: cl.Workspace) -> cl.Workspace:
    from compresslens.models.zoo import lean_cnn

    torch.manual_seed(0)
    workspace.add_dataset("imgs", torch.rand(24, 1, 28, 28), torch.arange(24) % 10, num_classes=10)
    workspace.add_model(lean_cnn(), name="cnn", factory="compresslens.models.zoo:lean_cnn")
    workspace.compress("cnn", "prune.magnitude", amount=0.5, name="cnn-50")
    workspace.add_dataset("table", torch.rand(8, 5), torch.arange(8) % 2)
    return workspace


def test_robustness_matches_the_python_table(cnns: cl.Workspace) -> None:
    client = TestClient(create_app(cnns))
    response = client.get(
        "/api/robustness?models=cnn,cnn-50&dataset=imgs&corruptions=contrast&severities=1,5"
    )
    assert response.status_code == 200
    body = response.json()
    direct = cnns.robustness(
        "cnn,cnn-50", "imgs", corruptions=["contrast"], severities=[1, 5], limit=500
    )
    assert body["rows"] == jsonable(direct)
    assert len(body["rows"]) == 2 * (1 + 2) and body["severities"] == [1, 5]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("models=cnn&dataset=table&corruptions=contrast&severities=1", 400),
        ("models=ghost&dataset=imgs&corruptions=contrast&severities=1", 404),
        ("models=cnn&dataset=imgs&corruptions=fog&severities=1", 422),
        ("models=cnn&dataset=imgs&corruptions=contrast&severities=9", 422),
        ("models=cnn&dataset=imgs&corruptions=contrast&severities=x", 422),
        ("models=cnn&dataset=imgs&limit=0", 422),
        ("models=cnn&dataset=imgs&limit=1000000", 422),
    ],
)
def test_bad_robustness_requests_get_a_clear_4xx(
    cnns: cl.Workspace, query: str, status: int
) -> None:
    response = TestClient(create_app(cnns)).get(f"/api/robustness?{query}")
    assert response.status_code == status
    assert response.json()["detail"]
