"""Long analyses in the background: the first GET starts a job, later GETs read its progress.

The protocol (frontend/src/lib/api.ts): while a job runs, the same GET answers 202 with
`{"status": "running", "job": ID, "progress": {"done", "total", "message"}}`; once it has
finished, the next GET answers 200 with the result, or the job's error (a CompressLensError
becomes a 4xx through the app's handlers) — once: a failed job is forgotten, so asking again
starts afresh instead of being stuck. Results are stored by the analysis itself (workspace
metrics or analysis results), so a stored answer is read in the request at once, even after
a restart, and only missing work becomes a job.

One worker thread runs the jobs in order: torch already uses every core for one model, and
analyses that run side by side would only slow each other down. The worker is a daemon, so
stopping the server does not wait for a long sweep (its stored part is kept).
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
_ids = itertools.count(1)
_runner_lock = threading.Lock()


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
    state: str = "queued"  # queued → running → done | failed
    started: float = field(default_factory=time.time)
    finished: float | None = None
    result: Any = None
    error: BaseException | None = None

    def report(self, done: int, total: int) -> None:
        """The progress callback handed to the analysis (called from the worker thread)."""
        self.done, self.total = done, total

    def describe(self, position: int = 0) -> dict[str, Any]:
        """The job as JSON: the 202 body, and one row of GET /api/jobs."""
        message = self.message
        if self.state == "queued" and position:
            message = f"{message} (waiting for {position} other analysis job(s))"
        return {
            "status": "running" if self.state in ("queued", "running") else self.state,
            "job": self.id,
            "kind": self.kind,
            "params": self.params,
            "state": self.state,
            "elapsed_s": round((self.finished or time.time()) - self.started, 3),
            "progress": {"done": self.done, "total": self.total, "message": message},
        }


class JobRunner:
    """Jobs keyed by (analysis, parameters), run one at a time by a daemon worker thread."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="compresslens-jobs", daemon=True)
        self._worker.start()

    def answer(
        self,
        kind: str,
        params: Mapping[str, Any],
        stored: Callable[[], Any],
        compute: Callable[[Report], Any],
        message: str = "",
        start: bool = True,
        total: int = 0,
    ) -> Any:
        """The result (200) if stored or just finished, else a 202 with the job's progress.

        `stored()` reads a stored result in the request (raising NotComputedError when there
        is none) and `compute(report)` computes and stores it in the worker. Errors from
        `stored` (an unknown model, say) and a finished job's error are raised here. With
        `start=False` nothing new is started: None when neither stored nor under way.
        `total` is the progress total shown until the analysis reports its own.
        """
        key = content_id(kind, dict(params), length=32)
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.state in ("done", "failed"):
                del self._jobs[key]  # delivered once: the stored result answers from now on
                if job.error is not None:
                    raise job.error
                return job.result
        if job is None:
            try:
                return stored()
            except NotComputedError:
                if not start:
                    return None
                job = self._start(key, kind, dict(params), compute, message, total)
        return self._running(job)

    def jobs(self) -> list[dict[str, Any]]:
        """Every job not yet delivered, oldest first."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.started)
        return [job.describe() for job in jobs]

    def _start(
        self,
        key: str,
        kind: str,
        params: dict[str, Any],
        compute: Callable[[Report], Any],
        message: str,
        total: int,
    ) -> Job:
        with self._lock:
            self._forget_old()
            job = self._jobs.get(key)  # another request may have started it meanwhile
            if job is None:
                job = Job(key, kind, params, compute, message=message, total=total)
                self._jobs[key] = job
                self._queue.put(job)
            return job

    def _running(self, job: Job) -> JSONResponse:
        with self._lock:
            ahead = sum(
                1
                for j in self._jobs.values()
                if j.state in ("queued", "running") and j.started < job.started
            )
        return JSONResponse(status_code=202, content=job.describe(ahead))

    def _forget_old(self) -> None:
        now = time.time()
        for key, job in list(self._jobs.items()):
            if job.finished is not None and now - job.finished > FINISHED_KEPT_S:
                del self._jobs[key]

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            job.state = "running"
            try:
                job.result = job.compute(job.report)
                job.state = "done"
            except Exception as exc:  # delivered to the client that asks next
                job.error, job.state = exc, "failed"
            finally:
                job.finished = time.time()


def jobs_of(request: Request) -> JobRunner:
    """The app's job runner, made on first use (one per app, so a new app starts clean)."""
    state = request.app.state
    with _runner_lock:
        if getattr(state, "jobs", None) is None:
            state.jobs = JobRunner()
        return state.jobs
