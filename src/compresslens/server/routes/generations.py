"""Generations: a causal LM's greedy continuations of a token dataset's fixed prompts, and two
models' side by side with the first diverging token.

Generating runs the models, so both routes follow the long-analysis protocol: POST starts it
(answers 200 at once when stored), GET answers 200 once stored, 202 while it runs, else 409
not_computed. Results are stored by `Workspace.generate`, so they survive a restart.
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
Prompts = Annotated[int, Query(ge=1, le=256, description="entries to prompt with")]
PromptTokens = Annotated[int, Query(ge=1, le=512, description="tokens of each entry's prompt")]
Length = Annotated[int, Query(ge=1, le=512, description="tokens generated greedily")]

router = APIRouter(tags=["generations"])


class Named(BaseModel):
    id: str
    name: str


class Generation(BaseModel):
    entry: int = Field(description="the dataset entry the prompt opens")
    prompt_ids: list[int]
    generated_ids: list[int]
    prompt_text: str
    text: str = Field(description="the generated tokens' text (the dataset's token strings)")


class GenerationsAnswer(BaseModel):
    """Workspace.generate: one model's greedy continuations of the fixed prompts."""

    model: Named
    dataset: Named
    prompt_tokens: int
    length: int
    threads: int = Field(description="torch threads the model ran with (part of the key)")
    generations: list[Generation]


class PromptComparison(BaseModel):
    entry: int
    prompt_ids: list[int]
    prompt_text: str
    base_ids: list[int]
    model_ids: list[int]
    base_text: str
    model_text: str
    base_tokens: list[str] = Field(description="each generated token's string, to mark one")
    model_tokens: list[str]
    first_divergence: int | None = Field(
        description="the first generated position where the models differ; null: identical"
    )
    shared_prefix: int = Field(description="generated tokens both share from the start")


class GenerationSummary(BaseModel):
    prompts: int
    identical: int
    share_identical: float | None
    mean_shared_prefix: float | None
    mean_first_divergence: float | None = Field(
        description="over the prompts that diverged; null when none did"
    )


class GenerationComparisonAnswer(BaseModel):
    """Workspace.compare_generations: both models' generations, per prompt and in summary."""

    base: Named
    model: Named
    dataset: Named
    prompt_tokens: int
    length: int
    threads: int = Field(description="torch threads the models ran with (part of the key)")
    prompts: list[PromptComparison]
    summary: GenerationSummary


def _job(kind: str, params: dict[str, Any], run: Callable[..., Any], message: str) -> JobSpec:
    def compute(report: Report) -> Any:
        report(0, 1)
        result = run()
        report(1, 1)
        return result

    return JobSpec(
        kind, params, stored=partial(run, cached_only=True), compute=compute, message=message
    )


def generations_job(
    ws: WorkspaceDep,
    model: Key,
    dataset: Key,
    prompts: Prompts = 16,
    prompt_tokens: PromptTokens = 8,
    length: Length = 32,
) -> JobSpec:
    """The generation a request asks for, its model and dataset resolved once (the key)."""
    info, data = ws.model(model), ws.dataset(dataset)
    options = {"prompts": prompts, "prompt_tokens": prompt_tokens, "length": length}
    run = partial(ws.generate, info.id, data.id, **options)
    message = f"generating {length} tokens from {prompts} prompts with {info.name}"
    return _job("generations", {"model": info.id, "dataset": data.id, **options}, run, message)


def comparison_job(
    ws: WorkspaceDep,
    base: Key,
    model: Key,
    dataset: Key,
    prompts: Prompts = 16,
    prompt_tokens: PromptTokens = 8,
    length: Length = 32,
) -> JobSpec:
    """Both models' generations, resolved once (their ids are the job's key)."""
    left, right, data = ws.model(base), ws.model(model), ws.dataset(dataset)
    options = {"prompts": prompts, "prompt_tokens": prompt_tokens, "length": length}
    run = partial(ws.compare_generations, left.id, right.id, data.id, **options)
    ids = {"base": left.id, "model": right.id, "dataset": data.id}
    message = f"generating with {left.name} and {right.name} from {prompts} prompts"
    return _job("generation-comparison", {**ids, **options}, run, message)


GenerationsJob = Annotated[JobSpec, Depends(generations_job)]
ComparisonJob = Annotated[JobSpec, Depends(comparison_job)]


@router.get("/generations", response_model=GenerationsAnswer, responses=JOB_LOOKUP)
def generations(jobs: JobsDep, job: GenerationsJob) -> Any:
    """One model's stored generations (200), 202 while generating, else 409 (POST to start)."""
    return jobs.lookup(job)


@router.post("/generations", response_model=GenerationsAnswer, responses=JOB_START)
def start_generations(jobs: JobsDep, job: GenerationsJob) -> Any:
    """Generate (202; one job per parameters), or answer the stored generations."""
    return jobs.start(job)


@router.get("/generations/compare", response_model=GenerationComparisonAnswer, responses=JOB_LOOKUP)
def generation_comparison(jobs: JobsDep, job: ComparisonJob) -> Any:
    """Base and model side by side with the first divergence (200), 202 while generating,
    else 409 (POST to start)."""
    return jobs.lookup(job)


@router.post("/generations/compare", response_model=GenerationComparisonAnswer, responses=JOB_START)
def start_generation_comparison(jobs: JobsDep, job: ComparisonJob) -> Any:
    """Generate with both models (202), or answer the stored comparison."""
    return jobs.start(job)
