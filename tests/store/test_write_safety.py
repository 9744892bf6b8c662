"""What a unit of work does when it fails or collides with another writer, on SQLite and
PostgreSQL: it never deletes a content-addressed file, the same id written twice converges,
a taken name is a DuplicateNameError (never a raw database error), and only `gc` removes
files, those no row refers to and older than the grace period."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from compresslens.errors import DuplicateNameError, NotFoundError, WriteConflictError
from compresslens.store import writer as writer_module
from compresslens.store.repository import WorkspaceStore
from compresslens.store.schema import AnalysisResult, Artifact, Dataset, Evaluation, Model
from compresslens.store.snapshots import NewModel

HOUR_S = 3600.0


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> WorkspaceStore:
    if request.param == "sqlite":
        opened = WorkspaceStore(tmp_path / "ws")
    else:
        opened = WorkspaceStore(request.getfixturevalue("pg_url"), tmp_path / "artifacts")
    yield opened
    opened.db.close()


def age(store: WorkspaceStore, digest: str, seconds: float) -> None:
    """Make an artifact file look `seconds` old (what the grace period reads)."""
    then = time.time() - seconds
    os.utime(store.artifacts.path_of(digest), (then, then))


def add_model(store: WorkspaceStore, model_id: str, name: str, weights: bytes) -> bool:
    with store.write() as writer:
        return writer.add_model(NewModel(id=model_id, name=name, source="added"), weights)


def test_a_failed_write_leaves_no_row_and_never_deletes_a_file(store: WorkspaceStore) -> None:
    """Another writer may have committed a row naming the same content-addressed file
    between this writer's put and its failure: deleting it would break that row."""
    with pytest.raises(RuntimeError), store.write() as writer:
        digest = writer.put(b"shared bytes", "weights")
        raise RuntimeError("boom")
    with store.db.reader() as session:
        assert session.get(Artifact, digest) is None
    assert store.artifacts.exists(digest)


def test_a_file_another_writer_committed_survives_a_failed_write(
    store: WorkspaceStore, tmp_path: Path
) -> None:
    other = WorkspaceStore(store.location, store.artifacts.root)
    try:
        with pytest.raises(RuntimeError), store.write() as writer:
            writer.put(b"the same weights", "weights")
            raise RuntimeError("this writer fails after creating the file")
        assert add_model(other, "m-other", "other", b"the same weights")
    finally:
        other.db.close()
    digest = store.get_model("other").weights_artifact
    assert store.artifacts.get(digest) == b"the same weights"


def test_the_same_model_id_written_twice_converges_to_one_row(store: WorkspaceStore) -> None:
    assert add_model(store, "m-1", "one", b"weights") is True
    assert add_model(store, "m-1", "one", b"weights") is False  # there already: not an error
    assert [m.id for m in store.list_models()] == ["m-1"]


