"""The job queue's limits: one job per parameters, a bounded queue (429), cancelling.

Computations are gated by events, so every state is reached deterministically.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from job_helpers import TIMEOUT_S, not_stored, wait_until

from compresslens.server.jobs import JobRunner, JobSpec, Report


def _body(answer: Any) -> dict[str, Any]:
    assert isinstance(answer, JSONResponse)
    return json.loads(bytes(answer.body))


class Gate:
    """A computation that reports 0 of n, waits for the test, then reports each step."""

    def __init__(self, n: int = 3) -> None:
        self.n, self.started, self.go = n, threading.Event(), threading.Event()
        self.steps_done: list[int] = []

    def __call__(self, report: Report) -> str:
        report(0, self.n)
        self.started.set()
        assert self.go.wait(TIMEOUT_S)
        for i in range(1, self.n + 1):
            report(i, self.n)
            self.steps_done.append(i)
        return "result"


def _spec(n: int, compute: Callable[[Report], Any]) -> JobSpec:
    return JobSpec("kind", {"n": n}, not_stored, compute)


def test_the_same_parameters_posted_200_times_make_one_job() -> None:
    runner, gate = JobRunner(max_active=2), Gate()
    ids = {_body(runner.start(_spec(1, gate)))["job"] for _ in range(200)}
    assert len(ids) == 1 and len(runner.jobs()) == 1
    gate.go.set()


def test_more_distinct_jobs_than_the_cap_get_429_with_retry_after() -> None:
    runner, gates = JobRunner(max_active=3), [Gate() for _ in range(5)]
    for i in range(3):
        assert runner.start(_spec(i, gates[i])).status_code == 202
    full = runner.start(_spec(3, gates[3]))
    assert full.status_code == 429
    assert int(full.headers["retry-after"]) > 0
    body = _body(full)
    assert body["code"] == "queue_full" and "at most 3" in body["detail"]
    assert len(runner.jobs()) == 3
    assert runner.start(_spec(0, gates[0])).status_code == 202  # joining one is no new job
    gates[0].go.set()  # one finishes: room for one more
    wait_until(lambda: runner.jobs()[0]["state"] == "done")
    assert runner.start(_spec(4, gates[4])).status_code == 202
    for gate in gates:
        gate.go.set()


def test_a_queued_job_cancelled_is_dropped_and_never_runs() -> None:
    runner, first, second = JobRunner(), Gate(), Gate()
    runner.start(_spec(1, first))
    queued = _body(runner.start(_spec(2, second)))["job"]
    assert first.started.wait(TIMEOUT_S)
    assert runner.cancel(queued)["state"] == "cancelled"
    assert [j["state"] for j in runner.jobs()] == ["running"]
    first.go.set()
    wait_until(lambda: runner.jobs()[0]["state"] == "done")
    assert not second.started.is_set()
    assert runner.cancel(queued) is None  # gone


def test_a_running_job_cancelled_stops_at_its_next_report() -> None:
    runner, gate = JobRunner(), Gate(n=5)
    job = _body(runner.start(_spec(1, gate)))["job"]
    assert gate.started.wait(TIMEOUT_S)
    assert runner.cancel(job)["state"] == "cancelling"
    assert [j["state"] for j in runner.jobs()] == ["cancelling"]
    gate.go.set()
    wait_until(lambda: runner.jobs() == [])
    assert gate.steps_done == []  # its first report after the cancel raised
    assert runner.lookup(_spec(1, gate)).status_code == 409  # nothing stored, nothing running


def test_a_running_job_lists_its_elapsed_time_and_an_estimate_once_it_progresses() -> None:
    runner, release = JobRunner(), threading.Event()
    halfway = threading.Event()

    def half(report: Report) -> str:
        report(0, 4)
        time.sleep(0.05)
        report(2, 4)
        halfway.set()
        assert release.wait(TIMEOUT_S)
        return "result"

    runner.start(_spec(1, half))
    assert halfway.wait(TIMEOUT_S)
    (row,) = runner.jobs()
    assert row["state"] == "running" and row["position"] == 0
    assert row["elapsed_s"] > 0 and row["estimate_s"] is not None and row["estimate_s"] > 0
    release.set()
