"""Doing one node of a plan: make the model (train or compress), then evaluate it.

Runs in the executor's process or in a pool worker; a worker opens its own Workspace on the
same location (SQLite in WAL mode with a busy timeout lets several processes write).
"""

from __future__ import annotations

import importlib
import os
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from compresslens.errors import NotFoundError
from compresslens.models.trust import check_trusted
from compresslens.run.plan import PlanNode
from compresslens.run.recipe import EvaluateSpec
from compresslens.threads import intra_op_threads


@dataclass(frozen=True)
class NodeTask:
    """Everything a worker needs for one node; picklable, so it crosses process boundaries."""

    node: PlanNode
    evaluate: EvaluateSpec
    tags: tuple[str, ...] = ()
    threads: int = 1  # torch intra-op threads of the node's computation (the recipe's)


@dataclass(frozen=True)
class TaskResult:
    node_id: str
    ok: bool
    wall_time_s: float
    error: str | None = None


def run_task(ws: Any, task: NodeTask) -> TaskResult:
    """Make and evaluate the node; any exception becomes a failed result with its traceback."""
    started = time.perf_counter()
    try:
        with intra_op_threads(task.threads):
            _make(ws, task)
            _evaluate(ws, task.node.id, task.evaluate)
    except Exception:
        return TaskResult(
            task.node.id, False, time.perf_counter() - started, traceback.format_exc()
        )
    return TaskResult(task.node.id, True, time.perf_counter() - started)


def _make(ws: Any, task: NodeTask) -> None:
    node = task.node
    if node.kind == "existing":
        return
    if node.kind == "train":
        params = dict(node.params)
        info = ws.train(
            node.factory,
            node.factory_kwargs,
            dataset=params.pop("dataset"),
            seed=node.seed,
            name=node.name,
            tags=task.tags,
            threads=task.threads,
            **params,
        )
    else:
        info = ws.compress(
            node.parent,
            node.op,
            seed=node.seed,
            teacher=node.teacher,
            name=node.name,
            tags=task.tags,
            record_failure=True,
            threads=task.threads,
            **node.params,
        )
    if info.id != node.id:
        raise RuntimeError(f"the plan expected model id {node.id} but the workspace made {info.id}")


def _evaluate(ws: Any, model_id: str, spec: EvaluateSpec) -> None:
    for dataset in missing_evaluations(ws, model_id, spec.datasets):
        ws.evaluate(
            model_id,
            dataset,
            batch_size=spec.batch_size,
            logits=spec.logits,
            features=spec.features,
            latency=spec.latency,
            threads=spec.threads,
        )


def missing_evaluations(ws: Any, model_id: str, datasets: Sequence[str]) -> list[str]:
    """The datasets (by name) this model has not been evaluated on yet."""
    done = {row.dataset_id for row in ws.store.evaluations_of(model_id)}
    return [name for name in datasets if ws.dataset(name).id not in done]


# -- in a pool worker ----------------------------------------------------------------------
_WORKSPACE: Any = None


def init_worker(
    parent: int, location: str, artifacts: str, threads: int, plugins: Sequence[str]
) -> None:
    """Pool initializer: share the cores fairly, load plugin ops, open the workspace once.

    `parent` is the executor's pid: if it is gone (killed), this worker exits too.
    """
    global _WORKSPACE
    from compresslens.quiet import quiet_if_asked
    from compresslens.workspace import Workspace

    quiet_if_asked()
    watchdog = threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True)
    watchdog.start()
    torch.set_num_threads(threads)
    for module in plugins:
        check_trusted(module, f"the plugin {module!r}")  # checked by the recipe, and again here
        importlib.import_module(module)
    _WORKSPACE = Workspace(location, artifacts=artifacts)


def _exit_with_parent(parent: int, every_s: float = 0.5) -> None:
    """A killed executor must not leave workers behind, still writing to the workspace."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(1)


def run_in_worker(task: NodeTask) -> TaskResult:
    if _WORKSPACE is None:
        raise NotFoundError("this worker has no workspace: it was not started by the executor")
    return run_task(_WORKSPACE, task)
