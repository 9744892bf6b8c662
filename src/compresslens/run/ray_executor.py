"""Where a plan's tasks run on Ray: a local instance started here, or a cluster by address.

The executor (run/executor.py) decides what runs, caches and resumes as it does locally; this
module only submits each node as a Ray task with the node's resources and retries. A Ray
worker opens the workspace by its location, like a pool worker, so every node id, metric and
weight is what the local executor makes (with the same torch thread count: the recipe's).
Ray is an optional extra (`compresslens[ray]`), imported only when this executor is used.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from compresslens.run.errors import ExecutorError
from compresslens.run.recipe import Recipe, ResourceSpec
from compresslens.run.worker import NodeTask, TaskResult, init_worker, run_in_worker


@dataclass(frozen=True)
class RayOptions:
    """Command-line overrides of the recipe: the cluster, and what every node asks for."""

    address: str | None = None  # None: start a local instance for this run
    cpus: float | None = None
    gpus: float | None = None
    retries: int | None = None


@dataclass(frozen=True)
class WorkerSetup:
    """How a Ray worker opens the workspace; sent with each task (Ray reuses workers)."""

    location: str
    artifacts: str
    threads: int
    plugins: tuple[str, ...]


_OPENED: WorkerSetup | None = None


def run_node_on_ray(setup: WorkerSetup, task: NodeTask) -> TaskResult:
    """The Ray task: open the workspace once per worker process, then make the node."""
    global _OPENED
    if setup != _OPENED:
        # the worker's parent is Ray's raylet: without it, the worker has no reason to live
        init_worker(os.getppid(), setup.location, setup.artifacts, setup.threads, setup.plugins)
        _OPENED = setup
    return run_in_worker(task)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "--executor ray needs Ray, which is not installed: pip install 'compresslens[ray]'"
        ) from None
    return ray


class RayPool:
    """Submits each node as a Ray task; a task whose worker died is retried by Ray itself."""

    def __init__(self, ray: Any, ws: Any, recipe: Recipe, options: RayOptions) -> None:
        self.ray, self.recipe, self.options = ray, recipe, options
        self.retries = recipe.retries if options.retries is None else options.retries
        self.setup = WorkerSetup(
            ws.location,
            ws.store.artifacts.location,
            recipe.threads,
            tuple(recipe.plugins),
        )
        self.remote = ray.remote(run_node_on_ray)

    def resources(self, stage: str) -> ResourceSpec:
        spec = self.recipe.resources_for(stage)
        update = {"cpus": self.options.cpus, "gpus": self.options.gpus}
        return spec.model_copy(update={k: v for k, v in update.items() if v is not None})

    def slots(self) -> int:
        """Nodes to keep submitted at once: as many as the cluster's CPUs can run."""
        cpus = self.ray.cluster_resources().get("CPU", 1)
        smallest = min(self.resources(stage).cpus or 1 for stage in ("base", *self.stage_names))
        return max(1, int(cpus // smallest))

    @property
    def stage_names(self) -> list[str]:
        return [stage.name for stage in self.recipe.stages]

    def submit(self, task: NodeTask) -> Future[TaskResult]:
        spec = self.resources(task.node.stage)
        ref = self.remote.options(
            num_cpus=spec.cpus, num_gpus=spec.gpus, max_retries=self.retries
        ).remote(self.setup, task)
        result: Future[TaskResult] = Future()

        def settle(done: Future[TaskResult]) -> None:
            try:
                result.set_result(done.result())
            except Exception as exc:  # Ray's errors: the worker died on every try, …
                error = f"its Ray task failed ({self.retries} retries): {type(exc).__name__}: {exc}"
                result.set_result(TaskResult(task.node.id, False, 0.0, error))

        ref.future().add_done_callback(settle)
        return result

    def restart_after(self, future: Future[TaskResult]) -> None:
        """Nothing to restart: Ray replaces dead workers and retries their tasks."""


TRUST_ENV_VARS = ("COMPRESSLENS_TRUST", "COMPRESSLENS_CONFIG_DIR")


@contextmanager
def ray_pool(ws: Any, recipe: Recipe, workers: int, options: RayOptions) -> Iterator[RayPool]:
    """Use the Ray instance this process is connected to, else connect or start one.

    A local instance started here gets `workers` times a node's CPUs (so `workers` nodes run
    at once), sees this process's modules, and is shut down at the end.
    """
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        # what this process trusts (--trust, the trust file's folder) holds in the workers too
        trust = {name: os.environ[name] for name in TRUST_ENV_VARS if os.environ.get(name)}
        runtime_env = {
            "env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p), **trust}
        }
        try:
            if options.address is not None:
                ray.init(
                    address=options.address,
                    log_to_driver=False,
                    runtime_env={"env_vars": trust},
                )
            else:
                cpus = max(_resource_cpus(recipe, options)) * max(1, workers)
                ray.init(
                    num_cpus=max(1, round(cpus)),
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env=runtime_env,
                )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = options.address or "a local instance"
            raise ExecutorError(f"cannot start Ray on {where}: {exc}") from None
    try:
        yield RayPool(ray, ws, recipe, options)
    finally:
        if started_here:
            ray.shutdown()


def _resource_cpus(recipe: Recipe, options: RayOptions) -> list[float]:
    if options.cpus is not None:
        return [options.cpus]
    stages = ["base", *(stage.name for stage in recipe.stages)]
    return [recipe.resources_for(stage).cpus or 1 for stage in stages]
