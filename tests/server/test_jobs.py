"""Long analyses as background jobs: POST starts, GET reads 202 with growing progress then 200,
errors once, shared; a bounded queue; cancelling.

The runner is tested directly with computations gated by events (deterministic), then through
the HTTP endpoints that use it, with the single worker held busy so a started job must wait.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from job_helpers import TIMEOUT_S, not_stored, wait_until

import compresslens as cl
from compresslens.errors import CompressLensError, NotComputedError
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app
from compresslens.server.jobs import JobRunner, JobSpec, Report
from compresslens.workspace import sensitivity


def _spec(params: dict[str, Any], compute: Callable[[Report], Any], **kw: Any) -> JobSpec:
    return JobSpec("kind", params, not_stored, compute, **kw)


def _final(ask: Callable[[], Any]) -> Any:
    """Ask until the answer is not a 202 (bounded)."""
    deadline = time.monotonic() + TIMEOUT_S
    while isinstance(answer := ask(), JSONResponse):
        assert answer.status_code == 202
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.01)
    return answer


def _body(answer: Any) -> dict[str, Any]:
    assert isinstance(answer, JSONResponse) and answer.status_code == 202
    return json.loads(bytes(answer.body))


class Steps:
    """A computation that reports step i of n and then waits until the test lets it go on."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0
        self.go = [threading.Event() for _ in range(n)]
        self.reached = [threading.Event() for _ in range(n)]

    def __call__(self, report: Report) -> str:
        self.calls += 1
        for i in range(self.n):
            report(i, self.n)
            self.reached[i].set()
            assert self.go[i].wait(TIMEOUT_S)
        report(self.n, self.n)
        return "result"


def test_a_job_answers_202_with_growing_progress_then_the_result() -> None:
    runner, steps = JobRunner(), Steps(3)
    spec = _spec({"a": 1}, steps, message="working")
    ask = lambda: runner.lookup(spec)  # noqa: E731
    assert _body(runner.start(spec))["progress"]["message"] == "working"
    seen = []
    for i in range(3):
        assert steps.reached[i].wait(TIMEOUT_S)
        body = _body(ask())
        assert body["status"] == "running" and body["progress"]["message"] == "working"
        seen.append(body["progress"]["done"])
        assert body["progress"]["total"] == 3
        steps.go[i].set()
    assert seen == [0, 1, 2]
    assert _final(ask) == "result"
    assert steps.calls == 1


def test_a_stored_result_answers_at_once_without_a_job() -> None:
    runner = JobRunner()
    spec = JobSpec("kind", {}, lambda: {"stored": True}, lambda report: pytest.fail())
    assert runner.lookup(spec) == runner.start(spec) == {"stored": True}
    assert runner.jobs() == []


def test_a_lookup_never_starts_a_job_and_says_to_post() -> None:
    runner = JobRunner()
    answer = runner.lookup(_spec({}, lambda report: pytest.fail()))
    assert answer.status_code == 409
    body = json.loads(bytes(answer.body))
    assert body["code"] == "not_computed" and "POST" in body["detail"]
    assert runner.jobs() == []


def test_a_failed_job_answers_its_error_once_and_a_new_ask_starts_again() -> None:
    runner, calls = JobRunner(), []

    def fail(report: Report) -> None:
        calls.append(1)
        raise CompressLensError("no layers match")

    spec = _spec({}, fail)
    assert runner.start(spec).status_code == 202
    wait_until(lambda: runner.jobs()[0]["state"] == "failed")
    with pytest.raises(CompressLensError, match="no layers match"):
        runner.lookup(spec)
    assert runner.jobs() == []  # forgotten: not stuck
    assert runner.lookup(spec).status_code == 409
    assert runner.start(spec).status_code == 202  # starts afresh
    wait_until(lambda: len(calls) == 2)


def test_the_same_analysis_asked_twice_shares_one_job_and_others_wait_in_line() -> None:
    runner, first, second = JobRunner(), Steps(1), Steps(1)
    one = _body(runner.start(_spec({"x": 1}, first)))
    again = _body(runner.start(_spec({"x": 1}, second)))
    other = _body(runner.start(_spec({"x": 2}, second)))
    assert one["job"] == again["job"] != other["job"]
    assert first.reached[0].wait(TIMEOUT_S)
    assert [(j["state"], j["position"]) for j in runner.jobs()] == [("running", 0), ("queued", 1)]
    assert "waiting for 1 other" in other["progress"]["message"]
    first.go[0].set()
    second.go[0].set()
    assert _final(lambda: runner.lookup(_spec({"x": 2}, second))) == "result"
    assert first.calls == 1 and second.calls == 1


# ---------------------------------------------------------------- through the HTTP endpoints


@contextmanager
def worker_busy(client: TestClient) -> Iterator[None]:
    """Hold the app's single worker with a gated job, so the next GETs must answer 202."""
    runner: JobRunner = client.app.state.jobs
    gate = Steps(1)
    runner.start(JobSpec("hold", {"gate": id(gate)}, not_stored, gate))
    assert gate.reached[0].wait(TIMEOUT_S)
    try:
        yield
    finally:
        gate.go[0].set()


