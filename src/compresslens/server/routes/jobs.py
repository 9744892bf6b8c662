"""The analysis jobs not yet delivered: what runs or waits, and how far it got (debugging)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from compresslens.server.routes.deps import JobDescription, JobsDep

router = APIRouter(tags=["jobs"])


class JobList(BaseModel):
    jobs: list[JobDescription]


@router.get("/jobs", response_model=JobList)
def list_jobs(jobs: JobsDep) -> dict[str, Any]:
    """Queued, running and finished-but-unread jobs, oldest first."""
    return {"jobs": jobs.jobs()}
