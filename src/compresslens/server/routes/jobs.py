"""The analysis jobs not yet delivered: what runs or waits, how far it got; cancelling one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel

from compresslens.server.routes.deps import JobDescription, JobsDep

router = APIRouter(tags=["jobs"])


class JobList(BaseModel):
    jobs: list[JobDescription]


@router.get("/jobs", response_model=JobList)
def list_jobs(jobs: JobsDep) -> dict[str, Any]:
    """Queued, running and finished-but-unread jobs, oldest first, with queue positions."""
    return {"jobs": jobs.jobs()}


@router.delete("/jobs/{job}", response_model=JobDescription)
def cancel_job(jobs: JobsDep, job: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """Cancel a job: a queued one is dropped (state cancelled), a running one stops at its
    next progress report (state cancelling until then); only whole results stay stored."""
    described = jobs.cancel(job)
    if described is None:
        raise HTTPException(status_code=404, detail=f"no job {job!r} (finished, or never started)")
    return described
