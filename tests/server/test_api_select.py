"""Rules the front end asks the server for: selectors, shared datasets, the corruption list."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.server.app import create_app


@pytest.fixture
def two_datasets(workspace: cl.Workspace) -> cl.Workspace:
    """ "m1" evaluated on abc and xyz, "m2" (tagged keep) on abc only."""
    labels = np.array([0, 1, 0, 1])
    for name in ("abc", "xyz"):
        workspace.add_dataset(name, np.zeros((4, 2), np.float32), labels, class_names="ab")
    logits = np.eye(2, dtype=np.float32)[labels]
    workspace.log_model("m1", outputs={"abc": logits, "xyz": logits})
    workspace.log_model("m2", outputs={"abc": logits}, tags=["keep"])
    return workspace


def test_a_selector_answers_ids_and_the_datasets_all_are_evaluated_on(
    two_datasets: cl.Workspace,
) -> None:
    client = TestClient(create_app(two_datasets))
    ids = {m.name: m.id for m in two_datasets.models()}
    one = client.get("/api/select?selector=m1").json()
    assert one == {"selector": "m1", "ids": [ids["m1"]], "datasets": ["abc", "xyz"]}
    both = client.get("/api/select", params={"selector": "tag:keep,m1"}).json()
    assert both == {"selector": "tag:keep,m1", "ids": [ids["m2"], ids["m1"]], "datasets": ["abc"]}


@pytest.mark.parametrize(("selector", "status"), [("tag:nothing", 404), ("ghost", 404), ("", 422)])
def test_an_unknown_selector_is_a_clear_4xx(
    two_datasets: cl.Workspace, selector: str, status: int
) -> None:
    response = TestClient(create_app(two_datasets)).get(f"/api/select?selector={selector}")
    assert response.status_code == status and response.json()["detail"]


def test_the_corruptions_are_served_with_the_views_defaults(workspace: cl.Workspace) -> None:
    body = TestClient(create_app(workspace)).get("/api/robustness/corruptions").json()
    assert body["corruptions"][:3] == ["gaussian_noise", "shot_noise", "impulse_noise"]
    assert len(body["corruptions"]) == 9 and body["severities"] == [1, 2, 3, 4, 5]
    assert body["default_corruptions"] == ["gaussian_noise", "defocus_blur", "contrast"]
    assert body["default_severities"] == [1, 3, 5]