def test_a_racing_writer_of_the_same_id_converges(
    store: WorkspaceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes both found the name free before either committed (the check is skipped
    here to replay that interleaving): the second insert is ignored, not an IntegrityError."""
    add_model(store, "m-1", "one", b"weights")
    monkeypatch.setattr(writer_module, "ensure_name_free", lambda *args: None)
    assert add_model(store, "m-1", "one", b"weights") is False
    assert [m.id for m in store.list_models()] == ["m-1"]


def test_a_racing_writer_of_a_taken_name_gets_a_duplicate_name_error(
    store: WorkspaceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_model(store, "m-1", "shared name", b"first weights")
    monkeypatch.setattr(writer_module, "ensure_name_free", lambda *args: None)
    with pytest.raises(DuplicateNameError, match="shared name"):
        add_model(store, "m-2", "shared name", b"other weights")
    assert [(m.id, m.name) for m in store.list_models()] == [("m-1", "shared name")]


def dataset_columns(dataset_id: str, name: str) -> dict[str, object]:
    return {
        "id": dataset_id,
        "name": name,
        "modality": "image",
        "num_instances": 3,
        "num_classes": 2,
        "class_names": ["a", "b"],
        "input_shape": [1, 2, 2],
        "input_dtype": "float32",
        "attribute_names": [],
        "content_hash": dataset_id * 2,
        "description": "",
    }


def test_a_racing_dataset_writer_converges_or_gets_a_duplicate_name_error(
    store: WorkspaceStore,
) -> None:
    with store.write() as writer:
        writer.add_dataset(b"arrays", b"table", **dataset_columns("d-1", "digits"))
    with store.write() as writer:  # the same dataset again: converges
        writer.add_dataset(b"arrays", b"table", **dataset_columns("d-1", "digits"))
    with pytest.raises(DuplicateNameError, match="digits"), store.write() as writer:
        writer.add_dataset(b"arrays 2", b"table 2", **dataset_columns("d-2", "digits"))
    assert [d.id for d in store.dataset_infos()] == ["d-1"]


def test_adding_a_tag_twice_keeps_one(store: WorkspaceStore) -> None:
    add_model(store, "m-1", "one", b"weights")
    store.add_tags("m-1", ["x", "x"])
    store.add_tags("m-1", ["x"])
    assert [t.tag for t in store.list_models()[0].tags] == ["x"]


@pytest.mark.parametrize("length", [201, 50_000])
def test_a_key_longer_than_any_id_or_name_is_not_found_with_a_short_message(
    store: WorkspaceStore, length: int
) -> None:
    add_model(store, "m-1", "one", b"weights")
    key = "a" * length
    for lookup in (store.model_info, store.model_id, store.get_model, store.dataset_info):
        with pytest.raises(NotFoundError, match="characters") as raised:
            lookup(key)
        assert len(str(raised.value)) < 300


# -- gc: the only way an artifact file is deleted ----------------------------------------


def referenced_everywhere(store: WorkspaceStore) -> dict[str, str]:
    """A model, an evaluation, a dataset and an analysis result, each naming its files."""
    with store.write() as writer:
        writer.add_dataset(b"arrays", b"table", **dataset_columns("d-1", "digits"))
        writer.add_model(NewModel(id="m-1", name="one", source="added"), b"weights")
        writer.session.add(
            Evaluation(
                model_id="m-1",
                dataset_id="d-1",
                outputs_artifact=writer.put(b"outputs", "outputs"),
                logits_artifact=writer.put(b"logits", "logits"),
                features_artifact=writer.put(b"features", "features"),
            )
        )
    store.cache_result("k" * 64, "pies", b'{"pies": []}')
    with store.db.reader() as session:
        named = {
            "weights": session.scalar(select(Model.weights_artifact)),
            "arrays": session.scalar(select(Dataset.arrays_artifact)),
            "table": session.scalar(select(Dataset.table_artifact)),
            "result": session.scalar(select(AnalysisResult.artifact)),
        }
        evaluation = session.scalars(select(Evaluation)).one()
        named |= {
            "outputs": evaluation.outputs_artifact,
            "logits": evaluation.logits_artifact,
            "features": evaluation.features_artifact,
        }
    return named


def test_gc_keeps_every_referenced_file_and_removes_old_orphans(store: WorkspaceStore) -> None:
    named = referenced_everywhere(store)
    with pytest.raises(RuntimeError), store.write() as writer:
        orphan = writer.put(b"orphan bytes", "weights")
        raise RuntimeError("a failed write leaves its file")
    for digest in [*named.values(), orphan]:
        age(store, digest, 2 * HOUR_S)
    report = store.collect_garbage(dry_run=False, grace_s=HOUR_S)
    assert (report.files, report.bytes, report.digests) == (1, len(b"orphan bytes"), [orphan])
    assert not store.artifacts.exists(orphan)
    for what, digest in named.items():
        assert store.artifacts.exists(digest), what


def test_gc_removes_the_files_and_rows_of_a_deleted_model(store: WorkspaceStore) -> None:
    add_model(store, "m-1", "one", b"weights")
    digest = store.get_model("m-1").weights_artifact
    store.delete_model("m-1")
    age(store, digest, 2 * HOUR_S)
    assert store.collect_garbage(dry_run=False, grace_s=HOUR_S).digests == [digest]
    with store.db.reader() as session:
        assert session.get(Artifact, digest) is None
    assert add_model(store, "m-1", "one", b"weights")  # written again: file and row come back
    assert store.artifacts.get(digest) == b"weights"


def test_gc_keeps_a_fresh_orphan_an_inflight_writer_may_be_about_to_commit(
    store: WorkspaceStore,
) -> None:
    digest, _ = store.artifacts.put(b"just written")
    assert store.collect_garbage(dry_run=False, grace_s=HOUR_S).files == 0
    assert store.artifacts.exists(digest)


def test_reusing_an_old_orphan_makes_it_fresh_again(store: WorkspaceStore) -> None:
    """A writer whose put finds the file already there refreshes its time, so a gc running
    while that writer's transaction is open does not take the file from under it."""
    digest, _ = store.artifacts.put(b"weights")
    age(store, digest, 2 * HOUR_S)
    with store.write() as writer:
        writer.put(b"weights", "weights")
        store.collect_garbage(dry_run=False, grace_s=HOUR_S)  # runs before the commit
    assert store.artifacts.exists(digest)


def test_gc_dry_run_reports_without_deleting(store: WorkspaceStore) -> None:
    digest, _ = store.artifacts.put(b"orphan")
    age(store, digest, 2 * HOUR_S)
    report = store.collect_garbage(dry_run=True, grace_s=HOUR_S)
    assert (report.files, report.bytes, report.dry_run) == (1, len(b"orphan"), True)
    assert store.artifacts.exists(digest)


def test_a_row_whose_model_another_writer_removed_is_a_write_conflict_error(
    store: WorkspaceStore,
) -> None:
    """A tag for a model deleted meanwhile breaks a foreign key: the store's own error."""
    with pytest.raises(WriteConflictError, match="nothing was written"):
        store.add_tags("removed-meanwhile", ["t"])
