"""Selection details over HTTP: /api/differences is ws.differences."""

from __future__ import annotations

from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.server.app import create_app


def test_differences_answer_what_python_answers(prunings: cl.Workspace) -> None:
    client = TestClient(create_app(prunings))
    body = client.get("/api/differences?models=p5,p8,p5-ft").json()
    assert body == prunings.differences("p5,p8,p5-ft")
    assert [v["label"] for v in body["variables"]] == ["operation sequence", "prune · amount"]


def test_differences_of_an_unknown_model_is_a_404(prunings: cl.Workspace) -> None:
    response = TestClient(create_app(prunings)).get("/api/differences?models=p5,ghost")
    assert response.status_code == 404 and "ghost" in response.json()["detail"]


def test_behaviours_over_http_equal_ws_behaviours(prunings: cl.Workspace) -> None:
    body = TestClient(create_app(prunings)).get("/api/behaviours?base=base&models=p5,p8&n_boot=10")
    assert body.json() == prunings.behaviours("base", ["p5", "p8"], n_boot=10)
