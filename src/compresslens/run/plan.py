"""A recipe expanded into a DAG of model nodes, with the ids the workspace will give them.

Pure (no I/O): ids come from `compresslens.ids` over normalized parameters, so a plan can be
compared with a workspace to see what is done, and a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from compresslens.errors import CompressLensError
from compresslens.ids import derived_model_id, trained_model_id
from compresslens.models.factory import check_json_kwargs
from compresslens.ops.registry import get_operation
from compresslens.run.errors import RecipeError
from compresslens.run.recipe import BASE, Recipe
from compresslens.run.stages import stage_order, stage_seeds

TRAIN_OP = "train.scratch"
MAX_NAME = 200
NodeKind = Literal["existing", "train", "compress"]


@dataclass(frozen=True)
class PlanNode:
    """One model of the sweep: how it is made (op, params, seed) and from which parents."""

    id: str
    stage: str
    seed: int
    op: str  # "train.scratch" for a trained root, "" for an existing base model
    params: dict[str, Any]  # normalized: exactly what the edge will store and hash
    name: str
    parent: str | None = None
    teacher: str | None = None
    choices: tuple[tuple[str, Any], ...] = ()  # grid values along the chain from the base
    factory: str | None = None
    factory_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> NodeKind:
        if not self.op:
            return "existing"
        return "train" if self.parent is None else "compress"

    @property
    def parents(self) -> list[str]:
        return [p for p in (self.parent, self.teacher) if p is not None]

    @property
    def label(self) -> str:
        """'pruned amount=0.5 seed=0': the stage, its grid values and the seed."""
        values = " ".join(f"{k}={_text(v)}" for k, v in self.choices)
        return " ".join(part for part in (self.stage, values, f"seed={self.seed}") if part)


@dataclass(frozen=True)
class Plan:
    """Nodes in dependency order (every node after its parents and teacher)."""

    nodes: tuple[PlanNode, ...]
    stages: tuple[str, ...]  # "base" first, then stages in dependency order

    def __iter__(self) -> Iterator[PlanNode]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, node_id: str) -> PlanNode:
        return next(n for n in self.nodes if n.id == node_id)

    def stage_nodes(self, stage: str) -> list[PlanNode]:
        return [n for n in self.nodes if n.stage == stage]

    def descendants(self, node_id: str) -> set[str]:
        """Every node that needs `node_id`, directly or not (as input or as teacher)."""
        found: set[str] = set()
        for node in self.nodes:  # dependency order: parents are seen before children
            if any(p == node_id or p in found for p in node.parents):
                found.add(node.id)
        return found


def build_plan(recipe: Recipe, base_model_id: str | None = None) -> Plan:
    """Expand stages × seeds × grid points; `base_model_id` is the id of `base.model`, if any."""
    nodes: list[PlanNode] = []
    by_stage_seed: dict[tuple[str, int], list[PlanNode]] = {}
    for seed, node in _base_nodes(recipe, base_model_id):
        by_stage_seed[(BASE, seed)] = [node]
        if node not in nodes:
            nodes.append(node)
    seeds = stage_seeds(recipe)
    order = stage_order(recipe)
    seen: dict[str, PlanNode] = {n.id: n for n in nodes}
    for name in order:
        stage = recipe.stage(name)
        operation = get_operation(stage.op)
        points = [
            (_normalized(operation, point, name), choice)
            for point, choice in zip(stage.grid_points(), stage.choices(), strict=True)
        ]
        for seed in seeds[name]:
            made: list[PlanNode] = []
            teacher = by_stage_seed[(stage.teacher, seed)][0] if stage.teacher else None
            for parent in by_stage_seed[(stage.parent, seed)]:
                for params, choice in points:
                    node = _derived_node(name, seed, stage.op, params, parent, teacher, choice)
                    if node.id in seen:
                        raise RecipeError(
                            f"{node.label!r} and {seen[node.id].label!r} would be the same "
                            f"model ({node.id}): same parent, operation, parameters and seed"
                        )
                    seen[node.id] = node
                    made.append(node)
            by_stage_seed[(name, seed)] = made
            nodes.extend(made)
    return Plan(tuple(nodes), (BASE, *order))


def _base_nodes(recipe: Recipe, base_model_id: str | None) -> list[tuple[int, PlanNode]]:
    base = recipe.base
    seeds = base.seed_list
    if base.model is not None:
        if base_model_id is None:
            raise RecipeError(f"the plan needs the id of the existing base model {base.model!r}")
        node = PlanNode(
            id=base_model_id, stage=BASE, seed=seeds[0], op="", params={}, name=base.model
        )
        return [(seed, node) for seed in seeds]
    assert base.factory is not None and base.train is not None
    try:
        kwargs = check_json_kwargs(base.kwargs)
    except CompressLensError as exc:
        raise recipe.source.error(("base", "kwargs"), str(exc)) from None
    params = base.train.model_dump(mode="json")
    short = base.factory.rpartition(":")[2] or BASE
    result = []
    for seed in seeds:
        model_id = trained_model_id(base.factory, kwargs, params, seed)
        node = PlanNode(
            id=model_id,
            stage=BASE,
            seed=seed,
            op=TRAIN_OP,
            params=params,
            name=_name(short, (), seed, model_id),
            factory=base.factory,
            factory_kwargs=kwargs,
        )
        result.append((seed, node))
    return result


def _derived_node(
    stage: str,
    seed: int,
    op: str,
    params: dict[str, Any],
    parent: PlanNode,
    teacher: PlanNode | None,
    choice: dict[str, Any],
) -> PlanNode:
    edge_parents = [(parent.id, "input")]
    if teacher is not None:
        edge_parents.append((teacher.id, "teacher"))
    model_id = derived_model_id(edge_parents, op, params, seed)
    choices = (*parent.choices, *choice.items())
    return PlanNode(
        id=model_id,
        stage=stage,
        seed=seed,
        op=op,
        params=params,
        name=_name(stage, choices, seed, model_id),
        parent=parent.id,
        teacher=teacher.id if teacher is not None else None,
        choices=choices,
    )


def _normalized(operation: Any, point: dict[str, Any], stage: str) -> dict[str, Any]:
    try:
        return operation.normalized(point)
    except CompressLensError as exc:
        raise RecipeError(f"stage {stage!r}: {exc}") from None


def _name(stage: str, choices: tuple[tuple[str, Any], ...], seed: int, model_id: str) -> str:
    """'pruned[amount=0.5]-s0#1a2b3c': readable, and unique through the id's prefix."""
    values = ",".join(f"{k}={_text(v)}" for k, v in choices)
    head = f"{stage}[{values}]" if values else stage
    tail = f"-s{seed}#{model_id[:6]}"
    return head[: MAX_NAME - len(tail)] + tail


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
