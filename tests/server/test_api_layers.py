"""/api/layers/activations: POST starts both models, GET answers 202, then the comparison; 4xx."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.analysis.activations import first_divergent_layer
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app
from compresslens.workspace.layers import (
    DEFAULT_DIVERGENCE,
    DIVERGENCE_THRESHOLDS,
    first_divergent_layers,
)

ACTIVATIONS = "/api/layers/activations?base=mlp&model=mlp-70&sample=64"


@pytest.fixture
def client(pruned: cl.Workspace) -> TestClient:
    return TestClient(create_app(pruned))


def _poll(client: TestClient, url: str, seconds: float = 60) -> tuple[Any, list[dict[str, Any]]]:
    """GET until the answer is not 202 (bounded); the final response and every 202 body."""
    bodies, deadline = [], time.monotonic() + seconds
    while (response := client.get(url)).status_code == 202:
        bodies.append(response.json())
        assert time.monotonic() < deadline, f"still running: {bodies[-1]}"
        time.sleep(0.05)
    return response, bodies


def test_activations_answer_202_then_the_python_comparison(
    client: TestClient, pruned: cl.Workspace
) -> None:
    assert client.get(ACTIVATIONS).status_code == 409  # not computed: a GET starts nothing
    first = client.post(ACTIVATIONS)
    assert first.status_code == 202
    assert first.json()["progress"]["message"].startswith("activations of mlp and mlp-70")
    response, _ = _poll(client, ACTIVATIONS)
    assert response.status_code == 200
    body = response.json()
    expected = jsonable(pruned.compare("mlp", "mlp-70").activations(sample=64))
    assert body["modules"] == expected["modules"]
    assert body["first_divergent_layer"] == expected["first_divergent_layer"]
    assert (body["base"], body["model"], body["sample"]) == ("mlp", "mlp-70", 64)
    assert body["dataset"] == "digits"


def test_stored_activations_answer_at_once(client: TestClient, pruned: cl.Workspace) -> None:
    pruned.compare("mlp", "mlp-70").activations(sample=64, threshold=0.5)
    response = client.get(ACTIVATIONS + "&threshold=0.5")
    assert response.status_code == 200
    assert response.json()["threshold"] == 0.5


def test_activations_name_the_first_diverging_layer_at_each_offered_threshold(
    client: TestClient, pruned: cl.Workspace
) -> None:
    pruned.compare("mlp", "mlp-70").activations(sample=64, threshold=0.5)
    body = client.get(ACTIVATIONS + "&threshold=0.5").json()
    divergent = body["first_divergent_layers"]
    assert sorted(divergent) == sorted(["0.5", *map(str, DIVERGENCE_THRESHOLDS["cka"])])
    assert divergent["0.5"] == body["first_divergent_layer"]
    per_metric = body["first_diverging"]
    assert per_metric["cka"] == divergent
    for metric, thresholds in DIVERGENCE_THRESHOLDS.items():
        assert set(map(str, thresholds)) <= set(per_metric[metric])
        for t in thresholds:
            assert per_metric[metric][str(t)] == first_divergent_layer(body["modules"], t, metric)


def test_every_metric_has_its_default_among_its_offered_thresholds() -> None:
    assert set(DEFAULT_DIVERGENCE) == set(DIVERGENCE_THRESHOLDS)
    for metric, default in DEFAULT_DIVERGENCE.items():
        assert default in DIVERGENCE_THRESHOLDS[metric]


def test_first_divergent_layers_skip_a_constant_layer() -> None:
    rows = [
        {"module": "a", "cka": 0.99},
        {"module": "nan", "cka": float("nan")},
        {"module": "b", "cka": 0.5},
    ]
    assert first_divergent_layers(rows, (0.9, 0.99, 0.999)) == {
        "0.9": "b",
        "0.99": "b",
        "0.999": "a",
    }


def test_layer_rows_carry_the_relative_change_distribution(client: TestClient) -> None:
    body = client.get("/api/layers?base=mlp&model=mlp-70").json()["layers"]
    bins = len(body["relative_change_edges"]) - 1
    for row in body["modules"]:
        if row["comparable"]:
            assert len(row["relative_change_histogram"]) == bins
            assert sum(row["relative_change_histogram"]) == row["base"]["numel"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/layers/activations?base=mlp&model=ghost", 404),
        ("/api/layers/activations?base=mlp&model=mlp-70&dataset=ghost", 404),
        ("/api/layers/activations?model=mlp-70", 422),
        ("/api/layers/activations?base=mlp&model=mlp-70&sample=2", 422),
        ("/api/layers/activations?base=mlp&model=mlp-70&sample=many", 422),
        ("/api/layers/activations?base=mlp&model=mlp-70&threshold=1.5", 422),
    ],
)
def test_bad_activation_requests_get_a_clear_4xx(
    client: TestClient, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["detail"]
