"""Shared dependencies of the route modules: the workspace, the job runner, answer media."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from compresslens.server.arrow import ARROW_STREAM
from compresslens.server.jobs import JobRunner, jobs_of
from compresslens.workspace import Workspace

KEY_LENGTH = 256
"""The longest model or dataset key (a name, at most 200 characters, or an id) a route takes:
longer ones answer 422 before they reach the store (a 50,000-character key made SQLite's LIKE
fail with a 500)."""
SELECTOR_LENGTH = 20_000
"""The longest model selector (a comma-separated list of names can be long)."""


def workspace_of(request: Request) -> Workspace:
    return request.app.state.workspace


WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]
JobsDep = Annotated[JobRunner, Depends(jobs_of)]

ARROW_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON by default; with format=arrow an Arrow IPC stream of every row",
        "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}},
    }
}
"""`responses=` of a route that answers JSON or, with format=arrow, an Arrow stream."""


class JobProgress(BaseModel):
    done: int
    total: int
    message: str


class JobAhead(BaseModel):
    """A job that runs before the one described, and how long until it is out of the way."""

    job: str
    kind: str
    message: str
    state: str = Field(description="queued, running or cancelling")
    until: Literal["next_step", "done"] = Field(
        description="next_step: the running job steps aside at its next progress report "
        "(the described job costs at most a quarter of what it has left); "
        "done: it runs to its end first"
    )
    estimate_s: float | None = Field(
        description="seconds until then at its pace so far; null before it reports progress"
    )


class JobDescription(BaseModel):
    """One analysis job: the 202 body of a long analysis, a row of GET /api/jobs."""

    status: str = Field(
        description="running (queued, running or cancelling), done, failed or cancelled"
    )
    job: str
    kind: str
    params: dict[str, Any]
    state: str = Field(description="queued, running, cancelling, cancelled, done or failed")
    position: int = Field(description="jobs that run before this one (the length of `ahead`)")
    ahead: list[JobAhead] = Field(
        description="the jobs that run before this one: the running job first, then the "
        "cheaper queued ones; for a running job, the shorter job running in its place"
    )
    cost: int = Field(
        description="expected work in steps (about one model's pass over the data): the "
        "worker runs the cheapest waiting job first, and a running job steps aside for a "
        "waiting one that costs at most a quarter of its remaining steps"
    )
    elapsed_s: float
    estimate_s: float | None = Field(
        description="seconds left at the pace so far, once the analysis reports progress"
    )
    progress: JobProgress


class ErrorBody(BaseModel):
    """Every error answer: a message, and for some a machine-readable code."""

    detail: str | list[dict[str, Any]] = Field(
        description="what was wrong (a list of issues for malformed parameters)"
    )
    code: str | None = Field(
        default=None, description="not_computed (POST to start) or queue_full (retry later)"
    )


def error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: error("a request the workspace cannot answer (bad operation, unsuitable dataset)"),
    401: error("the server needs its token (served off loopback, or with --token)"),
    403: error(
        "a Host header that is not a loopback name, a cross-site POST/DELETE, or a model "
        "whose factory names a module you have not trusted (the detail names the model, the "
        "module and how to trust it: `compresslens trust add MODULE`)"
    ),
    404: error("an unknown model, dataset, module or job"),
    422: error("malformed or out-of-range parameters"),
}
"""Answers every API route may give; the app declares them on every router."""

JOB_RUNNING: dict[int | str, dict[str, Any]] = {
    202: {"model": JobDescription, "description": "computing: the job and its progress"}
}
"""`responses=` of a long analysis (server.jobs): 202 with progress, then 200 with the answer."""

JOB_LOOKUP: dict[int | str, dict[str, Any]] = {
    **JOB_RUNNING,
    409: error("not computed and no job under way (code not_computed): POST to start"),
}
"""`responses=` of a long analysis's GET: 200 stored, 202 running, 409 not computed."""

JOB_START: dict[int | str, dict[str, Any]] = {
    **JOB_RUNNING,
    429: {
        **error("the job queue is full (code queue_full): retry after Retry-After seconds"),
        "headers": {
            "Retry-After": {
                "description": "seconds to wait before asking again",
                "schema": {"type": "integer"},
            }
        },
    },
}
"""`responses=` of a long analysis's POST: 200 stored, 202 started or under way, 429 full."""
