"""The robustness endpoint: POST starts the sweep, GET answers 202 with progress while it runs,
then the Python table; one job per parameters; cancelling stores only whole models."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.errors import NotComputedError
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app
from compresslens.server.jobs import JobSpec
from compresslens.workspace import robustness as robustness_family

URL = "/api/robustness?models=cnn,cnn-50&dataset=imgs&corruptions=contrast&severities=1,5"


@pytest.fixture
def cnns(workspace: cl.Workspace) -> cl.Workspace:
    from compresslens.models.zoo import lean_cnn

    torch.manual_seed(0)
    workspace.add_dataset("imgs", torch.rand(24, 1, 28, 28), torch.arange(24) % 10, num_classes=10)
    workspace.add_model(
        lean_cnn(), name="cnn", factory="compresslens.models.zoo:lean_cnn", input_shape=[1, 28, 28]
    )
    workspace.compress("cnn", "prune.magnitude", amount=0.5, name="cnn-50")
    workspace.add_dataset("table", torch.rand(8, 5), torch.arange(8) % 2)
    return workspace


def _poll(client: TestClient, url: str) -> tuple[Any, list[dict[str, Any]]]:
    """GET until the answer is not 202 (bounded); the response and the 202 bodies seen."""
    bodies, deadline = [], time.monotonic() + 60
    while (response := client.get(url)).status_code == 202:
        bodies.append(response.json())
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.01)
    return response, bodies


def test_robustness_computes_in_a_job_then_matches_the_python_table(cnns: cl.Workspace) -> None:
    client = TestClient(create_app(cnns))
    peek = client.get(f"{URL}&peek=true")
    assert peek.status_code == 200
    assert peek.json()["computed"] is False and peek.json()["rows"] is None
    assert client.get("/api/jobs").json()["jobs"] == []  # a peek starts nothing
    refused = client.get(URL)
    assert refused.status_code == 409 and refused.json()["code"] == "not_computed"
    assert client.get("/api/jobs").json()["jobs"] == []  # nor does a plain GET
    first = client.post(URL)
    assert first.status_code == 202  # nothing stored yet: a job starts
    assert first.json()["status"] == "running"
    assert first.json()["progress"]["total"] == 2 * (1 + 2)  # models × conditions
    response, bodies = _poll(client, URL)
    assert response.status_code == 200
    for body in bodies:
        assert body["job"] == first.json()["job"]
    body = response.json()
    direct = cnns.robustness(
        "cnn,cnn-50", "imgs", corruptions=["contrast"], severities=[1, 5], limit=500
    )
    assert body["rows"] == jsonable(direct)
    assert len(body["rows"]) == 2 * (1 + 2) and body["severities"] == [1, 5]
    # stored as metrics: a new app answers 200 at once
    again = TestClient(create_app(cnns)).get(URL)
    assert again.status_code == 200 and again.json() == body
    assert client.get(f"{URL}&peek=true").json() == body == {**body, "computed": True}


def test_robustness_reports_progress_per_model_and_condition(cnns: cl.Workspace) -> None:
    seen: list[tuple[int, int]] = []
    cnns.robustness(
        "cnn,cnn-50",
        "imgs",
        corruptions=["contrast", "pixelate"],
        severities=[1],
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (6, 6) and seen == sorted(seen)
    assert {done for done, _ in seen} == set(range(1, 7))  # one step per (model, condition)
    seen.clear()
    cnns.robustness(
        "cnn,cnn-50",
        "imgs",
        corruptions=["contrast"],
        severities=[1],
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(2, 4), (4, 4)]  # stored: one step per model
    with pytest.raises(cl.CompressLensError, match="not stored"):
        cnns.robustness("cnn", "imgs", corruptions=["jpeg"], severities=[1], cached_only=True)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("models=cnn&dataset=table&corruptions=contrast&severities=1", 400),
        ("models=ghost&dataset=imgs&corruptions=contrast&severities=1", 404),
        ("models=cnn&dataset=ghost&corruptions=contrast&severities=1", 404),
        ("models=cnn&dataset=imgs&base=ghost&corruptions=contrast&severities=1", 404),
        ("models=cnn&dataset=imgs&corruptions=fog&severities=1", 422),
        ("models=cnn&dataset=imgs&corruptions=,&severities=1", 422),
        ("models=cnn&dataset=imgs&corruptions=contrast&severities=9", 422),
        ("models=cnn&dataset=imgs&corruptions=contrast&severities=x", 422),
        ("models=cnn&dataset=imgs&limit=0", 422),
        ("models=cnn&dataset=imgs&limit=1000000", 422),
        ("dataset=imgs", 422),
    ],
)
def test_bad_robustness_requests_get_a_clear_4xx(
    cnns: cl.Workspace, query: str, status: int
) -> None:
    client = TestClient(create_app(cnns))
    for response in (
        client.get(f"/api/robustness?{query}"),
        client.post(f"/api/robustness?{query}"),
    ):
        assert response.status_code == status
        assert response.json()["detail"]
    assert client.get("/api/jobs").json()["jobs"] == []


def test_too_many_models_get_a_clear_422(
    cnns: cl.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compresslens.server.routes import robustness

    monkeypatch.setattr(robustness, "MAX_MODELS", 1)
    response = TestClient(create_app(cnns)).get("/api/robustness?models=cnn,cnn-50&dataset=imgs")
    assert response.status_code == 422 and "at most 1" in response.json()["detail"]


def test_200_posts_of_the_same_sweep_make_one_job(cnns: cl.Workspace) -> None:
    client = TestClient(create_app(cnns))
    jobs = client.app.state.jobs
    hold = threading.Event()
    jobs.start(JobSpec("hold", {}, _not_stored, lambda report: hold.wait(60)))
    try:
        answers = [client.post(URL) for _ in range(200)]
        assert {a.status_code for a in answers} == {202}
        assert len({a.json()["job"] for a in answers}) == 1
        listed = client.get("/api/jobs").json()["jobs"]
        assert [j["kind"] for j in listed] == ["hold", "robustness"]
        assert listed[1]["position"] == 1 and listed[1]["state"] == "queued"
    finally:
        hold.set()
    response, _ = _poll(client, URL)
    assert response.status_code == 200


def test_more_distinct_sweeps_than_the_cap_get_429(cnns: cl.Workspace) -> None:
    client = TestClient(create_app(cnns, max_jobs=2))
    hold = threading.Event()
    client.app.state.jobs.start(JobSpec("hold", {}, _not_stored, lambda report: hold.wait(60)))
    try:
        assert client.post(f"{URL}&limit=10").status_code == 202
        full = client.post(f"{URL}&limit=11")
        assert full.status_code == 429 and full.json()["code"] == "queue_full"
        assert "at most 2" in full.json()["detail"] and full.headers["retry-after"]
        assert client.get(f"{URL}&limit=11").status_code == 409  # it was not queued
    finally:
        hold.set()


def test_a_cancelled_sweep_is_gone_and_stores_only_whole_models(
    cnns: cl.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    measure, first_stored, release = (
        robustness_family._measure,
        threading.Event(),
        threading.Event(),
    )

    def measure_then_wait(*args: Any, **kwargs: Any) -> dict[str, float]:
        values = measure(*args, **kwargs)  # one model's conditions, stored in one write
        first_stored.set()
        assert release.wait(60)
        return values

    monkeypatch.setattr(robustness_family, "_measure", measure_then_wait)
    client = TestClient(create_app(cnns))
    job = client.post(URL).json()["job"]
    assert first_stored.wait(60)
    cancelled = client.delete(f"/api/jobs/{job}")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelling"
    release.set()
    _until(lambda: client.get("/api/jobs").json()["jobs"] == [])
    assert client.delete(f"/api/jobs/{job}").status_code == 404
    assert client.get(URL).status_code == 409  # not computed: the sweep stopped

    def robust_keys(model: str) -> set[str]:
        metrics = cnns.model(model).metrics.get("imgs", {})
        return {k for k in metrics if k.startswith("robust:")}

    stored = [robust_keys(model) for model in ("cnn", "cnn-50")]
    assert sorted(len(keys) for keys in stored) == [0, 3]  # one whole model, one untouched


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _not_stored() -> Any:
    raise NotComputedError("not stored yet")