def _poll(client: TestClient, url: str) -> tuple[Any, list[dict[str, Any]]]:
    """GET until the answer is not 202; the final response and every 202 body on the way."""
    bodies, deadline = [], time.monotonic() + TIMEOUT_S
    while (response := client.get(url)).status_code == 202:
        bodies.append(response.json())
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.01)
    return response, bodies


@pytest.fixture
def app_client(digits_workspace: cl.Workspace) -> TestClient:
    app = create_app(digits_workspace)
    app.state.jobs = JobRunner()
    return TestClient(app)


SENSITIVITY = '/api/sensitivity?model=mlp&dataset=digits&params={"amount":0.9}&limit=300'


def test_sensitivity_answers_202_then_the_python_result_then_from_the_store(
    app_client: TestClient, digits_workspace: cl.Workspace
) -> None:
    assert app_client.get(SENSITIVITY).status_code == 409  # a GET starts nothing
    with worker_busy(app_client):
        first = app_client.post(SENSITIVITY)
        again = app_client.get(SENSITIVITY)
        assert first.status_code == again.status_code == 202
        assert first.json()["job"] == again.json()["job"]  # one job for duplicate GETs
        listed = app_client.get("/api/jobs").json()["jobs"]
        assert [j["kind"] for j in listed] == ["hold", "sensitivity"]
    response, bodies = _poll(app_client, SENSITIVITY)
    assert response.status_code == 200
    done = [b["progress"]["done"] for b in bodies]
    assert done == sorted(done)  # progress never goes back
    direct = digits_workspace.sensitivity("mlp", "digits", amount=0.9, limit=300)
    assert response.json() == jsonable(direct)
    assert [row["layer"] for row in response.json()["ranking"]]
    # a new app (a restart) answers from the workspace at once
    fresh = TestClient(create_app(digits_workspace)).get(SENSITIVITY)
    assert fresh.status_code == 200 and fresh.json() == response.json()


def test_a_failing_sensitivity_job_answers_400_once(
    app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise CompressLensError("the layer sweep broke")

    monkeypatch.setattr(sensitivity, "measure_sweep", broken)
    url = '/api/sensitivity?model=mlp&dataset=digits&params={"amount":0.5}&limit=50'
    with worker_busy(app_client):
        assert app_client.post(url).status_code == 202
    response, _ = _poll(app_client, url)
    assert response.status_code == 400
    assert response.json()["detail"] == "the layer sweep broke"
    assert "sensitivity" not in [j["kind"] for j in app_client.get("/api/jobs").json()["jobs"]]
    with worker_busy(app_client):  # asked again: a new job, not a stuck error
        assert app_client.post(url).status_code == 202


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("model=ghost&dataset=digits", 404),
        ("model=mlp&dataset=ghost", 404),
        ("model=mlp&dataset=digits&operation=quantize.static_int8", 400),
        ("model=mlp&dataset=digits&operation=nope", 400),
        ("model=mlp&dataset=digits&params=[1]", 422),
        ("model=mlp&dataset=digits&params={bad", 422),
        ('model=mlp&dataset=digits&params={"limit":3}', 422),
        ('model=mlp&dataset=digits&params={"amount":7}', 400),
        ("model=mlp&dataset=digits&limit=0", 422),
        ("model=mlp&dataset=digits&max_drop=-1", 422),
        ("model=mlp&dataset=digits&keep_share=2", 422),
        ("dataset=digits", 422),
    ],
)
def test_bad_sensitivity_requests_get_a_clear_4xx(
    app_client: TestClient, query: str, status: int
) -> None:
    for response in (
        app_client.get(f"/api/sensitivity?{query}"),
        app_client.post(f"/api/sensitivity?{query}"),
    ):
        assert response.status_code == status
        assert response.json()["detail"]


def test_sensitivity_is_stored_and_reports_one_step_per_evaluation(
    digits_workspace: cl.Workspace,
) -> None:
    ws, steps = digits_workspace, []
    with pytest.raises(NotComputedError):
        ws.sensitivity("mlp", "digits", amount=0.9, limit=200, cached_only=True)
    first = ws.sensitivity(
        "mlp", "digits", amount=0.9, limit=200, progress=lambda d, t: steps.append((d, t))
    )
    assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]  # the total first, the model, its 2 layers
    steps.clear()
    again = ws.sensitivity(
        "mlp", "digits", amount=0.9, limit=200, max_drop=0.5, progress=lambda d, t: steps.append(1)
    )
    assert steps == [] and again["ranking"] == first["ranking"]  # read back, not re-run
    assert again["exclude"] == [r["layer"] for r in first["ranking"] if r["drop"] > 0.5]
    assert ws.sensitivity("mlp", "digits", amount=0.9, limit=200, cached_only=True) == first
