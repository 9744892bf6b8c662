"""Long analyses in the background: POST starts a job, GET reads its result or progress.

The protocol (frontend/src/lib/api.ts), for one path and one set of parameters:
- GET never starts work: 200 with the stored result; 202 with the job's progress
  `{"status": "running", "job": ID, "progress": {...}, ...}` while one runs for exactly these
  parameters; otherwise 409 `{"code": "not_computed", "detail": ...}` (POST to start).
- POST answers 200 with the stored result, or starts a job (or joins the one already under
  way for the same parameters: one job id) and answers 202. With `max_active` jobs queued or
  running, a new one is refused with 429 and a Retry-After header.
- A finished job is delivered once by the next GET or POST: its result (200), or its error
  (a CompressLensError becomes a 4xx through the app's handlers); a failed job is then
  forgotten, so asking again starts afresh instead of being stuck.
- DELETE /api/jobs/{id} cancels: a queued job is dropped, a running one stops at its next
  progress report (the report raises JobCancelled). Analyses store whole results only, so a
  cancelled job leaves what it had finished and nothing partial.

Results are stored by the analysis itself (workspace metrics or analysis results), so a stored
answer is read in the request at once, even after a restart. One worker thread runs the jobs,
one at a time: torch already uses every core for one model. The worker is a daemon, so
stopping the server does not wait for a long sweep (its stored part is kept).

Which job runs when (a 3-second sensitivity once waited minutes behind a robustness sweep):
each job has an expected cost, in steps (about one pass of one model over the data; by default
its progress total). The worker takes the cheapest waiting job first, and a running job steps
aside at each progress report for a waiting one that costs at most a quarter of its own
remaining steps (much shorter: worth a second model in memory for a while):
the short job runs to its end right there in the worker thread, then the long one resumes. A
progress report comes between whole steps, so torch still computes one model at a time and
nothing half-stored is seen; only a job that is not itself stepped into steps aside (at most
two jobs on the stack). A job's description lists what runs before it (`ahead`), with the
seconds until each is out of its way.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from compresslens.errors import NotComputedError
from compresslens.ids import content_id

Report = Callable[[int, int], None]
FINISHED_KEPT_S = 600.0  # a finished job nobody asked for again is dropped after this long
MAX_ACTIVE_JOBS = 8  # queued + running; beyond it POST answers 429
RETRY_AFTER_S = 10
NOT_COMPUTED = "not_computed"
STEP_ASIDE_RATIO = 4  # a running job steps aside for a job at most 1/4 of its remaining steps
_ids = itertools.count(1)
_runner_lock = threading.Lock()


class JobCancelled(Exception):
    """Raised by a cancelled job's progress report, so the analysis stops where it stands."""


@dataclass(frozen=True)
class JobSpec:
    """One long analysis as a route describes it: its key, how to read it, how to compute it.

    `stored()` reads a stored result in the request (raising NotComputedError when there is
    none); `compute(report)` computes and stores it in the worker; `total` is the progress
    total shown until the analysis reports its own; `cost` the expected work in steps (about
    one pass of one model over the data), which orders the queue: `total` when not given.
    """

    kind: str
    params: Mapping[str, Any]
    stored: Callable[[], Any]
    compute: Callable[[Report], Any]
    message: str = ""
    total: int = 0
    cost: int | None = None

    @property
    def key(self) -> str:
        return content_id(self.kind, dict(self.params), length=32)


