"""API over a small workspace: JSON answers, thumbnails, clear 4xx for bad requests."""

from __future__ import annotations

import io

import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

import compresslens as cl
from compresslens.server.app import create_app


@pytest.fixture
def client(digits_workspace: cl.Workspace) -> TestClient:
    digits_workspace.add_dataset("images", torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3]))
    digits_workspace.evaluate("mlp", "digits", latency=False)
    return TestClient(create_app(digits_workspace))


def test_models_lists_every_model_with_its_metrics(
    client: TestClient, digits_workspace: cl.Workspace
) -> None:
    models = client.get("/api/models").json()["models"]
    assert [m["name"] for m in models] == ["mlp"]
    expected = digits_workspace.evaluation("mlp", "digits").metrics["accuracy"]
    assert models[0]["metrics"]["digits"]["accuracy"] == pytest.approx(expected)


def test_one_model_in_full(client: TestClient) -> None:
    body = client.get("/api/models/mlp").json()
    assert body["model"]["name"] == "mlp"
    assert body["evaluations"][0]["dataset_name"] == "digits"


def test_an_image_instance_is_a_png(client: TestClient) -> None:
    response = client.get("/api/datasets/images/instances/2")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (56, 56)


@pytest.fixture
def texts(client: TestClient, digits_workspace: cl.Workspace) -> cl.DatasetInfo:
    tokens = torch.tensor([[3, 4, 0], [5, 4, 0], [6, 7, 8]])
    reviews = ["good film", "bad <b>film</b>", "a long review\nover two lines"]
    return digits_workspace.add_dataset("reviews", tokens, torch.tensor([1, 0, 1]), texts=reviews)


def test_a_text_instance_is_json_with_its_text(client: TestClient, texts: cl.DatasetInfo) -> None:
    for key in ("reviews", texts.id):
        response = client.get(f"/api/datasets/{key}/instances/2")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "dataset": "reviews",
            "instance": 2,
            "text": "a long review\nover two lines",
        }
    # markup in a text is data, answered as it is
    assert client.get("/api/datasets/reviews/instances/1").json()["text"] == "bad <b>film</b>"


def test_a_text_instance_outside_the_dataset_is_a_404(
    client: TestClient, texts: cl.DatasetInfo
) -> None:
    response = client.get("/api/datasets/reviews/instances/3")
    assert response.status_code == 404 and "outside 0..2" in response.json()["detail"]


def test_the_schema_documents_both_instance_answers(client: TestClient) -> None:
    schema = client.app.openapi()
    content = schema["paths"]["/api/datasets/{key}/instances/{index}"]["get"]["responses"]["200"][
        "content"
    ]
    assert set(content) == {"image/png", "application/json"}
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/InstanceText"}
    text = schema["components"]["schemas"]["InstanceText"]
    assert set(text["required"]) == {"dataset", "instance", "text"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/models/no-such-model", 404),
        ("/api/datasets/images/instances/99", 404),
        ("/api/datasets/images/instances/-1", 422),
        ("/api/datasets/nope/instances/0", 404),
    ],
)
def test_bad_requests_get_a_clear_4xx(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["detail"]


def test_the_page_is_served(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and "compresslens" in response.text


def test_every_route_module_is_mounted_without_a_central_list(client: TestClient) -> None:
    paths = set(client.app.openapi()["paths"])
    for expected in ("/api/models", "/api/pies", "/api/layers", "/api/geometry", "/api/jobs"):
        assert expected in paths
    assert "/api/models/{key}/outputs" in paths
