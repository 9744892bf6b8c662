"""The store on a real PostgreSQL server (a throwaway one per session: tests/postgres_server.py).

SQLite forgives what PostgreSQL does not (32-bit integers, LIKE patterns, timestamps with
their zone, concurrent writers), so the same schema, migrations and unit of work run here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import BigInteger, inspect, select, text
from sqlalchemy.exc import IntegrityError

from compresslens.errors import CompressLensError, DuplicateNameError, NotFoundError
from compresslens.store.database import (
    Database,
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
)
from compresslens.store.repository import WorkspaceStore
from compresslens.store.schema import (
    AnalysisResult,
    Artifact,
    Base,
    Dataset,
    Evaluation,
    Metric,
    Model,
    OperationParent,
)


def test_migrations_to_head_build_exactly_the_orm_schema(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        assert db.engine.dialect.name == "postgresql"
        assert current_revision(db.engine) == head_revision(db.engine)
        with db.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
            tables = set(inspect(connection).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"} == tables
    finally:
        db.close()


def test_reopening_a_migrated_database_changes_nothing(pg_url: str) -> None:
    Database(pg_url).close()
    db = Database(pg_url)  # at head already: no migration runs, nothing fails
    try:
        assert current_revision(db.engine) == head_revision(db.engine)
    finally:
        db.close()


def test_a_workspace_made_before_0003_is_upgraded_in_place(pg_url: str) -> None:
    """Revision 0003 widens artifact sizes and seeds to 64 bits, keeping the rows."""
    engine = make_engine(pg_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(
            text("INSERT INTO artifacts VALUES ('ab', 'weights', 3, '2026-01-01 00:00:00+00')")
        )
    engine.dispose()
    db = Database(pg_url)
    try:
        assert current_revision(db.engine) == head_revision(db.engine)
        with db.engine.connect() as connection:
            columns = {c["name"]: c["type"] for c in inspect(connection).get_columns("artifacts")}
            assert isinstance(columns["size_bytes"], BigInteger)
            assert connection.execute(text("SELECT size_bytes FROM artifacts")).scalar() == 3
    finally:
        db.close()


def test_a_database_from_a_newer_release_is_refused(pg_url: str) -> None:
    db = Database(pg_url)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.close()
    with pytest.raises(CompressLensError, match="9999"):
        Database(pg_url)


def test_foreign_keys_are_enforced(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with pytest.raises(IntegrityError), db.transaction() as session:
            session.execute(text("INSERT INTO tags (model_id, tag) VALUES ('no-such-model', 't')"))
    finally:
        db.close()


def _store(pg_url: str, tmp_path: Path) -> WorkspaceStore:
    return WorkspaceStore(pg_url, artifacts=tmp_path / "artifacts")


def _dataset(writer, name: str = "digits") -> Dataset:  # type: ignore[no-untyped-def]
    row = Dataset(
        id=f"d-{name}",
        name=name,
        modality="image",
        num_instances=3,
        num_classes=2,
        class_names=["zero", "ü-one"],
        input_shape=[1, 8, 8],
        input_dtype="float32",
        attribute_names=["parity"],
        content_hash="c" * 64,
        arrays_artifact=writer.put(b"arrays of " + name.encode(), "dataset-arrays"),
        table_artifact=writer.put(b"table of " + name.encode(), "dataset-table"),
        description="a dataset ✓",
    )
    writer.session.add(row)
    return row


def test_the_unit_of_work_round_trips_every_table(pg_url: str, tmp_path: Path) -> None:
    store = _store(pg_url, tmp_path)
    try:
        with store.write() as writer:
            dataset = _dataset(writer)
            weights = writer.put(b"weights", "weights")
            assert writer.put(b"weights", "weights") == weights  # same bytes: one row
            base = Model(
                id="m-base",
                name="base",
                source="added",
                factory="factories:digits_mlp",
                factory_kwargs={"hidden": 32, "nested": {"list": [1, 2.5, None, True]}},
                weights_artifact=weights,
                efficiency={"parameters": 2410, "dense_bytes": 9640, "sparse": False},
            )
            teacher = Model(id="m-teacher", name="teacher", source="added", factory="f:g")
            child = Model(id="m-child", name="child", source="derived", efficiency={})
            writer.session.add_all([base, teacher, child])
            writer.session.flush()
            store.add_edge(
                writer.session,
                "m-child",
                "distill.kd",
                [("m-base", "input"), ("m-teacher", "teacher")],
                params={"temperature": 4.0, "layers": ["fc1", "fc2"]},
                seed=7,
                library_versions={"torch": "2.13.0"},
                wall_time_s=0.25,
            )
            store.set_metrics(writer.session, "m-child", None, {"parameters": 2410})
            store.set_metrics(
                writer.session, "m-child", dataset.id, {"accuracy": 0.75, "loss": float("inf")}
            )
            writer.session.add(
                Evaluation(
                    model_id="m-child",
                    dataset_id=dataset.id,
                    outputs_artifact=writer.put(b"parquet", "outputs"),
                    details={"per_class": {"zero": 0.5, "ü-one": None}},
                    wall_time_s=0.5,
                )
            )
        # replacing metrics deletes and inserts in one transaction
        with store.write() as writer:
            store.set_metrics(writer.session, "m-child", dataset.id, {"accuracy": 0.8})
        store.add_tags("m-child", ["stage:kd", "seed:7"])
        store.add_tags("m-child", ["seed:7"])  # a tag again: no duplicate, no error
        store.add_note("m-child", "first")
        store.add_note("m-child", "second — with ✓ unicode")
        store.cache_result("k" * 64, "pies", b'{"pies": []}')
        store.cache_result("k" * 64, "pies", b'{"pies": []}')  # cached once

        row = store.get_model("child")
        assert row.produced_by is not None
        assert row.produced_by.op_name == "distill.kd"
        assert row.produced_by.params == {"temperature": 4.0, "layers": ["fc1", "fc2"]}
        assert row.produced_by.seed == 7
        parents = [(p.parent_id, p.role, p.position) for p in row.produced_by.parents]
        assert parents == [("m-base", "input", 0), ("m-teacher", "teacher", 1)]
        assert [t.tag for t in row.tags] == ["seed:7", "stage:kd"]
        assert [n.text for n in row.notes] == ["first", "second — with ✓ unicode"]
        assert row.created_at.tzinfo is not None

        base_row = store.get_model("m-base")
        assert base_row.factory_kwargs == {"hidden": 32, "nested": {"list": [1, 2.5, None, True]}}
        assert base_row.efficiency == {"parameters": 2410, "dense_bytes": 9640, "sparse": False}
        assert store.read_artifact(base_row.weights_artifact) == b"weights"
        assert store.get_model("m-chi").id == "m-child"  # an id prefix
        assert store.get_dataset("digits").class_names == ["zero", "ü-one"]

        metrics = {(m.dataset_id, m.name): m.value for m in store.metrics_of(["m-child"])}
        assert metrics == {
            (None, "parameters"): 2410.0,
            ("d-digits", "accuracy"): 0.8,  # replaced
            ("d-digits", "loss"): float("inf"),  # kept
        }
        assert store.get_evaluation("m-child", "d-digits").details == {
            "per_class": {"zero": 0.5, "ü-one": None}
        }
        assert [e.dataset_id for e in store.evaluations_of("m-child")] == ["d-digits"]
        assert store.cached_result("k" * 64) == b'{"pies": []}'
        assert store.cached_result("x" * 64) is None

        listed = {m.name: m for m in store.list_models()}
        assert set(listed) == {"base", "teacher", "child"}
        assert [p.parent_id for p in listed["child"].produced_by.parents] == ["m-base", "m-teacher"]
        assert [t.tag for t in listed["child"].tags] == ["seed:7", "stage:kd"]
        assert [m.name for m in store.lineage("m-child")] == ["base", "child"]

        with pytest.raises(CompressLensError, match="children"):
            store.delete_model("m-base")
        store.delete_model("m-child")
        assert not store.model_exists("m-child")
        with store.db.reader() as session:
            assert session.scalars(select(OperationParent)).all() == []
            assert session.scalars(select(Metric).where(Metric.model_id == "m-child")).all() == []
            assert session.scalar(select(AnalysisResult.kind)) == "pies"
        store.delete_model("m-base")
        assert [m.name for m in store.list_models()] == ["teacher"]
    finally:
        store.db.close()


def test_a_failed_unit_of_work_leaves_no_rows_and_its_files_to_gc(
    pg_url: str, tmp_path: Path
) -> None:
    store = _store(pg_url, tmp_path)
    try:
        with pytest.raises(RuntimeError), store.write() as writer:
            digest = writer.put(b"orphan bytes", "weights")
            raise RuntimeError("boom")
        with store.db.reader() as session:
            assert session.get(Artifact, digest) is None
        assert store.collect_garbage(dry_run=False, grace_s=0).digests == [digest]
        assert not store.artifacts.exists(digest)
    finally:
        store.db.close()


def test_lookups_by_name_and_prefix(pg_url: str, tmp_path: Path) -> None:
    store = _store(pg_url, tmp_path)
    try:
        with store.write() as writer:
            writer.session.add_all(
                [
                    Model(id="abcd1111", name="one", source="added"),
                    Model(id="abcd2222", name="two", source="added"),
                    Model(id="a_c%3333", name="odd_name%", source="added"),
                ]
            )
        assert store.get_model("abcd1").name == "one"
        with pytest.raises(NotFoundError, match="ambiguous"):
            store.get_model("abcd")
        assert store.get_model("a_c%").name == "odd_name%"  # LIKE wildcards are literal
        with pytest.raises(NotFoundError, match="did you mean 'one'"):
            store.get_model("onee")
        assert store.get_model("two").id == "abcd2222"
        with pytest.raises(NotFoundError):
            store.get_model("y" * 300)  # longer than the id and name columns: not found
        with pytest.raises(DuplicateNameError), store.write() as writer:
            store.ensure_name_free(writer.session, Model, "one", "model")
    finally:
        store.db.close()


def test_large_integers_fit_as_they_do_in_sqlite(pg_url: str, tmp_path: Path) -> None:
    """SQLite stores 64-bit integers; PostgreSQL's INTEGER is 32-bit. A 5 GB weights file
    and a 64-bit seed must fit on both back ends."""
    store = _store(pg_url, tmp_path)
    try:
        with store.write() as writer:
            writer.session.add(Artifact(sha256="b" * 64, kind="weights", size_bytes=5 * 2**30))
            writer.session.add(Model(id="m-big", name="big", source="logged"))
            writer.session.flush()
            store.add_edge(writer.session, "m-big", "train.elsewhere", [], seed=2**63 - 1)
        with store.db.reader() as session:
            assert session.get(Artifact, "b" * 64).size_bytes == 5 * 2**30
        assert store.get_model("big").produced_by.seed == 2**63 - 1
    finally:
        store.db.close()
