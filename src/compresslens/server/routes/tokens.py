"""Token-level comparison of two causal LMs on a token dataset, as the Behaviours view shows
it: pages of the held-out text with each token's agreement and KLD, and the flipped tokens.

A missing comparison runs the model over the whole held-out stream, so both routes follow the
long-analysis protocol: POST starts it (answers 200 at once when stored), GET answers 200 once
stored, 202 while it runs, else 409 not_computed. Comparisons are stored by the workspace
(an evaluation against the lineage root stores its own), so they survive a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from compresslens.server.jobs import JobSpec, Report
from compresslens.server.routes.deps import (
    JOB_LOOKUP,
    JOB_START,
    KEY_LENGTH,
    JobsDep,
    WorkspaceDep,
)

Key = Annotated[str, Query(min_length=1, max_length=KEY_LENGTH)]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="first token of the page")]
Limit = Annotated[int, Query(ge=1, le=10_000, description="tokens in the page")]

router = APIRouter(tags=["tokens"])


class Named(BaseModel):
    id: str
    name: str


class TokenCounts(BaseModel):
    tokens: int = Field(description="token positions compared (the whole stream)")
    same_top_rate: float | None
    kld_mean: float | None = Field(description="mean KLD(base ‖ model), compact lower bound")
    correct_to_incorrect: int
    incorrect_to_correct: int


class TokenColumns(BaseModel):
    """One entry per token of the page, in stream order."""

    token: list[str] = Field(description="the true token at this position (what is predicted)")
    entry: list[int] = Field(description="the held-out entry it belongs to")
    position: list[int] = Field(description="its position in the entry (0: after the separator)")
    same_top: list[bool] = Field(description="base and model predict the same top-1 token")
    flip: list[int] = Field(description="index into flip_kinds")
    kld: list[float]
    delta_p: list[float] = Field(description="model's minus base's probability of the true token")
    base_margin: list[float] = Field(description="base's top-1 minus top-2 probability")
    base_top1: list[str]
    model_top1: list[str]


class TokenTextAnswer(BaseModel):
    """Workspace.token_text: a page of the held-out text, token by token."""

    base: Named
    model: Named
    dataset: Named
    offset: int
    limit: int
    flip_kinds: list[str]
    summary: TokenCounts
    page: TokenColumns


class FlipColumns(BaseModel):
    """One entry per flipped token, in stream order."""

    index: list[int] = Field(description="the token's position in the stream")
    kind: list[str] = Field(description="correct_to_incorrect or incorrect_to_correct")
    base_margin: list[float]
    kld: list[float]
    delta_p: list[float]
    token: list[str]
    base_top1: list[str]
    model_top1: list[str]
    context: list[str] = Field(description="the text just before the token")


class TokenFlipsAnswer(BaseModel):
    """Workspace.token_flips: every token whose correctness flipped."""

    base: Named
    model: Named
    dataset: Named
    flip_kinds: list[str]
    summary: TokenCounts
    flips: FlipColumns


def _job(kind: str, params: dict[str, Any], run: Callable[..., Any], message: str) -> JobSpec:
    def compute(report: Report) -> Any:
        report(0, 1)
        result = run()
        report(1, 1)
        return result

    return JobSpec(
        kind, params, stored=partial(run, cached_only=True), compute=compute, message=message
    )


def text_job(
    ws: WorkspaceDep, base: Key, model: Key, dataset: Key, offset: Offset = 0, limit: Limit = 2000
) -> JobSpec:
    """The page a request asks for, its models and dataset resolved once (the key)."""
    left, right, data = ws.model(base), ws.model(model), ws.dataset(dataset)
    run = partial(ws.token_text, left.id, right.id, data.id, offset=offset, limit=limit)
    ids = {"base": left.id, "model": right.id, "dataset": data.id}
    message = f"comparing {right.name} with {left.name} token by token on {data.name}"
    return _job("token-text", {**ids, "offset": offset, "limit": limit}, run, message)


def flips_job(ws: WorkspaceDep, base: Key, model: Key, dataset: Key) -> JobSpec:
    """The flipped tokens of a comparison, resolved once (their ids are the job's key)."""
    left, right, data = ws.model(base), ws.model(model), ws.dataset(dataset)
    run = partial(ws.token_flips, left.id, right.id, data.id)
    message = f"comparing {right.name} with {left.name} token by token on {data.name}"
    return _job(
        "token-flips", {"base": left.id, "model": right.id, "dataset": data.id}, run, message
    )


TextJob = Annotated[JobSpec, Depends(text_job)]
FlipsJob = Annotated[JobSpec, Depends(flips_job)]


@router.get("/tokens/text", response_model=TokenTextAnswer, responses=JOB_LOOKUP)
def token_text(jobs: JobsDep, job: TextJob) -> Any:
    """A page of the compared text (200), 202 while comparing, else 409 (POST to start)."""
    return jobs.lookup(job)


@router.post("/tokens/text", response_model=TokenTextAnswer, responses=JOB_START)
def start_token_text(jobs: JobsDep, job: TextJob) -> Any:
    """Compare the models token by token (202), or answer the stored page."""
    return jobs.start(job)


@router.get("/tokens/flips", response_model=TokenFlipsAnswer, responses=JOB_LOOKUP)
def token_flips(jobs: JobsDep, job: FlipsJob) -> Any:
    """The flipped tokens (200), 202 while comparing, else 409 (POST to start)."""
    return jobs.lookup(job)


@router.post("/tokens/flips", response_model=TokenFlipsAnswer, responses=JOB_START)
def start_token_flips(jobs: JobsDep, job: FlipsJob) -> Any:
    """Compare the models token by token (202), or answer the stored flips."""
    return jobs.start(job)
