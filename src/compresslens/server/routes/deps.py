"""Shared dependencies of the route modules: the workspace, the job runner, answer media."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from compresslens.server.arrow import ARROW_STREAM
from compresslens.server.jobs import JobRunner, jobs_of
from compresslens.workspace import Workspace


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


class JobDescription(BaseModel):
    """One analysis job: the 202 body of a long analysis, a row of GET /api/jobs."""

    status: str = Field(description="running, done or failed")
    job: str
    kind: str
    params: dict[str, Any]
    state: str = Field(description="queued, running, done or failed")
    elapsed_s: float
    progress: JobProgress


JOB_RUNNING: dict[int | str, dict[str, Any]] = {
    202: {"model": JobDescription, "description": "computing: the job and its progress"}
}
"""`responses=` of a long analysis (server.jobs): 202 with progress, then 200 with the answer."""
