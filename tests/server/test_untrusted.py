"""A served workspace whose database names untrusted code: 403 saying which model and how to
trust it; the code is never imported, never run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.server.app import create_app
from tampered import system_command_workspace


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    return tmp_path / "owned.txt"


@pytest.fixture
def client(pruned: cl.Workspace, sentinel: Path) -> TestClient:
    """ "mlp" and "mlp-70", both evaluated, then mlp's factory edited to os.system."""
    tampered = cl.Workspace(system_command_workspace(pruned, sentinel))
    yield TestClient(create_app(tampered))
    tampered.close()


def assert_refused(response: Any, sentinel: Path) -> None:
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert "the factory 'os:system' of model 'mlp' needs module 'os'" in detail
    assert "compresslens trust add os" in detail and "compresslens --trust os" in detail
    assert not sentinel.exists()


def test_layers_of_a_model_with_an_untrusted_factory_is_403(
    client: TestClient, sentinel: Path
) -> None:
    assert_refused(client.get("/api/layers?base=mlp&model=mlp-70&dataset=digits"), sentinel)


def test_a_job_that_needs_an_untrusted_factory_fails_with_403(
    client: TestClient, sentinel: Path
) -> None:
    url = "/api/layers/activations?base=mlp&model=mlp-70&dataset=digits&sample=8"
    deadline = time.monotonic() + 60
    response = client.post(url)  # long analyses start by POST; GET only reads
    while response.status_code == 202:
        response = client.get(url)
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)
    assert_refused(response, sentinel)


def test_records_still_list_without_importing_anything(client: TestClient, sentinel: Path) -> None:
    names = [model["name"] for model in client.get("/api/models").json()["models"]]
    assert names == ["mlp", "mlp-70"]
    assert client.get("/api/models/mlp").json()["model"]["factory"] == "os:system"
    assert not sentinel.exists()


def test_every_api_route_documents_the_403(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    undocumented = [
        path
        for path, operations in paths.items()
        for operation in operations.values()
        if "403" not in operation["responses"]
    ]
    assert paths and undocumented == []
