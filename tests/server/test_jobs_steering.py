"""Steering the job queue: the cheapest waiting job first, a long job stepping aside at its
progress reports for a much shorter one, what a waiting job's description says is ahead, and
cancelling that leaves nothing partial.

Computations are gated by events, so every state is reached deterministically.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
import torch
from fastapi.responses import JSONResponse
from job_helpers import TIMEOUT_S, not_stored, wait_until

import compresslens as cl
from compresslens.errors import NotComputedError
from compresslens.server.jobs import JobRunner, JobSpec, Report


def _body(answer: Any) -> dict[str, Any]:
    assert isinstance(answer, JSONResponse) and answer.status_code == 202
    return json.loads(bytes(answer.body))


class Long:
    """A job of `n` steps that waits at step `hold` until the test lets it go on."""

    def __init__(self, n: int, hold: int = 1) -> None:
        self.n, self.hold = n, hold
        self.held, self.go = threading.Event(), threading.Event()

    def __call__(self, report: Report) -> str:
        for step in range(self.n + 1):
            if step == self.hold:
                self.held.set()
                assert self.go.wait(TIMEOUT_S)
            report(step, self.n)
        return "long"


def _recorder(name: str, order: list[str]) -> Callable[[Report], str]:
    def compute(report: Report) -> str:
        report(0, 1)
        order.append(name)
        report(1, 1)
        return name

    return compute


def _spec(name: str, compute: Callable[[Report], Any], cost: int | None = None) -> JobSpec:
    return JobSpec("kind", {"name": name}, not_stored, compute, message=name, cost=cost)


def _states(runner: JobRunner) -> dict[str, str]:
    return {row["progress"]["message"]: row["state"] for row in runner.jobs()}


def test_the_cheapest_waiting_job_runs_first() -> None:
    runner, order, gate = JobRunner(), [], Long(n=1, hold=1)
    runner.start(_spec("holder", gate))
    assert gate.held.wait(TIMEOUT_S)
    runner.start(_spec("costly", _recorder("costly", order), cost=50))
    runner.start(_spec("cheap", _recorder("cheap", order), cost=2))
    gate.go.set()
    wait_until(lambda: len(order) == 2)
    assert order == ["cheap", "costly"]


def test_a_long_job_steps_aside_at_its_next_report_for_a_much_shorter_one() -> None:
    runner, order, long = JobRunner(), [], Long(n=100, hold=1)
    runner.start(_spec("long", long))
    assert long.held.wait(TIMEOUT_S)  # reported 0 of 100, now inside its first step
    waiting = _body(runner.start(_spec("short", _recorder("short", order), cost=3)))
    assert waiting["state"] == "queued" and waiting["position"] == 1
    (ahead,) = waiting["ahead"]
    assert (ahead["message"], ahead["state"], ahead["until"]) == ("long", "running", "next_step")
    long.hold = 2  # hold again inside its second step, with the short job done in between
    long.held.clear()
    released, long.go = long.go, threading.Event()
    released.set()
    assert long.held.wait(TIMEOUT_S)
    assert order == ["short"]
    assert _states(runner) == {"long": "running", "short": "done"}  # finished first
    long.go.set()
    wait_until(lambda: _states(runner)["long"] == "done")


def test_a_job_no_much_shorter_than_the_running_one_waits_for_it_to_finish() -> None:
    runner, order, long = JobRunner(), [], Long(n=8, hold=1)
    runner.start(_spec("long", long))
    assert long.held.wait(TIMEOUT_S)
    waiting = _body(runner.start(_spec("middling", _recorder("middling", order), cost=4)))
    assert [a["until"] for a in waiting["ahead"]] == ["done"]
    long.go.set()
    wait_until(lambda: order == ["middling"])
    assert _states(runner) == {"long": "done", "middling": "done"}


def test_a_job_run_in_between_leaves_the_long_jobs_random_numbers_as_they_were() -> None:
    def draws(report: Report | None) -> list[float]:
        torch.manual_seed(7)
        out = []
        for step in range(8):
            out.append(float(torch.rand(1)))
            if report is not None:
                report(step, 8)
        return out

    def noisy(report: Report) -> str:
        report(0, 1)
        torch.manual_seed(123)
        torch.rand(100)
        return "noisy"

    runner, started = JobRunner(), threading.Event()
    go = threading.Event()

    def long(report: Report) -> list[float]:
        def held(done: int, total: int) -> None:
            if done == 1:
                started.set()
                assert go.wait(TIMEOUT_S)
            report(done, total)

        return draws(held)

    spec = JobSpec("kind", {"long": 1}, not_stored, long, message="long")
    runner.start(spec)
    assert started.wait(TIMEOUT_S)
    runner.start(_spec("noisy", noisy, cost=1))
    go.set()
    wait_until(lambda: _states(runner).get("noisy") == "done")
    wait_until(lambda: _states(runner).get("long") == "done")
    assert runner.lookup(spec) == draws(None)


def test_a_running_job_lists_the_shorter_job_running_in_its_place() -> None:
    runner, long = JobRunner(), Long(n=100, hold=1)
    short = Long(n=1, hold=1)
    runner.start(_spec("long", long))
    assert long.held.wait(TIMEOUT_S)
    runner.start(_spec("short", short, cost=1))
    long.go.set()
    assert short.held.wait(TIMEOUT_S)
    rows = {row["progress"]["message"]: row for row in runner.jobs()}
    assert [a["message"] for a in rows["long"]["ahead"]] == ["short"]
    assert rows["short"]["ahead"] == [] and rows["short"]["state"] == "running"
    short.go.set()
    wait_until(lambda: _states(runner) == {"long": "done", "short": "done"})


def test_a_queued_job_cancelled_never_runs_even_where_it_would_step_in() -> None:
    runner, order, long = JobRunner(), [], Long(n=100, hold=1)
    runner.start(_spec("long", long))
    assert long.held.wait(TIMEOUT_S)
    short = _body(runner.start(_spec("short", _recorder("short", order), cost=1)))
    assert runner.cancel(short["job"])["state"] == "cancelled"
    long.go.set()
    wait_until(lambda: _states(runner) == {"long": "done"})
    assert order == []


def test_cancelling_a_running_analysis_stores_nothing_and_a_new_post_starts_afresh(
    digits_workspace: cl.Workspace,
) -> None:
    ws, runner = digits_workspace, JobRunner()
    reached, go, seen = threading.Event(), threading.Event(), []

    def compute(report: Report) -> Any:
        def held(done: int, total: int) -> None:
            seen.append((done, total))
            if done == 1:
                reached.set()
                assert go.wait(TIMEOUT_S)
            report(done, total)

        return ws.sensitivity("mlp", "digits", amount=0.9, limit=50, progress=held)

    def stored() -> Any:
        return ws.sensitivity("mlp", "digits", amount=0.9, limit=50, cached_only=True)

    spec = JobSpec("sensitivity", {"limit": 50}, stored, compute)
    first = _body(runner.start(spec))["job"]
    assert reached.wait(TIMEOUT_S)
    assert runner.cancel(first)["state"] == "cancelling"
    go.set()
    wait_until(lambda: runner.jobs() == [])
    with pytest.raises(NotComputedError):
        stored()
    seen.clear()
    again = _body(runner.start(spec))
    assert again["job"] != first
    wait_until(lambda: runner.jobs()[0]["state"] == "done")
    assert seen[0] == (0, 3)  # from the start again: the total first
    assert runner.lookup(spec)["ranking"] == stored()["ranking"]


def test_activations_report_a_total_of_three_from_the_start(pruned: cl.Workspace) -> None:
    steps: list[tuple[int, int]] = []
    pruned.activations("mlp", "mlp-70", sample=16, progress=lambda d, t: steps.append((d, t)))
    assert steps == [(0, 3), (1, 3), (2, 3)]  # before the base runs, after it, after the model
