"""One unit of work on the store: rows and new artifact files, committed together.

The facade writes through these methods only; it never sees the session's ORM rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from compresslens.errors import DuplicateNameError, NotFoundError
from compresslens.store.artifacts import ArtifactStore
from compresslens.store.database import insert_or_ignore
from compresslens.store.schema import (
    Artifact,
    Dataset,
    Evaluation,
    Metric,
    Model,
    Operation,
    OperationParent,
)
from compresslens.store.snapshots import NewModel

Row = TypeVar("Row", Model, Dataset)


def ensure_name_free(session: Session, table: type[Row], name: str, what: str) -> None:
    if session.scalar(select(table.id).where(table.name == name)) is not None:
        raise DuplicateNameError(f"a {what} named {name!r} already exists")


def add_edge(
    session: Session,
    child_id: str,
    op_name: str,
    parents: Sequence[tuple[str, str]],
    **fields: Any,
) -> Operation:
    """Record the operation that made `child_id` from `(parent_id, role)` pairs."""
    edge = Operation(child_id=child_id, op_name=op_name, **fields)
    edge.parents = [
        OperationParent(position=i, parent_id=parent_id, role=role)
        for i, (parent_id, role) in enumerate(parents)
    ]
    session.add(edge)
    return edge


def set_metrics(
    session: Session, model_id: str, dataset_id: str | None, values: Mapping[str, float]
) -> None:
    """Replace the named metrics of a model (on a dataset, or of the model itself)."""
    if not values:
        return
    condition = (
        Metric.dataset_id.is_(None) if dataset_id is None else Metric.dataset_id == dataset_id
    )
    session.execute(
        delete(Metric).where(Metric.model_id == model_id, condition, Metric.name.in_(list(values)))
    )
    session.add_all(
        Metric(model_id=model_id, dataset_id=dataset_id, name=name, value=float(value))
        for name, value in values.items()
    )


@dataclass
class Writer:
    """One unit of work: rows go into `session`, new artifact files are remembered."""

    session: Session
    artifacts: ArtifactStore
    created: list[str] = field(default_factory=list)

    def put(self, data: bytes, kind: str) -> str:
        digest, created = self.artifacts.put(data)
        if created:
            self.created.append(digest)
        row = {"sha256": digest, "kind": kind, "size_bytes": len(data)}
        insert_or_ignore(self.session, Artifact, digest, **row)  # safe against a parallel writer
        return digest

    def add_dataset(self, arrays: bytes, table: bytes, **columns: Any) -> None:
        """A dataset row (the columns of `Dataset`) with its arrays and instance table."""
        self.session.add(
            Dataset(
                arrays_artifact=self.put(arrays, "dataset-arrays"),
                table_artifact=self.put(table, "dataset-table"),
                **columns,
            )
        )

    def add_model(self, model: NewModel, weights: bytes | None) -> None:
        """A new model row under a free name, with its weights (None: a failed node)."""
        ensure_name_free(self.session, Model, model.name, "model")
        self.session.add(
            Model(
                id=model.id,
                name=model.name,
                source=model.source,
                factory=model.factory,
                factory_kwargs=dict(model.factory_kwargs),
                input_spec=model.input_spec,
                status=model.status,
                efficiency=dict(model.efficiency),
                weights_artifact=None if weights is None else self.put(weights, "weights"),
            )
        )
        self.session.flush()

    def add_edge(self, child_id: str, op_name: str, **fields: Any) -> None:
        add_edge(self.session, child_id, op_name, **fields)

    def set_metrics(
        self, model_id: str, dataset_id: str | None, values: Mapping[str, float]
    ) -> None:
        set_metrics(self.session, model_id, dataset_id, values)

    def update_model(
        self, model_id: str, efficiency: Mapping[str, Any], input_spec: dict[str, Any] | None
    ) -> None:
        """Set a model's efficiency; `input_spec` only where none was recorded yet."""
        row = self.session.get(Model, model_id)
        if row is None:
            raise NotFoundError(f"no model with id {model_id!r}")
        row.efficiency = dict(efficiency)
        if row.input_spec is None:
            row.input_spec = input_spec

    def replace_evaluation(
        self,
        model_id: str,
        dataset_id: str,
        *,
        outputs: bytes,
        logits: bytes | None,
        features: bytes | None,
        features_module: str | None,
        details: dict[str, Any],
        wall_time_s: float | None,
    ) -> None:
        """Store one evaluation's artifacts, replacing an earlier run of the same pair."""
        self.session.execute(
            delete(Evaluation).where(
                Evaluation.model_id == model_id, Evaluation.dataset_id == dataset_id
            )
        )
        self.session.add(
            Evaluation(
                model_id=model_id,
                dataset_id=dataset_id,
                outputs_artifact=self.put(outputs, "outputs"),
                logits_artifact=None if logits is None else self.put(logits, "logits"),
                features_artifact=None if features is None else self.put(features, "features"),
                features_module=features_module,
                details=details,
                wall_time_s=wall_time_s,
            )
        )
