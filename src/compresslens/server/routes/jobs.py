"""The analysis jobs not yet delivered: what runs or waits, and how far it got (debugging)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from compresslens.server.jobs import JobRunner, jobs_of

router = APIRouter(tags=["jobs"])
JobsDep = Annotated[JobRunner, Depends(jobs_of)]


@router.get("/jobs")
def list_jobs(jobs: JobsDep) -> dict[str, Any]:
    """Queued, running and finished-but-unread jobs, oldest first."""
    return {"jobs": jobs.jobs()}
