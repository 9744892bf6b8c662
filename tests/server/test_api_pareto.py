"""/api/pareto: the facade's frontier over HTTP, typed; bad objectives are clear 4xx."""

from __future__ import annotations

from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.server.app import create_app


def test_the_route_answers_the_workspaces_frontier(sized: cl.Workspace) -> None:
    client = TestClient(create_app(sized))
    params = {"objective": ["bytes", "nfr", "accuracy"]}
    answer = client.get("/api/pareto", params=params).json()
    assert answer == sized.pareto(["bytes", "nfr", "accuracy"])
    assert [r["name"] for r in answer["frontier"]] == ["p8", "p5", "p5-ft", "base"]


BAD = [  # objectives, dataset, the status each is answered with
    (["bytes", "accuracy:up"], None, 400),
    (["bytes", "no_such_metric"], None, 404),
    (["bytes", "accuracy"], "ghost", 404),
    (["bytes"], None, 422),
    (["bytes", "x" * 300], None, 400),
]


def test_a_bad_objective_or_dataset_is_a_clear_4xx(sized: cl.Workspace) -> None:
    client = TestClient(create_app(sized))  # one workspace for every case: each costs ms
    answered = []
    for objectives, dataset, _ in BAD:
        params: dict = {"objective": objectives}
        if dataset is not None:
            params["dataset"] = dataset
        answered.append(client.get("/api/pareto", params=params).status_code)
    assert answered == [status for _, _, status in BAD]
