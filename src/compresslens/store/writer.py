"""One unit of work on the store: rows and new artifact files, committed together.

The facade writes through these methods only; it never sees the session's ORM rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from compresslens.errors import DuplicateNameError, NotFoundError
from compresslens.store.artifacts import ArtifactStore
from compresslens.store.database import insert_or_ignore, upsert
from compresslens.store.integrity import rewrite
from compresslens.store.schema import (
    Artifact,
    Dataset,
    Evaluation,
    Metric,
    Model,
    Operation,
    OperationParent,
    utcnow,
)
from compresslens.store.snapshots import NewModel

Row = TypeVar("Row", Model, Dataset)
METRIC_KEY = ("model_id", "dataset_id", "name")


def ensure_name_free(
    session: Session, table: type[Row], name: str, what: str, own_id: str | None = None
) -> None:
    """DuplicateNameError unless `name` is free (or held by the row `own_id` itself)."""
    holder = session.scalar(select(table.id).where(table.name == name))
    if holder is not None and holder != own_id:
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
    if dataset_id is not None:  # one statement per metric: safe against a parallel writer
        for name, value in values.items():
            upsert(
                session, Metric, METRIC_KEY,
                model_id=model_id, dataset_id=dataset_id, name=name, value=float(value),
            )  # fmt: skip
        return
    # a NULL dataset id is no key to conflict on (NULLs differ): delete, then insert
    session.execute(
        delete(Metric).where(
            Metric.model_id == model_id,
            Metric.dataset_id.is_(None),
            Metric.name.in_(list(values)),
        )
    )
    session.add_all(
        Metric(model_id=model_id, dataset_id=None, name=name, value=float(value))
        for name, value in values.items()
    )


@dataclass
class Writer:
    """One unit of work: rows go into `session`, artifact files into `artifacts`.

    A file is never deleted here, not even when the unit of work fails: another writer may
    have committed a row naming the same content-addressed file meanwhile. Files no row
    names are removed by `WorkspaceStore.collect_garbage` (`compresslens gc`) only.
    """

    session: Session
    artifacts: ArtifactStore

    def put(self, data: bytes, kind: str) -> str:
        digest, created = rewrite(self.artifacts, data)  # a changed file of its name: replaced
        if not created:  # maybe an old orphan: made young, so a running gc spares it
            self.artifacts.touch(digest)
        row = {"sha256": digest, "kind": kind, "size_bytes": len(data)}
        insert_or_ignore(self.session, Artifact, digest, **row)  # safe against a parallel writer
        return digest

    def add_dataset(self, arrays: bytes, table: bytes, **columns: Any) -> bool:
        """A dataset row (the columns of `Dataset`) with its arrays and instance table; False
        when this dataset (its id: name and content) is stored already."""
        if self.session.get(Dataset, columns["id"]) is not None:
            return False
        row = {
            **columns,
            "arrays_artifact": self.put(arrays, "dataset-arrays"),
            "table_artifact": self.put(table, "dataset-table"),
        }
        return self._insert_unless_there(Dataset, row, "dataset")

    def add_model(self, model: NewModel, weights: bytes | None) -> bool:
        """A new model row under a free name, with its weights (None: a failed node).

        Idempotent: False when a model with this id is stored already (another writer of
        the same content won; its row stands), DuplicateNameError when a different model
        holds the name."""
        if self.session.get(Model, model.id) is not None:
            return False
        # own_id: a writer of this very model may have committed since the look-up above
        ensure_name_free(self.session, Model, model.name, "model", model.id)
        row = {
            "id": model.id,
            "name": model.name,
            "source": model.source,
            "factory": model.factory,
            "factory_kwargs": dict(model.factory_kwargs),
            "input_spec": model.input_spec,
            "status": model.status,
            "efficiency": dict(model.efficiency),
            "weights_artifact": None if weights is None else self.put(weights, "weights"),
        }
        return self._insert_unless_there(Model, row, "model")

    def _insert_unless_there(self, table: type[Row], row: dict[str, Any], what: str) -> bool:
        """Insert, or find that a racing writer stored the same id (False) or took the name."""
        if insert_or_ignore(self.session, table, row["id"], **row):
            return True
        if self.session.get(table, row["id"]) is not None:
            return False
        raise DuplicateNameError(
            f"a different {what} named {row['name']!r} was stored by another writer just now"
        )

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
        """Store one evaluation's artifacts, replacing an earlier run of the same pair (also
        one another writer stores at the same moment: the later commit wins)."""
        upsert(
            self.session,
            Evaluation,
            ("model_id", "dataset_id"),
            model_id=model_id,
            dataset_id=dataset_id,
            outputs_artifact=self.put(outputs, "outputs"),
            logits_artifact=None if logits is None else self.put(logits, "logits"),
            features_artifact=None if features is None else self.put(features, "features"),
            features_module=features_module,
            details=details,
            wall_time_s=wall_time_s,
            created_at=utcnow(),
        )
