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
answer is read in the request at once, even after a restart. One worker thread runs the jobs
in order: torch already uses every core for one model. The worker is a daemon, so stopping
the server does not wait for a long sweep (its stored part is kept).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Mapping
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
_ids = itertools.count(1)
_runner_lock = threading.Lock()


class JobCancelled(Exception):
    """Raised by a cancelled job's progress report, so the analysis stops where it stands."""


@dataclass(frozen=True)
class JobSpec:
    """One long analysis as a route describes it: its key, how to read it, how to compute it.

    `stored()` reads a stored result in the request (raising NotComputedError when there is
    none); `compute(report)` computes and stores it in the worker; `total` is the progress
    total shown until the analysis reports its own.
    """

    kind: str
    params: Mapping[str, Any]
    stored: Callable[[], Any]
    compute: Callable[[Report], Any]
    message: str = ""
    total: int = 0

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
    state: str = "queued"  # queued → running → done | failed; cancelling until it stops
    started: float = field(default_factory=time.time)
    running_since: float | None = None
    finished: float | None = None
    result: Any = None
    error: BaseException | None = None
    cancel_requested: bool = False

    def report(self, done: int, total: int) -> None:
        """The progress callback handed to the analysis (called from the worker thread)."""
        if self.cancel_requested:
            raise JobCancelled(self.id)
        self.done, self.total = done, total

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running", "cancelling")

    def estimate_s(self) -> float | None:
        """Seconds left at the pace so far, once the analysis has reported some progress."""
        if self.state != "running" or self.running_since is None:
            return None
        if not 0 < self.done < self.total:
            return None
        spent = time.time() - self.running_since
        return round(spent * (self.total - self.done) / self.done, 1)

    def describe(self, position: int = 0) -> dict[str, Any]:
        """The job as JSON: the 202 body, and one row of GET /api/jobs."""
        message = self.message
        if self.state == "queued" and position:
            message = f"{message} (waiting for {position} other analysis job(s))"
        return {
            "status": "running" if self.active else self.state,
            "job": self.id,
            "kind": self.kind,
            "params": self.params,
            "state": self.state,
            "position": position,
            "elapsed_s": round((self.finished or time.time()) - self.started, 3),
            "estimate_s": self.estimate_s(),
            "progress": {"done": self.done, "total": self.total, "message": message},
        }


class JobRunner:
    """Jobs keyed by (analysis, parameters), run one at a time by a daemon worker thread."""

    def __init__(self, max_active: int = MAX_ACTIVE_JOBS) -> None:
        self.max_active = max_active
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job] = queue.Queue()
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
                )
                self._jobs[spec.key] = job
                self._queue.put(job)
                self._ensure_worker()
        return self._running(job)

    def jobs(self) -> list[dict[str, Any]]:
        """Every job not yet delivered, oldest first, with its place in the queue."""
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

    def _ahead(self, job: Job) -> int:
        return sum(1 for j in self._jobs.values() if j.active and j.started < job.started)

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
            job = self._queue.get()
            with self._lock:
                if job.cancel_requested:  # dropped while it waited
                    continue
                job.state, job.running_since = "running", time.time()
            try:
                result = job.compute(job.report)
            except Exception as exc:
                self._end(job, None, exc)
            else:
                self._end(job, result, None)

    def _end(self, job: Job, result: Any, error: BaseException | None) -> None:
        with self._lock:
            job.finished = time.time()
            if job.cancel_requested:  # whatever it raised on the way out, it was cancelled
                job.state = "cancelled"
                if self._jobs.get(job.key) is job:
                    del self._jobs[job.key]
                return
            job.result, job.error = result, error
            job.state = "failed" if error is not None else "done"


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
