"""Plain records the Workspace returns: stable, JSON-friendly views of store rows."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the store builds these records from its rows: no import at run time
    from compresslens.store.schema import Dataset, Evaluation, Metric, Model
    from compresslens.store.snapshots import MetricValue, ModelSnapshot

_SCALARS = frozenset({str, int, float, bool, type(None)})


@cache
def _field_names(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record))


def plain(value: Any) -> Any:
    """What `dataclasses.asdict` makes of a record, 5× faster.

    Records hold JSON-like values (dicts, lists, scalars), so only those need a fast path;
    anything else is deep-copied as asdict does. /api/models converts 1,000 models per call.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {k: v if type(v) in _SCALARS else plain(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else plain(v) for v in value]
    if is_dataclass(kind):
        return {name: plain(getattr(value, name)) for name in _field_names(kind)}
    return copy.deepcopy(value)


@dataclass(frozen=True)
class DatasetInfo:
    id: str
    name: str
    modality: str
    num_instances: int
    num_classes: int
    class_names: list[str]
    input_shape: list[int]
    input_dtype: str
    attribute_names: list[str]
    content_hash: str
    description: str

    @classmethod
    def from_row(cls, row: Dataset) -> DatasetInfo:
        return cls(
            id=row.id,
            name=row.name,
            modality=row.modality,
            num_instances=row.num_instances,
            num_classes=row.num_classes,
            class_names=list(row.class_names),
            input_shape=list(row.input_shape),
            input_dtype=row.input_dtype,
            attribute_names=list(row.attribute_names),
            content_hash=row.content_hash,
            description=row.description,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ReadsByKey(Mapping[str, Any]):
    """A read-only mapping view of a record's fields, so `record["name"]` works as `record.name`.

    The README documents records as JSON objects; reading them by key should not surprise.
    """

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        names = _field_names(type(self))
        if key not in names:
            raise KeyError(f"{key!r} (a {type(self).__name__} has {', '.join(names)})")
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_field_names(type(self)))

    def __len__(self) -> int:
        return len(_field_names(type(self)))


@dataclass(frozen=True)
class OperationInfo(ReadsByKey):
    """The edge that produced a model: attributes (`op.params`) or keys (`op["params"]`)."""

    name: str
    params: dict[str, Any]
    parents: list[dict[str, str]]
    seed: int | None
    library_versions: dict[str, str]
    wall_time_s: float | None
    status: str
    error: str | None
    threads: int | None = None  # torch intra-op threads the computation ran with


@dataclass(frozen=True)
class ModelInfo:
    id: str
    name: str
    source: str
    status: str
    factory: str | None
    factory_kwargs: dict[str, Any]
    has_weights: bool
    operation: OperationInfo | None
    efficiency: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    tags: list[str]
    notes: list[str]
    created_at: str
    input_spec: dict[str, Any] | None = None  # one input instance (compresslens.data.inputs)

    @property
    def parent_ids(self) -> list[str]:
        return [p["id"] for p in self.operation.parents] if self.operation else []

    @classmethod
    def from_row(
        cls,
        row: Model | ModelSnapshot,
        metrics: Sequence[Metric | MetricValue],
        dataset_names: dict[str, str],
    ) -> ModelInfo:
        edge = row.produced_by
        operation = None
        if edge is not None:
            operation = OperationInfo(
                name=edge.op_name,
                params=dict(edge.params),
                parents=[{"id": p.parent_id, "role": p.role} for p in edge.parents],
                seed=edge.seed,
                library_versions=dict(edge.library_versions),
                wall_time_s=edge.wall_time_s,
                status=edge.status,
                error=edge.error_text,
                threads=edge.threads,
            )
        grouped: dict[str, dict[str, float]] = {}
        for metric in metrics:
            key = (
                "model"
                if metric.dataset_id is None
                else dataset_names.get(metric.dataset_id, metric.dataset_id)
            )
            grouped.setdefault(key, {})[metric.name] = metric.value
        return cls(
            id=row.id,
            name=row.name,
            source=row.source,
            status=row.status,
            factory=row.factory,
            factory_kwargs=dict(row.factory_kwargs),
            has_weights=row.weights_artifact is not None,
            operation=operation,
            efficiency=dict(row.efficiency),
            metrics=grouped,
            tags=[t.tag for t in row.tags],
            notes=[n.text for n in row.notes],
            created_at=row.created_at.isoformat(),
            input_spec=None if row.input_spec is None else dict(row.input_spec),
        )

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass(frozen=True)
class EvaluationInfo:
    model_id: str
    dataset_id: str
    dataset_name: str
    metrics: dict[str, Any]
    features_module: str | None
    has_logits: bool
    has_features: bool
    wall_time_s: float | None
    efficiency: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(
        cls, row: Evaluation, dataset_name: str, efficiency: dict[str, Any]
    ) -> EvaluationInfo:
        return cls(
            model_id=row.model_id,
            dataset_id=row.dataset_id,
            dataset_name=dataset_name,
            metrics=dict(row.details),
            features_module=row.features_module,
            has_logits=row.logits_artifact is not None,
            has_features=row.features_artifact is not None,
            wall_time_s=row.wall_time_s,
            efficiency=efficiency,
        )

    @property
    def accuracy(self) -> float:
        return float(self.metrics["accuracy"])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
