"""Behaviour endpoints: the comparison, a page of instances, the agreement matrix."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app

Q = "base=mlp&model=mlp-70&dataset=digits"


@pytest.fixture
def client(pruned: cl.Workspace) -> TestClient:
    return TestClient(create_app(pruned))


def test_compare_gives_the_python_summary_classes_and_subgroups(
    client: TestClient, pruned: cl.Workspace
) -> None:
    body = client.get(f"/api/compare?{Q}&n_boot=50").json()
    comparison = pruned.compare("mlp", "mlp-70", "digits", n_boot=50)
    assert body["summary"] == jsonable(comparison.summary())
    assert body["per_class"] == jsonable(comparison.per_class())
    assert [row["value"] for row in body["per_subgroup"]["parity"]] == ["even", "odd"]


def test_instances_come_as_a_sorted_filtered_page(client: TestClient, pruned: cl.Workspace) -> None:
    body = client.get(
        f"/api/compare/instances?{Q}&flip=correct_to_incorrect&sort=kl&limit=5"
    ).json()
    table = pruned.compare("mlp", "mlp-70", "digits").instances()
    wanted = np.flatnonzero(table["flip"] == "correct_to_incorrect")
    assert body["total"] == len(wanted) > 5 and len(body["rows"]) == 5
    top = wanted[np.argsort(-table["kl"][wanted], kind="stable")][:5]
    assert [row["instance"] for row in body["rows"]] == top.tolist()
    assert {row["flip"] for row in body["rows"]} == {"correct_to_incorrect"}
    assert body["rows"][0]["kl"] == pytest.approx(float(table["kl"][top[0]]))


def test_instances_page_on_with_offset(client: TestClient) -> None:
    first = client.get(f"/api/compare/instances?{Q}&sort=instance&descending=false&limit=3")
    second = client.get(
        f"/api/compare/instances?{Q}&sort=instance&descending=false&offset=3&limit=3"
    )
    assert [r["instance"] for r in first.json()["rows"]] == [0, 1, 2]
    assert [r["instance"] for r in second.json()["rows"]] == [3, 4, 5]
    assert first.json()["total"] == 1797


def test_agreement_matches_the_python_matrix(client: TestClient, pruned: cl.Workspace) -> None:
    body = client.get("/api/agreement?models=mlp,mlp-70").json()
    assert body == jsonable(pruned.agreement("mlp,mlp-70"))
    assert body["matrix"][0][0] == 1.0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/compare?base=nope&model=mlp-70", 404),
        ("/api/compare?base=mlp", 422),
        (f"/api/compare?{Q}&n_boot=-1", 422),
        ("/api/compare?base=mlp&model=mlp-70&dataset=nope", 404),
        (f"/api/compare/instances?{Q}&limit=0", 422),
        (f"/api/compare/instances?{Q}&limit=100000", 422),
        (f"/api/compare/instances?{Q}&offset=-1", 422),
        (f"/api/compare/instances?{Q}&flip=sideways", 422),
        (f"/api/compare/instances?{Q}&sort=secret", 422),
        ("/api/agreement?models=tag:nothing", 404),
        ("/api/agreement?models=", 422),
    ],
)
def test_bad_behaviour_requests_get_a_clear_4xx(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["detail"]


def test_sorting_by_divergence_without_logits_is_a_400(digits_workspace: cl.Workspace) -> None:
    ws = digits_workspace
    ws.compress("mlp", "prune.magnitude", amount=0.5, name="half")
    for name in ("mlp", "half"):
        ws.evaluate(name, "digits", latency=False)
    client = TestClient(create_app(ws))
    response = client.get("/api/compare/instances?base=mlp&model=half&sort=kl")
    assert response.status_code == 400 and "logits" in response.json()["detail"]
