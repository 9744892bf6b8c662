"""Run one function in several spawned processes released together at a barrier: what the
concurrent-writer tests use to make writers collide."""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from typing import Any

JOIN_TIMEOUT_S = 180


def run_together(target: Callable[..., Any], jobs: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
    """Run `target(*job)` in one spawned process per job, all released at once; each
    outcome is ("ok", value) or (exception type name, message)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs))
    results = context.Queue()
    processes = [
        context.Process(target=_outcome, args=(index, target, job, barrier, results))
        for index, job in enumerate(jobs)
    ]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=JOIN_TIMEOUT_S) for _ in processes)
    for process in processes:
        process.join(timeout=JOIN_TIMEOUT_S)
    return [outcomes[index] for index in range(len(jobs))]


def _outcome(
    index: int, target: Callable[..., Any], job: tuple[Any, ...], barrier: Any, results: Any
) -> None:
    try:
        prepared = target(*job, prepare=True)
        barrier.wait(timeout=JOIN_TIMEOUT_S)
        results.put((index, ("ok", target(*job, prepare=False, prepared=prepared))))
    except Exception as exc:  # every error is reported; the test judges its type
        results.put((index, (type(exc).__name__, f"{exc}\n{traceback.format_exc()}")))
