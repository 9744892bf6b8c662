"""The workspace store: metadata rows and their artifacts, changed together or not at all."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, joinedload

from compresslens.errors import (
    CompressLensError,
    DatabaseUnavailableError,
    DuplicateNameError,
    NotFoundError,
)
from compresslens.store.artifacts import ArtifactStore
from compresslens.store.database import Database, insert_or_ignore, is_database_url
from compresslens.store.schema import (
    AnalysisResult,
    Artifact,
    Dataset,
    Evaluation,
    Metric,
    Model,
    Note,
    Operation,
    OperationParent,
    Tag,
)

Row = TypeVar("Row", Model, Dataset)
# A model's edge, parents, tags and notes in the model's own query (a handful of rows each):
# one round trip instead of five, which every endpoint naming models pays several times.
MODEL_RELATIONS = (
    joinedload(Model.tags),
    joinedload(Model.notes),
    joinedload(Model.produced_by).joinedload(Operation.parents),
)
DATABASE_FILE = "compresslens.db"
ARTIFACTS_DIR = "artifacts"


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


def _columns(table: type[Any], snapshot: type[Any], *relations: str) -> list[Any]:
    """The table's columns in the order of the snapshot's fields, less its trailing relations.

    A snapshot is built positionally from a row of these columns, relations by keyword.
    """
    return [getattr(table, f.name) for f in fields(snapshot) if f.name not in relations]


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


class WorkspaceStore:
    """Metadata in SQL (SQLite file or any SQLAlchemy URL), artifacts in a folder."""

    def __init__(self, location: str | Path, artifacts: str | Path | None = None) -> None:
        location = str(location)
        if is_database_url(location):
            if artifacts is None:
                raise DatabaseUnavailableError(
                    "a workspace given by database URL needs a folder for its files: "
                    "artifacts=<folder> (Python) or $COMPRESSLENS_ARTIFACTS (command line)"
                )
            url, artifacts_root = location, Path(artifacts)
        else:
            root = Path(location)
            root.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{(root / DATABASE_FILE).resolve()}"
            artifacts_root = Path(artifacts) if artifacts is not None else root / ARTIFACTS_DIR
        self.location = location
        self.db = Database(url)
        self.artifacts = ArtifactStore(artifacts_root)

    # -- units of work -------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Writer]:
        """Commit rows and artifacts together; on any error remove the files it created."""
        writer: Writer | None = None
        try:
            with self.db.transaction() as session:
                writer = Writer(session, self.artifacts)
                yield writer
        except BaseException:
            if writer is not None:
                for digest in writer.created:
                    self.artifacts.delete(digest)
            raise

    def read_artifact(self, digest: str) -> bytes:
        return self.artifacts.get(digest)

    # -- lookup --------------------------------------------------------------------------
    def _resolve(self, session: Session, table: type[Row], key: str, what: str) -> Row:
        row = session.get(table, key)
        if row is None:
            row = session.scalar(select(table).where(table.name == key))
        if row is None and len(key) >= 4:
            prefix = table.id.startswith(key, autoescape=True)  # "_" and "%" are literal
            matches = session.scalars(select(table).where(prefix)).all()
            if len(matches) == 1:
                row = matches[0]
            elif len(matches) > 1:
                raise NotFoundError(f"{what} id prefix {key!r} is ambiguous ({len(matches)} match)")
        if row is None:
            names = session.scalars(select(table.name)).all()
            close = difflib.get_close_matches(key, names, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise NotFoundError(f"no {what} with id or name {key!r} in {self.location}{hint}")
        return row

    def get_model(self, key: str) -> Model:
        """The model with its edge, tags and notes; an id costs one query (most calls)."""
        with self.db.reader() as session:
            row = session.get(Model, key, options=MODEL_RELATIONS)
            if row is None:
                row = self._resolve(session, Model, key, "model")
                row = self._load_model_relations(session, row.id)
            return row

    def _load_model_relations(self, session: Session, model_id: str) -> Model:
        statement = select(Model).where(Model.id == model_id).options(*MODEL_RELATIONS)
        return session.scalars(statement).unique().one()

    def get_dataset(self, key: str) -> Dataset:
        with self.db.reader() as session:
            return self._resolve(session, Dataset, key, "dataset")

    def find_dataset_by_name(self, name: str) -> Dataset | None:
        with self.db.reader() as session:
            return session.scalar(select(Dataset).where(Dataset.name == name))

    def list_models(self) -> list[ModelSnapshot]:
        """Every model with its edge, tags and notes, by creation: one plain query per table."""
        with self.db.reader() as session:
            parents: dict[int, list[ParentSnapshot]] = {}
            for operation_id, *parent in session.execute(
                select(
                    OperationParent.operation_id,
                    OperationParent.parent_id,
                    OperationParent.role,
                    OperationParent.position,
                ).order_by(OperationParent.operation_id, OperationParent.position)
            ):
                parents.setdefault(operation_id, []).append(ParentSnapshot(*parent))
            edges: dict[str, EdgeSnapshot] = {}
            for row in session.execute(select(*_columns(Operation, EdgeSnapshot, "parents"))):
                edges[row.child_id] = EdgeSnapshot(*row, parents=parents.get(row.id, []))
            tags: dict[str, list[TagSnapshot]] = {}
            for model_id, tag in session.execute(
                select(Tag.model_id, Tag.tag).order_by(Tag.model_id, Tag.tag)
            ):
                tags.setdefault(model_id, []).append(TagSnapshot(tag))
            notes: dict[str, list[NoteSnapshot]] = {}
            for model_id, text in session.execute(
                select(Note.model_id, Note.text).order_by(Note.model_id, Note.id)
            ):
                notes.setdefault(model_id, []).append(NoteSnapshot(text))
            statement = select(
                *_columns(Model, ModelSnapshot, "produced_by", "tags", "notes")
            ).order_by(Model.created_at, Model.name)
            return [
                ModelSnapshot(
                    *row,
                    produced_by=edges.get(row.id),
                    tags=tags.get(row.id, []),
                    notes=notes.get(row.id, []),
                )
                for row in session.execute(statement)
            ]

    def list_datasets(self) -> list[Dataset]:
        with self.db.reader() as session:
            return list(session.scalars(select(Dataset).order_by(Dataset.created_at)).all())

    def model_exists(self, model_id: str) -> bool:
        with self.db.reader() as session:
            return session.get(Model, model_id) is not None

    def lineage(self, model_id: str) -> list[Model]:
        """The chain from the root to `model_id` along each edge's first parent."""
        chain: list[Model] = []
        with self.db.reader() as session:
            current: str | None = model_id
            while current is not None:
                row = self._load_model_relations(session, current)
                chain.append(row)
                edge = row.produced_by
                current = edge.parents[0].parent_id if edge and edge.parents else None
                if len(chain) > 10_000:
                    raise NotFoundError(f"the provenance of {model_id} has a cycle")
        return chain[::-1]

    # -- evaluations and metrics -----------------------------------------------------------
    def get_evaluation(self, model_id: str, dataset_id: str) -> Evaluation:
        with self.db.reader() as session:
            row = session.scalar(
                select(Evaluation).where(
                    Evaluation.model_id == model_id, Evaluation.dataset_id == dataset_id
                )
            )
        if row is None:
            raise NotFoundError(f"model {model_id} has not been evaluated on dataset {dataset_id}")
        return row

    def evaluations_of(self, model_id: str) -> list[Evaluation]:
        with self.db.reader() as session:
            statement = select(Evaluation).where(Evaluation.model_id == model_id)
            return list(session.scalars(statement).all())

    def metrics_of(self, model_ids: Sequence[str] | None = None) -> list[MetricValue]:
        """Metric rows as plain tuples (ORM objects cost ~6 µs each; 1,000 models have 10k+)."""
        with self.db.reader() as session:
            statement = select(Metric.model_id, Metric.dataset_id, Metric.name, Metric.value)
            if model_ids is not None:
                statement = statement.where(Metric.model_id.in_(list(model_ids)))
            return [MetricValue(*row) for row in session.execute(statement)]

    # -- writes (inside a Writer) ------------------------------------------------------------
    @staticmethod
    def ensure_name_free(session: Session, table: type[Row], name: str, what: str) -> None:
        if session.scalar(select(table.id).where(table.name == name)) is not None:
            raise DuplicateNameError(f"a {what} named {name!r} already exists")

    @staticmethod
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

    @staticmethod
    def set_metrics(
        session: Session, model_id: str, dataset_id: str | None, values: dict[str, float]
    ) -> None:
        """Replace the named metrics of a model (on a dataset, or of the model itself)."""
        if not values:
            return
        condition = (
            Metric.dataset_id.is_(None) if dataset_id is None else Metric.dataset_id == dataset_id
        )
        session.execute(
            delete(Metric).where(
                Metric.model_id == model_id, condition, Metric.name.in_(list(values))
            )
        )
        session.add_all(
            Metric(model_id=model_id, dataset_id=dataset_id, name=name, value=float(value))
            for name, value in values.items()
        )

    def delete_model(self, model_id: str) -> None:
        """Remove a model with its edge, metrics, evaluations, tags and notes (not its children)."""
        with self.db.transaction() as session:
            if session.scalar(select(OperationParent).where(OperationParent.parent_id == model_id)):
                raise CompressLensError(f"model {model_id} has children; it cannot be removed")
            session.execute(delete(Evaluation).where(Evaluation.model_id == model_id))
            session.execute(delete(Metric).where(Metric.model_id == model_id))
            row = session.get(Model, model_id)
            if row is not None:
                session.delete(row)

    def cached_result(self, key: str) -> bytes | None:
        """The stored bytes of an analysis computed before under `key`, if any."""
        with self.db.reader() as session:
            row = session.get(AnalysisResult, key)
        return None if row is None else self.read_artifact(row.artifact)

    def cache_result(self, key: str, kind: str, data: bytes) -> None:
        with self.write() as writer:
            digest = writer.put(data, "analysis")
            if writer.session.get(AnalysisResult, key) is None:
                writer.session.add(AnalysisResult(key=key, kind=kind, artifact=digest))

    def add_tags(self, model_id: str, tags: Sequence[str]) -> None:
        with self.db.transaction() as session:
            for tag in tags:
                if session.get(Tag, (model_id, tag)) is None:
                    session.add(Tag(model_id=model_id, tag=tag))

    def add_note(self, model_id: str, text: str) -> None:
        with self.db.transaction() as session:
            session.add(Note(model_id=model_id, text=text))

    # -- lookups for the views the UI shows (many models at once, plain tuples) ------------
    def model_names(self, refs: Sequence[str]) -> list[tuple[str, str]]:
        """(id, name) of every model whose id or name is one of `refs`, in one query."""
        with self.db.reader() as session:
            statement = select(Model.id, Model.name).where(
                or_(Model.id.in_(refs), Model.name.in_(refs))
            )
            return [(row.id, row.name) for row in session.execute(statement)]

    def all_model_names(self) -> list[tuple[str, str]]:
        """(id, name) of every model, in `list_models` order: what a selector of plain ids and
        names reads, without loading every model's relations."""
        with self.db.reader() as session:
            statement = select(Model.id, Model.name).order_by(Model.created_at, Model.name)
            return [(row.id, row.name) for row in session.execute(statement)]

    def outputs_artifacts(self, model_ids: Sequence[str]) -> dict[tuple[str, str], str]:
        """The outputs artifact of every evaluation of these models, by (model id, dataset id)."""
        with self.db.reader() as session:
            statement = select(
                Evaluation.model_id, Evaluation.dataset_id, Evaluation.outputs_artifact
            ).where(Evaluation.model_id.in_(model_ids))
            rows = session.execute(statement).all()
        return {(r.model_id, r.dataset_id): r.outputs_artifact for r in rows if r.outputs_artifact}
