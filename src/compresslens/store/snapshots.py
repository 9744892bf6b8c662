"""Plain rows the store hands out: frozen values read once, never ORM objects or sessions.

The public records (ModelInfo, DatasetInfo, EvaluationInfo) live in `compresslens.records`;
these are the store's own: a model row with its relations, the artifact digests behind a
dataset or an evaluation, and the draft of a model about to be written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


class MetricValue(NamedTuple):
    """One metric row as plain values (what the readers of `metrics_of` use)."""

    model_id: str
    dataset_id: str | None
    name: str
    value: float


@dataclass(frozen=True)
class ParentSnapshot:
    parent_id: str
    role: str
    position: int


@dataclass(frozen=True)
class EdgeSnapshot:
    """An `Operation` row with its parents, read once."""

    id: int
    child_id: str
    op_name: str
    params: dict[str, Any]
    seed: int | None
    library_versions: dict[str, str]
    wall_time_s: float | None
    status: str
    error_text: str | None
    created_at: datetime
    threads: int | None
    parents: list[ParentSnapshot]


@dataclass(frozen=True)
class TagSnapshot:
    tag: str


@dataclass(frozen=True)
class NoteSnapshot:
    text: str


@dataclass(frozen=True)
class ModelSnapshot:
    """A `Model` row with its edge, tags and notes: the same attributes, plain values.

    `list_models` returns these rather than ORM objects: building ~16 ORM objects per model
    (with its metrics) made listing 1,000 models take a third of a second.
    """

    id: str
    name: str
    source: str
    factory: str | None
    factory_kwargs: dict[str, Any]
    weights_artifact: str | None
    status: str
    efficiency: dict[str, Any]
    created_at: datetime
    input_spec: dict[str, Any] | None
    produced_by: EdgeSnapshot | None
    tags: list[TagSnapshot]
    notes: list[NoteSnapshot]


@dataclass(frozen=True)
class DatasetFiles:
    """The artifacts that hold a dataset's arrays and its per-instance table."""

    dataset_id: str
    arrays: str
    table: str


@dataclass(frozen=True)
class EvaluationFiles:
    """The artifacts of one evaluation (None where it did not keep that array)."""

    model_id: str
    dataset_id: str
    outputs: str | None
    logits: str | None
    features: str | None
    features_module: str | None


@dataclass
class NewModel:
    """A model about to be stored: the caller fills it in, `Writer.add_model` writes it."""

    id: str
    name: str
    source: str
    factory: str | None = None
    factory_kwargs: dict[str, Any] = field(default_factory=dict)
    input_spec: dict[str, Any] | None = None
    status: str = "ready"
    efficiency: dict[str, Any] = field(default_factory=dict)
