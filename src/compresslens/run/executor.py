"""Run a plan in dependency order, locally, in one process or a pool of worker processes.

A node already in the workspace (status ready, evaluated) is skipped, so a killed run
resumes where it stopped; a node is submitted as soon as its parents are done and a worker
is free; a failure is recorded with its traceback and skips the node's descendants, while
its siblings go on. When a worker process dies, every node it may have taken down is run
again alone, so only the node that kills its worker fails. The nodes run in this process or
a local pool (`local`), or as Ray tasks (`ray`, run/ray_executor.py); the rest is the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Protocol

from compresslens.errors import NotFoundError
from compresslens.run.datasets import prepare_datasets
from compresslens.run.errors import ExecutorError
from compresslens.run.plan import Plan, PlanNode, build_plan
from compresslens.run.pool import task_pool
from compresslens.run.ray_executor import RayOptions, ray_pool
from compresslens.run.recipe import Recipe
from compresslens.run.summary import NodeOutcome, RunSummary, Status
from compresslens.run.worker import NodeTask, TaskResult, missing_evaluations

ProgressFn = Callable[[str, int, int], None]
EXECUTORS = ("local", "ray")


class NodeRunner(Protocol):
    """Runs one node's task somewhere: a local pool, this process, or a Ray cluster."""

    def submit(self, task: NodeTask) -> Future[TaskResult]: ...

    def restart_after(self, future: Future[TaskResult]) -> None: ...


def run_recipe(
    recipe: Recipe,
    workspace: Any,
    *,
    workers: int = 1,
    progress: ProgressFn | None = None,
    executor: str = "local",
    ray: RayOptions | None = None,
) -> RunSummary:
    """Register the recipe's datasets, plan it against the workspace, and run what is missing."""
    from compresslens.workspace import Workspace

    check_executor(executor)
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    prepare_datasets(ws, recipe)
    base_id = None
    if recipe.base.model is not None:
        try:
            base_id = ws.model(recipe.base.model).id
        except NotFoundError as exc:
            raise recipe.source.error(("base", "model"), str(exc)) from None
    plan = build_plan(recipe, base_id)
    return execute_plan(
        ws, recipe, plan, workers=workers, progress=progress, executor=executor, ray=ray
    )


def check_executor(executor: str) -> None:
    if executor not in EXECUTORS:
        raise ExecutorError(f"unknown executor {executor!r}: use one of {', '.join(EXECUTORS)}")


def execute_plan(
    ws: Any,
    recipe: Recipe,
    plan: Plan,
    *,
    workers: int = 1,
    progress: ProgressFn | None = None,
    executor: str = "local",
    ray: RayOptions | None = None,
) -> RunSummary:
    """Run the plan's missing nodes; a plan that is all cache starts no worker processes."""
    check_executor(executor)
    started = time.perf_counter()
    run = _Run(ws, recipe, plan, progress)
    if run.waiting:
        with node_runner(ws, recipe, workers, executor, ray or RayOptions()) as (runner, slots):
            run.drive(runner, slots)
    return RunSummary(run.outcomes_in_order(), max(1, workers), time.perf_counter() - started)


@contextmanager
def node_runner(
    ws: Any, recipe: Recipe, workers: int, executor: str, ray: RayOptions
) -> Iterator[tuple[NodeRunner, int]]:
    """The executor's runner, and how many nodes to keep running on it at once."""
    if executor == "ray":
        with ray_pool(ws, recipe, workers, ray) as on_ray:
            yield on_ray, max(workers, on_ray.slots())
    else:
        with task_pool(ws, recipe, workers) as pool:
            yield pool, max(1, workers)


