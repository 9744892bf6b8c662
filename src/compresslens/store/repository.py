"""The workspace store: metadata rows and their artifacts, changed together or not at all."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, joinedload

from compresslens.errors import (
    CompressLensError,
    DatabaseUnavailableError,
    NotFoundError,
)
from compresslens.input_rules import shown
from compresslens.records import DatasetInfo, EvaluationInfo, ModelInfo
from compresslens.store.artifacts import ArtifactStore
from compresslens.store.database import (
    Database,
    insert_or_ignore,
    is_database_url,
    translated_errors,
)
from compresslens.store.garbage import GarbageReport, collect_garbage
from compresslens.store.integrity import check_models, restore_weights
from compresslens.store.schema import (
    AnalysisResult,
    Dataset,
    Evaluation,
    Metric,
    Model,
    Note,
    Operation,
    OperationParent,
    Tag,
)
from compresslens.store.snapshots import (
    DatasetFiles,
    EdgeSnapshot,
    EvaluationFiles,
    MetricValue,
    ModelSnapshot,
    NoteSnapshot,
    ParentSnapshot,
    TagSnapshot,
)
from compresslens.store.writer import Row, Writer, add_edge, ensure_name_free, set_metrics

__all__ = ["MetricValue", "ModelSnapshot", "WorkspaceStore", "Writer"]

# A model's edge, parents, tags and notes in the model's own query (a handful of rows each):
# one round trip instead of five, which every endpoint naming models pays several times.
MODEL_RELATIONS = (
    joinedload(Model.tags),
    joinedload(Model.notes),
    joinedload(Model.produced_by).joinedload(Operation.parents),
)
# No id or name is longer (the schema's widest key column): a longer key is not looked up,
# so it can neither overflow a LIKE pattern nor be echoed back whole.
LONGEST_KEY = max(
    column.type.length or 0 for table in (Model, Dataset) for column in (table.id, table.name)
)
DATABASE_FILE = "compresslens.db"
ARTIFACTS_DIR = "artifacts"


def _columns(table: type[Any], snapshot: type[Any], *relations: str) -> list[Any]:
    """The table's columns in the order of the snapshot's fields, less its trailing relations.

    A snapshot is built positionally from a row of these columns, relations by keyword.
    """
    return [getattr(table, f.name) for f in fields(snapshot) if f.name not in relations]


class WorkspaceStore:
    """Metadata in SQL (SQLite file or any SQLAlchemy URL), artifacts in a folder."""

    def __init__(
        self, location: str | Path, artifacts: str | Path | ArtifactStore | None = None
    ) -> None:
        """`artifacts`: a folder, a URL (`s3://bucket/prefix`) or a configured ArtifactStore."""
        location = str(location)
        if is_database_url(location):
            if artifacts is None:
                raise DatabaseUnavailableError(
                    "a workspace given by database URL needs a folder or URL for its files: "
                    "artifacts=<folder or URL> (Python) or $COMPRESSLENS_ARTIFACTS (command line)"
                )
            url = location
        else:
            root = Path(location)
            root.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{(root / DATABASE_FILE).resolve()}"
            artifacts = root / ARTIFACTS_DIR if artifacts is None else artifacts
        self.location = location
        self.db = Database(url)
        self.artifacts = (
            artifacts if isinstance(artifacts, ArtifactStore) else ArtifactStore(artifacts)
        )

    # -- units of work -------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Writer]:
        """Commit rows together or not at all; files stay (see `Writer`), and a collision
        with another writer is the store's own error, never a raw database one."""
        with translated_errors(), self.db.transaction() as session:
            yield Writer(session, self.artifacts)

    def read_artifact(self, digest: str) -> bytes:
        return self.artifacts.get(digest)

    # -- lookup --------------------------------------------------------------------------
    def _resolve(self, session: Session, table: type[Row], key: str, what: str) -> Row:
        refuse_overlong_key(key, what)
        row = session.get(table, key)
        if row is None:
            row = session.scalar(select(table).where(table.name == key))
        if row is None and 4 <= len(key) <= 32:  # ids are String(32): no longer key prefixes one
            prefix = table.id.startswith(key, autoescape=True)  # "_" and "%" are literal
            matches = session.scalars(select(table).where(prefix)).all()
            if len(matches) == 1:
                row = matches[0]
            elif len(matches) > 1:
                raise NotFoundError(f"{what} id prefix {key!r} is ambiguous ({len(matches)} match)")
        if row is None:
            names = session.scalars(select(table.name)).all()  # a key ≤ LONGEST_KEY here
            close = difflib.get_close_matches(key, names, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise NotFoundError(f"no {what} with id or name {shown(key)} in {self.location}{hint}")
        return row

    def get_model(self, key: str) -> Model:
        """The model with its edge, tags and notes; an id costs one query (most calls)."""
        with self.db.reader() as session:
            return self._model_with_relations(session, key)

    def _model_with_relations(self, session: Session, key: str) -> Model:
        """By id, else by name, else by unique id prefix; the relations in the same query."""
        refuse_overlong_key(key, "model")
        row = session.get(Model, key, options=MODEL_RELATIONS)
        if row is None:
            by_name = select(Model).where(Model.name == key).options(*MODEL_RELATIONS)
            row = session.scalars(by_name).unique().one_or_none()
        if row is None:
            found = self._resolve(session, Model, key, "model")
            row = self._load_model_relations(session, found.id)
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
    # The writes below predate `Writer`'s methods; kept for callers holding a session.
    ensure_name_free = staticmethod(ensure_name_free)
    add_edge = staticmethod(add_edge)
    set_metrics = staticmethod(set_metrics)

    # -- records: plain values out, each from one reader session ------------------------------
    def model_info(self, key: str) -> ModelInfo:
        """The model by id, name or unique id prefix, with its metrics (two queries by id)."""
        with self.db.reader() as session:
            row = self._model_with_relations(session, key)
            return ModelInfo.from_row(row, *self._named_metrics(session, [row.id]))

    def model_infos(self) -> list[ModelInfo]:
        """Every model with its metrics, by creation."""
        snapshots = self.list_models()
        with self.db.reader() as session:
            metrics, names = self._named_metrics(session, None)
        by_model: dict[str, list[MetricValue]] = {}
        for metric in metrics:
            by_model.setdefault(metric.model_id, []).append(metric)
        return [ModelInfo.from_row(s, by_model.get(s.id, []), names) for s in snapshots]

    @staticmethod
    def _named_metrics(
        session: Session, model_ids: Sequence[str] | None
    ) -> tuple[list[MetricValue], dict[str, str]]:
        """Metric rows with the names of their datasets, in one query."""
        statement = select(
            Metric.model_id, Metric.dataset_id, Metric.name, Metric.value, Dataset.name
        ).outerjoin(Dataset, Metric.dataset_id == Dataset.id)
        if model_ids is not None:
            statement = statement.where(Metric.model_id.in_(list(model_ids)))
        metrics, names = [], {}
        for *values, dataset_name in session.execute(statement):
            metrics.append(MetricValue(*values))
            if dataset_name is not None:
                names[values[1]] = dataset_name
        return metrics, names

    def lineage_snapshots(self, model_id: str) -> list[ModelSnapshot]:
        """`lineage` as plain snapshots: the chain from the root to `model_id`."""
        return [_snapshot(row) for row in self.lineage(model_id)]

    def model_id(self, key: str) -> str:
        """The id of the model with this id, name or unique id prefix (one query by id)."""
        refuse_overlong_key(key, "model")
        with self.db.reader() as session:
            found = session.scalar(select(Model.id).where(Model.id == key))
            return found or self._resolve(session, Model, key, "model").id

    def model_status(self, model_id: str) -> str | None:
        """ "ready" or "failed", None when no model has this id."""
        with self.db.reader() as session:
            return session.scalar(select(Model.status).where(Model.id == model_id))

    def dataset_info(self, key: str) -> DatasetInfo:
        with self.db.reader() as session:
            return DatasetInfo.from_row(self._resolve(session, Dataset, key, "dataset"))

    def dataset_infos(self) -> list[DatasetInfo]:
        return [DatasetInfo.from_row(row) for row in self.list_datasets()]

    def dataset_named(self, name: str) -> DatasetInfo | None:
        row = self.find_dataset_by_name(name)
        return None if row is None else DatasetInfo.from_row(row)

    def dataset_files(self, key: str) -> DatasetFiles:
        with self.db.reader() as session:
            row = self._resolve(session, Dataset, key, "dataset")
            return DatasetFiles(row.id, row.arrays_artifact, row.table_artifact)

    def evaluation_files(self, model_id: str, dataset_id: str) -> EvaluationFiles:
        """The artifacts of one evaluation, in one query; NotFoundError if it never ran."""
        statement = select(
            Evaluation.model_id,
            Evaluation.dataset_id,
            Evaluation.outputs_artifact,
            Evaluation.logits_artifact,
            Evaluation.features_artifact,
            Evaluation.features_module,
        ).where(Evaluation.model_id == model_id, Evaluation.dataset_id == dataset_id)
        with self.db.reader() as session:
            row = session.execute(statement).one_or_none()
        if row is None:
            raise NotFoundError(f"model {model_id} has not been evaluated on dataset {dataset_id}")
        return EvaluationFiles(*row)

    def evaluation_infos(
        self, model_id: str, dataset_id: str | None = None
    ) -> list[EvaluationInfo]:
        """A model's evaluations (on one dataset, or all) with dataset names and efficiency."""
        statement = (
            select(Evaluation, Dataset.name, Model.efficiency)
            .join(Dataset, Evaluation.dataset_id == Dataset.id)
            .join(Model, Evaluation.model_id == Model.id)
            .where(Evaluation.model_id == model_id)
        )
        if dataset_id is not None:
            statement = statement.where(Evaluation.dataset_id == dataset_id)
        with self.db.reader() as session:
            rows = session.execute(statement).all()
            return [EvaluationInfo.from_row(row, name, dict(eff)) for row, name, eff in rows]

    def evaluated_dataset_ids(self, model_id: str) -> list[str]:
        statement = select(Evaluation.dataset_id).where(Evaluation.model_id == model_id)
        with self.db.reader() as session:
            return list(session.scalars(statement).all())

    def get_result(self, kind: str, key: str) -> Any | None:
        """The JSON value of an analysis stored under `key` (see `put_result`), else None."""
        with self.db.reader() as session:
            row = session.get(AnalysisResult, key)
        if row is None:
            return None
        if row.kind != kind:
            raise CompressLensError(f"stored result {key} is a {row.kind!r}, not a {kind!r}")
        return json.loads(self.read_artifact(row.artifact))

    def put_result(self, kind: str, key: str, value: Any) -> None:
        """Store a JSON-able analysis result once under `key`: a hash of the analysis's kind,
        version and inputs, so a changed analysis (a bumped version) is computed anew."""
        self.cache_result(key, kind, json.dumps(value).encode())

    def delete_model(self, model_id: str) -> None:
        """Remove a model with its edge, metrics, evaluations, tags and notes (not its children);
        its files stay until `collect_garbage`."""
        with translated_errors(), self.db.transaction() as session:
            if session.scalar(select(OperationParent).where(OperationParent.parent_id == model_id)):
                raise CompressLensError(f"model {model_id} has children; it cannot be removed")
            session.execute(delete(Evaluation).where(Evaluation.model_id == model_id))
            session.execute(delete(Metric).where(Metric.model_id == model_id))
            row = session.get(Model, model_id)
            if row is not None:
                session.delete(row)

    def cached_result(self, key: str) -> bytes | None:
        """The stored bytes of an analysis computed before under `key`, if any (raw form of
        `get_result`)."""
        with self.db.reader() as session:
            row = session.get(AnalysisResult, key)
        return None if row is None else self.read_artifact(row.artifact)

    def cache_result(self, key: str, kind: str, data: bytes) -> None:
        with self.write() as writer:
            digest = writer.put(data, "analysis")
            if writer.session.get(AnalysisResult, key) is None:
                writer.session.add(AnalysisResult(key=key, kind=kind, artifact=digest))

    def add_tags(self, model_id: str, tags: Sequence[str]) -> None:
        """Tag a model; a tag it has (or another writer adds at the same moment) stays one."""
        with translated_errors(), self.db.transaction() as session:
            for tag in dict.fromkeys(tags):
                insert_or_ignore(session, Tag, (model_id, tag), model_id=model_id, tag=tag)

    def add_note(self, model_id: str, text: str) -> None:
        with translated_errors(), self.db.transaction() as session:
            session.add(Note(model_id=model_id, text=text))

    # -- integrity: what a cache hit checks, and garbage collection --------------------------
    def check_models(self, model_ids: Sequence[str]) -> set[str]:
        """The models of `model_ids` whose weights are there and verify. Their evaluations
        whose files are missing or corrupt are removed, so that they are run again."""
        return check_models(self.db, self.artifacts, model_ids)

    def restore_weights(self, model_id: str, weights: bytes) -> None:
        """Write a model's damaged weights file again from the model made anew (see
        `integrity.restore_weights`)."""
        restore_weights(self.db, self.artifacts, model_id, weights)

    def collect_garbage(self, *, dry_run: bool, grace_s: float) -> GarbageReport:
        """Delete the artifact files no row names, older than `grace_s` (see `garbage`)."""
        return collect_garbage(self.db, self.artifacts, dry_run=dry_run, grace_s=grace_s)

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


def refuse_overlong_key(key: str, what: str) -> None:
    """A key longer than any id or name names nothing: say so without echoing it whole."""
    if len(key) > LONGEST_KEY:
        raise NotFoundError(
            f"no {what} with id or name {key[:24]!r}… ({len(key):,} characters; ids and names "
            f"have at most {LONGEST_KEY})"
        )


def _snapshot(row: Model) -> ModelSnapshot:
    """A model row read with its relations, as plain values."""
    edge = row.produced_by
    return ModelSnapshot(
        *(getattr(row, f.name) for f in fields(ModelSnapshot)[:-3]),
        produced_by=None
        if edge is None
        else EdgeSnapshot(
            *(getattr(edge, f.name) for f in fields(EdgeSnapshot)[:-1]),
            parents=[ParentSnapshot(p.parent_id, p.role, p.position) for p in edge.parents],
        ),
        tags=[TagSnapshot(t.tag) for t in row.tags],
        notes=[NoteSnapshot(n.text) for n in row.notes],
    )
