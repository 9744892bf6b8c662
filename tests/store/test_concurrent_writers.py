"""Several processes writing one workspace at once (spawned, started together at a barrier),
on SQLite and PostgreSQL: afterwards every row's artifacts exist and verify, every write
that reported success is there, and no raw database error reached a caller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compresslens.store.repository import WorkspaceStore
from compresslens.store.snapshots import NewModel
from concurrent_processes import run_together

WRITERS = 4


def write_model(
    location: str,
    artifacts: str,
    model_id: str,
    name: str,
    weights: bytes,
    *,
    prepare: bool,
    prepared: Any = None,
) -> Any:
    """In a child: open the store (prepare), then write one model with its weights."""
    if prepare:
        return WorkspaceStore(location, artifacts)
    try:
        with prepared.write() as writer:
            return writer.add_model(NewModel(id=model_id, name=name, source="added"), weights)
    finally:
        prepared.db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(database location, artifacts folder), migrated once before the writers start."""
    if request.param == "sqlite":
        where = (str(tmp_path / "ws"), str(tmp_path / "ws" / "artifacts"))
    else:
        where = (request.getfixturevalue("pg_url"), str(tmp_path / "artifacts"))
    WorkspaceStore(*where).db.close()
    return where


def assert_every_row_verifies(store: WorkspaceStore) -> None:
    for model in store.list_models():
        if model.weights_artifact is not None:
            assert store.artifacts.verify(model.weights_artifact), model.name


def assert_no_raw_database_error(outcomes: list[tuple[str, Any]]) -> None:
    for kind, message in outcomes:
        assert kind in ("ok", "DuplicateNameError"), message


@pytest.mark.slow
def test_writers_of_the_same_model_converge_and_its_weights_survive(
    location: tuple[str, str],
) -> None:
    jobs = [(*location, "m-same", "same", b"the same weights")] * WRITERS
    outcomes = run_together(write_model, jobs)
    assert [kind for kind, _ in outcomes] == ["ok"] * WRITERS, outcomes
    assert sorted(value for _, value in outcomes) == [False] * (WRITERS - 1) + [True]
    store = WorkspaceStore(*location)
    try:
        assert [m.id for m in store.list_models()] == ["m-same"]
        assert_every_row_verifies(store)
    finally:
        store.db.close()


@pytest.mark.slow
def test_writers_of_different_models_sharing_weights_all_land(
    location: tuple[str, str],
) -> None:
    jobs = [(*location, f"m-{i}", f"model {i}", b"shared weights") for i in range(WRITERS)]
    outcomes = run_together(write_model, jobs)
    assert outcomes == [("ok", True)] * WRITERS
    store = WorkspaceStore(*location)
    try:
        assert sorted(m.id for m in store.list_models()) == [f"m-{i}" for i in range(WRITERS)]
        assert_every_row_verifies(store)
    finally:
        store.db.close()


@pytest.mark.slow
def test_writers_of_one_name_with_different_content_get_duplicate_name_errors(
    location: tuple[str, str],
) -> None:
    jobs = [(*location, f"m-{i}", "contested", f"weights {i}".encode()) for i in range(WRITERS)]
    outcomes = run_together(write_model, jobs)
    assert_no_raw_database_error(outcomes)
    winners = [i for i, (kind, _) in enumerate(outcomes) if kind == "ok"]
    assert len(winners) == 1
    store = WorkspaceStore(*location)
    try:
        assert [m.id for m in store.list_models()] == [f"m-{winners[0]}"]
        assert_every_row_verifies(store)
    finally:
        store.db.close()


def evaluate_model(
    location: str, artifacts: str, outputs: bytes, *, prepare: bool, prepared: Any = None
) -> Any:
    """In a child: store an evaluation of m-1 on d-1 (outputs and a metric) at once."""
    if prepare:
        return WorkspaceStore(location, artifacts)
    try:
        with prepared.write() as writer:
            writer.replace_evaluation(
                "m-1", "d-1", outputs=outputs, logits=None, features=None,
                features_module=None, details={}, wall_time_s=None,
            )  # fmt: skip
            writer.set_metrics("m-1", "d-1", {"accuracy": len(outputs) / 100})
        return True
    finally:
        prepared.db.close()


@pytest.mark.slow
def test_writers_evaluating_the_same_pair_at_once_all_succeed_and_one_run_stands(
    location: tuple[str, str],
) -> None:
    store = WorkspaceStore(*location)
    try:
        with store.write() as writer:
            writer.add_dataset(
                b"arrays", b"table", id="d-1", name="digits", modality="image",
                num_instances=3, num_classes=2, class_names=["a", "b"], input_shape=[1],
                input_dtype="float32", attribute_names=[], content_hash="c" * 64,
                description="",
            )  # fmt: skip
            writer.add_model(NewModel(id="m-1", name="one", source="added"), b"weights")
    finally:
        store.db.close()
    jobs = [(*location, f"outputs of run {i}".encode()) for i in range(WRITERS)]
    assert run_together(evaluate_model, jobs) == [("ok", True)] * WRITERS
    store = WorkspaceStore(*location)
    try:
        assert len(store.evaluation_infos("m-1")) == 1
        files = store.evaluation_files("m-1", "d-1")
        assert store.artifacts.get(files.outputs).startswith(b"outputs of run")
        assert [m.name for m in store.metrics_of(["m-1"])] == ["accuracy"]
    finally:
        store.db.close()
