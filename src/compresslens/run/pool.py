"""Where a plan's tasks run: in this process, or in a pool of spawned worker processes.

Each worker opens its own Workspace and gets cores // workers torch threads; a pool whose
worker died is replaced, so one crash fails one node rather than the rest of the run.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

import torch

from compresslens.run.pool_start import start_pool_worker
from compresslens.run.recipe import Recipe
from compresslens.run.worker import NodeTask, TaskResult, run_in_worker, run_task

START_METHOD = "spawn"  # a fresh interpreter per worker: no forked torch or SQLite state


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    return max(1, available_cpus() // max(1, workers))


class TaskPool:
    """Submits tasks to a process pool (restarted if a worker dies), or runs them inline."""

    def __init__(self, ws: Any, recipe: Recipe, workers: int) -> None:
        self.ws, self.recipe, self.workers = ws, recipe, workers
        self.pool: Executor | None = self._new_pool() if workers > 1 else None
        self.pool_of: WeakKeyDictionary[Future[TaskResult], Executor] = WeakKeyDictionary()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(START_METHOD),
            initializer=start_pool_worker,
            initargs=(
                os.getpid(),
                self.ws.location,
                self.ws.store.artifacts.location,
                threads_per_worker(self.workers),
                list(self.recipe.plugins),
            ),
        )

    def submit(self, task: NodeTask) -> Future[TaskResult]:
        if self.pool is not None:
            submitted = self.pool.submit(run_in_worker, task)
            self.pool_of[submitted] = self.pool
            return submitted
        future: Future[TaskResult] = Future()
        future.set_result(run_task(self.ws, task))
        return future

    def restart_after(self, future: Future[TaskResult]) -> None:
        """Replace the pool that ran `future` if it is still the current one (it broke)."""
        if self.pool is not None and self.pool_of.pop(future, None) is self.pool:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()

    def shutdown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def task_pool(ws: Any, recipe: Recipe, workers: int) -> Iterator[TaskPool]:
    """In-process for one worker (all cores to torch), else a spawned pool sharing the cores."""
    previous = torch.get_num_threads()
    if workers <= 1:
        torch.set_num_threads(threads_per_worker(1))
    pool = TaskPool(ws, recipe, workers)
    try:
        yield pool
    finally:
        pool.shutdown()
        torch.set_num_threads(previous)