class _Run:
    """The state of one execution: which nodes are finished, running, or still waiting."""

    def __init__(self, ws: Any, recipe: Recipe, plan: Plan, progress: ProgressFn | None) -> None:
        self.ws, self.recipe, self.plan = ws, recipe, plan
        self.progress = progress or (lambda _stage, _done, _total: None)
        self.outcomes: dict[str, NodeOutcome] = {}
        self.succeeded: set[str] = set()
        self.suspects: set[str] = set()  # nodes that were running when a worker died
        self.totals = {stage: len(plan.stage_nodes(stage)) for stage in plan.stages}
        self.finished = dict.fromkeys(plan.stages, 0)
        for stage in plan.stages:
            self.progress(stage, 0, self.totals[stage])
        cached = self._cached_ids()
        self.waiting: list[PlanNode] = []
        for node in plan:
            if node.id in cached:
                self._finish(node, "cached")
            else:
                self.waiting.append(node)

    def _cached_ids(self) -> set[str]:
        """Nodes stored ready, their files verified, evaluated on every dataset the recipe
        asks for (an evaluation whose files are damaged is dropped: it runs again)."""
        status = {row.id: row.status for row in self.ws.store.list_models()}
        intact = self.ws.store.check_models(
            [n.id for n in self.plan if status.get(n.id) == "ready"]
        )
        return {
            node.id
            for node in self.plan
            if node.id in intact
            and not missing_evaluations(
                self.ws, node.id, self.recipe.evaluation_for(node.stage).datasets
            )
        }

    def _finish(
        self, node: PlanNode, status: Status, wall_time_s: float = 0.0, error: str | None = None
    ) -> None:
        self.outcomes[node.id] = NodeOutcome(
            node.id, node.name, node.stage, node.seed, node.label, status, wall_time_s, error
        )
        if status in ("done", "cached"):
            self.succeeded.add(node.id)
        self.finished[node.stage] += 1
        self.progress(node.stage, self.finished[node.stage], self.totals[node.stage])

    def outcomes_in_order(self) -> list[NodeOutcome]:
        return [self.outcomes[node.id] for node in self.plan if node.id in self.outcomes]

    def _task(self, node: PlanNode) -> NodeTask:
        tags = [f"stage:{node.stage}", f"seed:{node.seed}"]
        if self.recipe.name:
            tags.insert(0, f"recipe:{self.recipe.name}")
        return NodeTask(
            node, self.recipe.evaluation_for(node.stage), tuple(tags), self.recipe.threads
        )

    def _ready(self) -> list[PlanNode]:
        return [n for n in self.waiting if all(p in self.succeeded for p in n.parents)]

    def _record(self, node: PlanNode, result: TaskResult) -> None:
        if result.ok:
            self._finish(node, "done", result.wall_time_s)
            return
        self._finish(node, "failed", result.wall_time_s, result.error)
        doomed = self.plan.descendants(node.id)
        for other in [n for n in self.waiting if n.id in doomed]:
            self.waiting.remove(other)
            self._finish(other, "skipped", error=f"not run: ancestor {node.name} failed")

    def _next(self, free: int, running: dict[Future[TaskResult], PlanNode]) -> list[PlanNode]:
        """Ready nodes to start now; a suspect (its worker died) only runs with nothing else."""
        if any(n.id in self.suspects for n in running.values()):
            return []
        ready = self._ready()
        suspects = [n for n in ready if n.id in self.suspects]
        if suspects:
            return suspects[:1] if not running else []
        return ready[:free]

    def drive(self, executor: NodeRunner, slots: int) -> None:
        """Keep up to `slots` ready nodes running until every node has an outcome."""
        running: dict[Future[TaskResult], PlanNode] = {}
        while self.waiting or running:
            for node in self._next(slots - len(running), running):
                self.waiting.remove(node)
                running[executor.submit(self._task(node))] = node
            if not running:  # nothing can start: parents outside the plan never came
                for node in list(self.waiting):
                    self.waiting.remove(node)
                    self._finish(node, "skipped", error="not run: a parent is missing")
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                node = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as exc:
                    executor.restart_after(future)
                    if node.id not in self.suspects:  # maybe a bystander: run it again, alone
                        self.suspects.add(node.id)
                        self.waiting.insert(0, node)
                        continue
                    result = TaskResult(node.id, False, 0.0, f"its worker process died: {exc}")
                self._record(node, result)
