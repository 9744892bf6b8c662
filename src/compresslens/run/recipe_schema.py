"""The recipe schema: a sweep written as YAML — datasets, a base population, stages of ops.

```yaml
datasets:
  train: {source: fashion-mnist, split: train, limit: 12000}
base:
  factory: compresslens.models.zoo:lean_cnn
  train: {dataset: train, epochs: 2}
  seeds: 5
stages:
  - {name: pruned, op: prune.magnitude, grid: {amount: [0.5, 0.9]}}
```
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from compresslens.input_rules import check_seed
from compresslens.ops.train_params import ScratchTrainParams
from compresslens.run.source import SourceMap

BASE = "base"
MAX_NODES = 100_000  # population members or grid points: a bound a recipe can be checked in
STAGE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class Strict(BaseModel):
    """Every recipe section: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class DatasetSpec(Strict):
    """Where a dataset comes from: already in the workspace, or read from Fashion-MNIST."""

    source: Literal["workspace", "fashion-mnist"] = "workspace"
    split: Literal["train", "test"] | None = None
    limit: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> DatasetSpec:
        if self.source == "fashion-mnist" and self.split is None:
            raise ValueError("a fashion-mnist dataset needs split: train or split: test")
        if self.source == "workspace" and (self.split is not None or self.limit is not None):
            raise ValueError("split and limit apply to source: fashion-mnist only")
        return self


class EvaluateSpec(Strict):
    """What every finished model is evaluated on, and what each evaluation keeps."""

    datasets: list[str] = Field(default_factory=list)
    logits: bool = False
    features: bool | str = False
    latency: bool = True
    threads: int = Field(default=1, ge=1)
    batch_size: int = Field(default=256, ge=1)


class ResourceSpec(Strict):
    """What one node asks of a Ray cluster; the local executor shares the cores instead.

    `cpus` defaults to the recipe's `threads` (the node computes with that many).
    """

    cpus: float | None = Field(default=None, gt=0)
    gpus: float = Field(default=0, ge=0)

    @field_validator("cpus", "gpus")
    @classmethod
    def _whole_above_one(cls, amount: float | None) -> float | None:
        if amount is not None and amount > 1 and amount != int(amount):
            raise ValueError("a share of a CPU or GPU must be at most 1; above 1, a whole number")
        return amount


def _check_seed_list(seeds: list[int]) -> None:
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError("seeds must be a non-empty list of distinct seeds")
    for seed in seeds:
        check_seed(seed)  # the rule `compress` and `train` apply: 0 ≤ seed < 2**63


class BaseSpec(Strict):
    """The root population: trained here from a factory (one per seed), or an existing model."""

    model: str | None = None
    factory: str | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    train: ScratchTrainParams | None = None
    seeds: int | list[int] | None = None

    @model_validator(mode="after")
    def _check(self) -> BaseSpec:
        if (self.model is None) == (self.factory is None):
            raise ValueError("give either model: <existing model> or factory: <pkg.mod:fn>")
        if self.factory is not None and self.train is None:
            raise ValueError("a base built from a factory needs train: {dataset: …, …}")
        if self.model is not None and (self.train is not None or self.kwargs):
            raise ValueError("an existing base model takes no train or kwargs")
        return self

    @field_validator("seeds")
    @classmethod
    def _check_seeds(cls, seeds: int | list[int] | None) -> int | list[int] | None:
        if isinstance(seeds, int) and seeds < 1:
            raise ValueError("seeds must be positive (the number of population members)")
        if isinstance(seeds, int) and seeds > MAX_NODES:
            raise ValueError(f"seeds: {seeds} members is more than a sweep holds ({MAX_NODES:,})")
        if isinstance(seeds, list):
            _check_seed_list(seeds)
        return seeds

    @property
    def seed_list(self) -> list[int]:
        if self.seeds is None:
            return [0]
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


class StageSpec(Strict):
    """One operation applied to every model of its parent stage, for each grid point and seed."""

    name: str = Field(pattern=STAGE_NAME)
    parent: str = BASE
    op: str
    params: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    teacher: str | None = None
    seeds: list[int] | None = None
    evaluate: EvaluateSpec | None = None
    resources: ResourceSpec | None = None

    @field_validator("name")
    @classmethod
    def _not_base(cls, name: str) -> str:
        if name == BASE:
            raise ValueError(f"{BASE!r} is the name of the base population; pick another")
        return name

    @field_validator("grid")
    @classmethod
    def _no_empty_axis(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        empty = [key for key, values in grid.items() if not values]
        if empty:
            raise ValueError(f"grid values of {', '.join(empty)} are empty")
        points = math.prod(len(values) for values in grid.values())
        if points > MAX_NODES:
            raise ValueError(
                f"the grid has {points:,} points, more than a sweep holds ({MAX_NODES:,})"
            )
        return grid

    @model_validator(mode="after")
    def _check(self) -> StageSpec:
        both = sorted(set(self.grid) & set(self.params))
        if both:
            raise ValueError(f"{', '.join(both)} is both a fixed param and a grid axis")
        return self

    @field_validator("seeds")
    @classmethod
    def _check_seeds(cls, seeds: list[int] | None) -> list[int] | None:
        if seeds is not None:
            _check_seed_list(seeds)
        return seeds

    def grid_points(self) -> list[dict[str, Any]]:
        """The cartesian product of the grid, in the order written, each with the fixed params."""
        keys = list(self.grid)
        return [
            {**self.params, **dict(zip(keys, values, strict=True))}
            for values in itertools.product(*(self.grid[k] for k in keys))
        ]

    def choices(self) -> list[dict[str, Any]]:
        """Only the grid's values for each point: what tells this stage's models apart."""
        keys = list(self.grid)
        return [
            dict(zip(keys, values, strict=True))
            for values in itertools.product(*(self.grid[k] for k in keys))
        ]


class Recipe(Strict):
    """A whole sweep; `load_recipe` builds one and checks everything that can be checked.

    `threads` is the torch intra-op thread count every node's computation (training,
    compression, evaluation) runs with, whatever the executor and however many workers:
    the float reduction order depends on it, so it fixes the weights a recipe makes. It is
    recorded in each model's provenance. `resources` and `retries` apply on Ray (`--executor
    ray`): what each node asks for, and how often a node whose worker died is run again.
    """

    name: str | None = None
    threads: int = Field(default=1, ge=1)
    plugins: list[str] = Field(default_factory=list)
    datasets: dict[str, DatasetSpec] = Field(default_factory=dict)
    base: BaseSpec
    evaluate: EvaluateSpec = Field(default_factory=EvaluateSpec)
    stages: list[StageSpec] = Field(default_factory=list)
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    retries: int = Field(default=2, ge=0)
    _source: SourceMap = PrivateAttr(default_factory=SourceMap)

    @property
    def source(self) -> SourceMap:
        return self._source

    def stage(self, name: str) -> StageSpec:
        return next(s for s in self.stages if s.name == name)

    def stage_index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.stages) if s.name == name)

    def evaluation_for(self, stage: str) -> EvaluateSpec:
        """A stage's own evaluation settings, else the recipe's."""
        if stage == BASE:
            return self.evaluate
        return self.stage(stage).evaluate or self.evaluate

    def resources_for(self, stage: str) -> ResourceSpec:
        """A stage's own resources, else the recipe's; cpus filled in from `threads`."""
        own = None if stage == BASE else self.stage(stage).resources
        spec = own or self.resources
        return spec if spec.cpus is not None else spec.model_copy(update={"cpus": self.threads})