@dataclass
class Job:
    """One analysis run: what it is, how far it got, and how it ended."""

    key: str
    kind: str
    params: dict[str, Any]
    compute: Callable[[Report], Any]
    id: str = field(default_factory=lambda: f"job-{next(_ids)}")
    message: str = ""
    done: int = 0
    total: int = 0
    cost: int = 1
    state: str = "queued"  # queued → running → done | failed; cancelling until it stops
    started: float = field(default_factory=time.time)
    running_since: float | None = None
    stepped_aside_s: float = 0.0  # time spent running shorter jobs at its progress reports
    inside: Job | None = None  # the job that stepped aside for this one, while it runs
    finished: float | None = None
    result: Any = None
    error: BaseException | None = None
    cancel_requested: bool = False
    on_step: Callable[[Job], None] | None = None  # the runner's step-aside, after each report

    def report(self, done: int, total: int) -> None:
        """The progress callback handed to the analysis (called from the worker thread)."""
        if self.cancel_requested:
            raise JobCancelled(self.id)
        self.done, self.total = done, total
        if self.on_step is not None:
            self.on_step(self)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running", "cancelling")

    @property
    def remaining(self) -> int:
        """Steps left: by its progress once it reports a total, else its expected cost."""
        return self.total - self.done if self.total else self.cost

    def _spent_s(self) -> float | None:
        if self.running_since is None:
            return None
        return time.time() - self.running_since - self.stepped_aside_s

    def estimate_s(self) -> float | None:
        """Seconds left at the pace so far, once the analysis has reported some progress."""
        spent = self._spent_s()
        if self.state != "running" or spent is None or not 0 < self.done < self.total:
            return None
        return round(spent * (self.total - self.done) / self.done, 1)

    def step_s(self) -> float | None:
        """Seconds one step takes at the pace so far (until its next progress report)."""
        spent = self._spent_s()
        if self.state != "running" or spent is None or self.done <= 0:
            return None
        return round(spent / self.done, 1)

    def describe(self, ahead: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The job as JSON: the 202 body, and one row of GET /api/jobs. `ahead`: the jobs
        that run before it (`JobRunner._ahead`)."""
        ahead = ahead or []
        message = self.message
        if self.state == "queued" and ahead:
            message = f"{message} (waiting for {len(ahead)} other analysis job(s))"
        return {
            "status": "running" if self.active else self.state,
            "job": self.id,
            "kind": self.kind,
            "params": self.params,
            "state": self.state,
            "position": len(ahead),
            "ahead": ahead,
            "cost": self.cost,
            "elapsed_s": round((self.finished or time.time()) - self.started, 3),
            "estimate_s": self.estimate_s(),
            "progress": {"done": self.done, "total": self.total, "message": message},
        }


def _in_the_way(job: Job, until: str, seconds: float | None) -> dict[str, Any]:
    """One row of a description's `ahead`: a job, and how long until it is out of the way
    (`until` its next step, when the waiting job runs at its next report, or it is done)."""
    return {
        "job": job.id,
        "kind": job.kind,
        "message": job.message,
        "state": job.state,
        "until": until,
        "estimate_s": seconds,
    }


class JobRunner:
    """Jobs keyed by (analysis, parameters), run one at a time by a daemon worker thread,
    cheapest first; a running job steps aside at its progress reports for a cheaper one."""

    def __init__(self, max_active: int = MAX_ACTIVE_JOBS) -> None:
        self.max_active = max_active
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._waiting = threading.Condition(self._lock)  # notified when a job is queued
        self._queue: list[Job] = []
        self._worker: threading.Thread | None = None

    def lookup(self, spec: JobSpec) -> Any:
        """GET: the stored or just-finished result, a 202 while a job runs, else a 409."""
        delivered, job = self._deliver(spec.key)
        if job is not None:
            return delivered if not job.active else self._running(job)
        try:
            return spec.stored()
        except NotComputedError as exc:
            return not_computed(str(exc))

    def start(self, spec: JobSpec) -> Any:
        """POST: the stored or just-finished result, else the (new or existing) job's 202."""
        delivered, job = self._deliver(spec.key)
        if job is not None:
            return delivered if not job.active else self._running(job)
        try:
            return spec.stored()
        except NotComputedError:
            pass
        with self._lock:
            self._forget_old()
            job = self._jobs.get(spec.key)  # another request may have started it meanwhile
            if job is None:
                active = sum(1 for j in self._jobs.values() if j.active)
                if active >= self.max_active:
                    return _queue_full(active, self.max_active)
                job = Job(
                    spec.key,
                    spec.kind,
                    dict(spec.params),
                    spec.compute,
                    message=spec.message,
                    total=spec.total,
                    cost=max(1, spec.cost if spec.cost is not None else spec.total),
                )
                job.on_step = self._step_aside
                self._jobs[spec.key] = job
                self._queue.append(job)
                self._waiting.notify()
                self._ensure_worker()
        return self._running(job)

    def jobs(self) -> list[dict[str, Any]]:
        """Every job not yet delivered, oldest first, with what runs before it."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.started)
            return [job.describe(self._ahead(job)) for job in jobs]

    def cancel(self, job_id: str) -> dict[str, Any] | None:
        """Cancel job `job_id` (None when unknown): a queued or finished job is dropped at
        once, a running one is marked and stops at its next progress report."""
        with self._lock:
            job = next((j for j in self._jobs.values() if j.id == job_id), None)
            if job is None:
                return None
            job.cancel_requested = True
            if job.state == "running":
                job.state = "cancelling"
            elif job.state != "cancelling":
                job.state = "cancelled"
                del self._jobs[job.key]
                if job in self._queue:
                    self._queue.remove(job)
            return job.describe()

    def _deliver(self, key: str) -> tuple[Any, Job | None]:
        """A finished job's result (forgetting it) or its error (raised); (None, job) while it
        is active; (None, None) when there is no job."""
        with self._lock:
            job = self._jobs.get(key)
            if job is None or job.active:
                return None, job
            del self._jobs[key]  # delivered once: the stored result answers from now on
        if job.error is not None:
            raise job.error
        return job.result, job

    def _ahead(self, job: Job) -> list[dict[str, Any]]:
        """The jobs that run before `job` (lock held): for a queued one, the running job
        (until its next step when it will step aside for it) and the cheaper queued ones;
        for a running one that stepped aside, the job running in its place."""
        if job.state != "queued":
            return [_in_the_way(j, "done", j.estimate_s()) for j in self._running_inside(job)]
        rows = []
        for running in self._running_jobs():
            if running.inside is None and _steps_aside_for(running, job):
                if self._running_inside(running):
                    continue  # paused at a report: this job runs right after the one inside
                rows.append(_in_the_way(running, "next_step", running.step_s()))
            else:
                rows.append(_in_the_way(running, "done", running.estimate_s()))
        order = _order(job)
        rows += [_in_the_way(j, "done", None) for j in self._queue if _order(j) < order]
        return rows

    def _running_jobs(self) -> list[Job]:
        """The job computing now, then the one that stepped aside for it (if any)."""
        running = [j for j in self._jobs.values() if j.state in ("running", "cancelling")]
        return sorted(running, key=lambda j: j.inside is None)

    def _running_inside(self, job: Job) -> list[Job]:
        return [j for j in self._jobs.values() if j.inside is job and j.active]

    def _running(self, job: Job) -> JSONResponse:
        with self._lock:
            ahead = self._ahead(job)
        return JSONResponse(status_code=202, content=job.describe(ahead))

    def _forget_old(self) -> None:
        now = time.time()
        for key, job in list(self._jobs.items()):
            if job.finished is not None and now - job.finished > FINISHED_KEPT_S:
                del self._jobs[key]

    def _ensure_worker(self) -> None:
        """Start the worker thread on the first job (an app that never runs one has none)."""
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._work, name="compresslens-jobs", daemon=True
            )
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._waiting:
                while not self._queue:
                    self._waiting.wait()
                job = self._take(min(self._queue, key=_order))
            self._run(job)

    def _step_aside(self, job: Job) -> None:
        """After `job`'s progress report: run every waiting job much cheaper than what `job`
        has left (`_steps_aside_for`), here in the worker thread, then let `job` go on (a
        stepped-into job does not step aside itself)."""
        if job.inside is not None:
            return
        while True:
            with self._lock:
                cheaper = [j for j in self._queue if _steps_aside_for(job, j)]
                if not cheaper:
                    return
                short = self._take(min(cheaper, key=_order))
                short.inside = job
            paused = time.time()
            with _host_state_kept():
                self._run(short)
            job.stepped_aside_s += time.time() - paused

    def _take(self, job: Job) -> Job:
        """Move `job` from the queue to running (lock held)."""
        self._queue.remove(job)
        job.state, job.running_since = "running", time.time()
        return job

    def _run(self, job: Job) -> None:
        try:
            result = job.compute(job.report)
        except Exception as exc:
            self._end(job, None, exc)
        else:
            self._end(job, result, None)

    def _end(self, job: Job, result: Any, error: BaseException | None) -> None:
        with self._lock:
            job.finished, job.inside = time.time(), None
            if job.cancel_requested:  # whatever it raised on the way out, it was cancelled
                job.state = "cancelled"
                if self._jobs.get(job.key) is job:
                    del self._jobs[job.key]
                return
            job.result, job.error = result, error
            job.state = "failed" if error is not None else "done"


def _steps_aside_for(running: Job, waiting: Job) -> bool:
    """Whether `running` lets `waiting` run at its next progress report: much cheaper."""
    return waiting.cost * STEP_ASIDE_RATIO <= running.remaining


@contextmanager
def _host_state_kept() -> Iterator[None]:
    """Run a job inside another's progress report as if it ran alone: with gradients on (the
    host may be evaluating under inference mode) and the host's random state restored after,
    so a seeded sweep gives the same numbers whether or not a job ran in between."""
    import random

    import numpy as np
    import torch  # loaded already: a job that reports progress is computing with it

    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _order(job: Job) -> tuple[int, float]:
    """The queue's order: cheapest first, then first come."""
    return job.cost, job.started


def not_computed(reason: str) -> JSONResponse:
    """The GET answer for an analysis neither stored nor under way: 409, POST to start."""
    return JSONResponse(
        status_code=409,
        content={
            "detail": f"{reason}: not computed; POST the same URL to start it",
            "code": NOT_COMPUTED,
        },
    )


def _queue_full(active: int, most: int) -> JSONResponse:
    return JSONResponse(
        status_code=429,
        headers={"Retry-After": str(RETRY_AFTER_S)},
        content={
            "detail": (
                f"{active} analysis jobs are queued or running (at most {most}); "
                "wait for one to finish or cancel one (DELETE /api/jobs/{id}), then retry"
            ),
            "code": "queue_full",
        },
    )


def jobs_of(request: Request) -> JobRunner:
    """The app's job runner (create_app makes one; made here for an app built otherwise)."""
    state = request.app.state
    with _runner_lock:
        if getattr(state, "jobs", None) is None:
            state.jobs = JobRunner()
        return state.jobs
