"""Geometry view endpoints: the aggregates the page asks for, occlusion maps, clear 4xx.

(The Python-API equality of the plain answers is tested in test_api_views.py.)
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.analysis.geometry import margin_histogram, sample_geometry
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app
from compresslens.server.routes import geometry as geometry_routes
from compresslens.workspace import geometry as geometry_views

AGGREGATES = "/api/geometry?model=mlp-70&base=mlp&bins=20&limit=5&deltas=false"


@pytest.fixture
def client(pruned: cl.Workspace) -> TestClient:
    return TestClient(create_app(pruned))


@pytest.fixture
def images(workspace: cl.Workspace) -> cl.Workspace:
    """An untrained lean_cnn on 24 random 28×28 images, plus a text and a tabular dataset."""
    from compresslens.models.zoo import lean_cnn

    torch.manual_seed(0)
    workspace.add_dataset("imgs", torch.rand(24, 1, 28, 28), torch.arange(24) % 10, num_classes=10)
    workspace.add_model(
        lean_cnn(), name="cnn", factory="compresslens.models.zoo:lean_cnn", input_shape=[1, 28, 28]
    )
    workspace.add_dataset(
        "texts", torch.zeros(2, 4, dtype=torch.long), torch.tensor([0, 1]), texts=["a", "b"]
    )
    workspace.add_dataset("table", torch.rand(8, 5), torch.arange(8) % 2)
    return workspace


def _margins(ws: cl.Workspace, model: str) -> np.ndarray:
    labels = ws.outputs(model, "digits")["label"]
    return sample_geometry(*ws.geometry_inputs(model, "digits"), labels)["margin"]


def test_aggregates_page_the_fragile_samples(client: TestClient, pruned: cl.Workspace) -> None:
    body = client.get(AGGREGATES).json()
    direct = pruned.compare("mlp", "mlp-70").geometry()
    assert "deltas" not in body
    assert body["per_class"] == jsonable(pruned.geometry("mlp-70")["per_class"])
    for group, ids in direct["fragility"].items():
        assert body["fragility_counts"][group] == len(ids)
        assert body["fragility"][group] == jsonable(ids[:5])
    base_m, model_m = _margins(pruned, "mlp"), _margins(pruned, "mlp-70")
    for group in ("robust_to_fragile", "fragile_to_robust"):
        rows = body["fragility_samples"][group]
        assert [r["index"] for r in rows] == body["fragility"][group]
        for row in rows:
            assert row["base_margin"] == pytest.approx(base_m[row["index"]], abs=1e-12)
            assert row["margin"] == pytest.approx(model_m[row["index"]], abs=1e-12)


def test_margin_histogram_overlays_base_and_model(client: TestClient, pruned: cl.Workspace) -> None:
    hist = client.get(AGGREGATES).json()["margin_histogram"]
    assert len(hist["edges"]) == 21 and hist["edges"][0] <= 0 <= hist["edges"][-1]
    for name, margins in (("base", _margins(pruned, "mlp")), ("model", _margins(pruned, "mlp-70"))):
        series = hist["series"][name]
        assert sum(series["counts"]) == series["total"] == len(margins)
        assert series["negative_share"] == pytest.approx(float(np.mean(margins <= 0)))
        assert series["median"] == pytest.approx(float(np.median(margins)))


def test_histogram_without_base_has_only_the_model(client: TestClient) -> None:
    body = client.get("/api/geometry?model=mlp&bins=10").json()
    assert list(body["margin_histogram"]["series"]) == ["model"]
    assert "fragility" not in body and "base" not in body


def test_margin_histogram_clips_extremes_into_the_end_bins() -> None:
    margins = {"model": np.array([-np.inf, *np.linspace(1, 2, 998), np.inf])}
    hist = margin_histogram(margins, 4)
    counts = hist["series"]["model"]["counts"]
    assert hist["edges"][0] == 0.0  # the decision boundary is always in range
    assert counts.sum() == 1000 and counts[0] >= 1 and counts[-1] >= 1
    assert hist["series"]["model"]["clipped"] >= 2


def test_occlusion_matches_the_python_api(images: cl.Workspace) -> None:
    client = TestClient(create_app(images))
    response = client.get("/api/geometry/occlusion?model=cnn&dataset=imgs&index=3")
    assert response.status_code == 200
    body = response.json()
    direct = images.occlusion("cnn", "imgs", 3, patch=4, stride=4)
    for part in ("angle", "length", "margin"):
        assert body[part] == jsonable(direct[part])
        assert np.asarray(body[part]).shape == (7, 7)
    assert body["shape"] == [28, 28] and body["label"] == 3 and body["dataset"] == "imgs"
    wide = client.get("/api/geometry/occlusion?model=cnn&dataset=imgs&index=0&patch=8&stride=5")
    assert np.asarray(wide.json()["margin"]).shape == (5, 5)


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("model=cnn&dataset=imgs&index=24", 404, "outside 0..23"),
        ("model=cnn&dataset=imgs&index=-1", 422, "index"),
        ("model=cnn&dataset=imgs", 422, "index"),
        ("model=cnn&dataset=imgs&index=x", 422, "index"),
        ("model=cnn&dataset=texts&index=0", 400, "text"),
        ("model=cnn&dataset=table&index=0", 400, "tabular"),
        ("model=cnn&dataset=ghost&index=0", 404, "ghost"),
        ("model=ghost&dataset=imgs&index=0", 404, "ghost"),
        ("model=cnn&dataset=imgs&index=0&patch=29", 400, "does not fit"),
        ("model=cnn&dataset=imgs&index=0&patch=0", 422, "patch"),
        ("model=cnn&dataset=imgs&index=0&stride=65", 422, "stride"),
    ],
)
def test_bad_occlusion_requests_get_a_clear_4xx(
    images: cl.Workspace, query: str, status: int, words: str
) -> None:
    response = TestClient(create_app(images)).get(f"/api/geometry/occlusion?{query}")
    assert response.status_code == status
    assert words in str(response.json()["detail"])


def test_too_many_occluded_copies_is_refused(
    images: cl.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(geometry_views, "MAX_OCCLUSION_PATCHES", 10)
    response = TestClient(create_app(images)).get(
        "/api/geometry/occlusion?model=cnn&dataset=imgs&index=0&patch=2&stride=1"
    )
    assert response.status_code == 400
    assert "larger stride" in response.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "model=mlp&bins=1",
        "model=mlp&bins=500",
        "model=mlp&base=mlp-70&limit=-1",
        "model=mlp&base=mlp-70&deltas=maybe",
        "model=mlp&dataset=ghost&bins=10",
    ],
)
def test_bad_aggregate_parameters_get_a_clear_4xx(client: TestClient, query: str) -> None:
    response = client.get(f"/api/geometry?{query}")
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]


def test_a_large_map_runs_as_a_job_and_is_stored(
    client: TestClient, pruned: cl.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(geometry_routes, "MAP_JOB_MODELS", 1)
    url = "/api/geometry/map?models=mlp,mlp-70&dataset=digits&method=pca"
    assert client.get(url).status_code == 409  # not computed: a GET starts nothing
    first = client.post(url)
    assert first.status_code == 202
    assert first.json()["progress"]["message"] == "placing 2 models by their geometry"
    deadline = time.monotonic() + 60
    response = first
    while response.status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.05)
        response = client.get(url)
    assert response.status_code == 200
    assert response.json() == jsonable(pruned.geometry_map("mlp,mlp-70", "digits", method="pca"))
    # stored in the workspace: a fresh server answers at once
    again = TestClient(create_app(pruned)).get(url)
    assert again.status_code == 200 and again.json() == response.json()


@pytest.mark.parametrize(
    ("query", "status"),
    [("models=mlp,ghost&dataset=digits", 404), ("models=mlp,mlp-70&dataset=ghost", 404)],
)
def test_a_bad_large_map_fails_at_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, query: str, status: int
) -> None:
    monkeypatch.setattr(geometry_routes, "MAP_JOB_MODELS", 1)
    for response in (
        client.get(f"/api/geometry/map?{query}"),
        client.post(f"/api/geometry/map?{query}"),
    ):
        assert response.status_code == status and response.json()["detail"]
