"""Artifacts in S3: the store and a whole Workspace against a local S3 server (moto, started
by tests/s3_server.py), metadata in SQLite; the same guarantees as on a local folder."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import compresslens as cl
from compresslens.errors import ArtifactStoreUnavailableError, CorruptArtifactError, NotFoundError
from compresslens.store.artifacts import ArtifactStore
from digits_recipes import pruning_recipe
from factories import MLP_FACTORY
from s3_server import TEST_ENVIRONMENT, S3Server


@pytest.fixture
def store(s3_url: str) -> ArtifactStore:
    return ArtifactStore(s3_url)


def test_put_get_exists_list_and_delete_on_s3(
    store: ArtifactStore, s3_url: str, s3_server: S3Server
) -> None:
    digest, created = store.put(b"weights")
    assert created and digest == hashlib.sha256(b"weights").hexdigest()
    assert store.path_of(digest) == f"{s3_url}/{digest[:2]}/{digest}"
    assert s3_server.filesystem().cat_file(store.path_of(digest)) == b"weights"
    assert store.get(digest) == b"weights" and store.exists(digest)
    again, created = store.put(b"weights")
    assert again == digest and not created
    other, _ = store.put(b"outputs")
    assert store.list_hashes() == sorted([digest, other])
    store.delete(other)
    store.delete(other)  # already gone
    assert store.list_hashes() == [digest] and not store.exists(other)


def test_a_changed_object_is_reported_as_corrupt(store: ArtifactStore, s3_server: S3Server) -> None:
    digest, _ = store.put(b"0123456789")
    s3_server.filesystem().pipe_file(str(store.path_of(digest)), b"01234")
    with pytest.raises(CorruptArtifactError, match="corrupt"):
        store.get(digest)


def test_a_missing_object_is_reported_as_not_found(store: ArtifactStore) -> None:
    digest = hashlib.sha256(b"never written").hexdigest()
    assert not store.exists(digest)
    with pytest.raises(NotFoundError, match="missing"):
        store.get(digest)


def test_another_process_deleting_an_object_is_seen_at_once(
    store: ArtifactStore, s3_server: S3Server
) -> None:
    """No listings cache: a store never reports an object another client removed."""
    digest, _ = store.put(b"shared")
    assert store.list_hashes() == [digest]
    s3_server.filesystem().rm_file(str(store.path_of(digest)))
    assert not store.exists(digest) and store.list_hashes() == []
    assert store.put(b"shared") == (digest, True)


def test_many_writers_of_the_same_bytes_all_succeed_on_s3(store: ArtifactStore) -> None:
    data = os.urandom(1 << 16)
    outcomes: list[str | BaseException] = []
    start = threading.Barrier(6)

    def write() -> None:
        start.wait()
        try:
            outcomes.append(store.put(data)[0])
        except BaseException as error:  # reported by the assertion below
            outcomes.append(error)

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [hashlib.sha256(data).hexdigest()] * 6
    assert store.get(hashlib.sha256(data).hexdigest()) == data


def test_storage_options_replace_the_environment(
    s3_url: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMPRESSLENS_S3_ENDPOINT")
    options = {
        "endpoint_url": s3_server.endpoint,
        "key": TEST_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
        "secret": TEST_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
    }
    store = ArtifactStore(s3_url, storage_options=options)
    digest, _ = store.put(b"explicit")
    assert ArtifactStore(s3_url, storage_options=options).get(digest) == b"explicit"


def test_a_workspace_takes_a_configured_store(
    s3_url: str, s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Options the environment cannot give (keys for this bucket only) reach the workspace."""
    monkeypatch.delenv("COMPRESSLENS_S3_ENDPOINT")
    options = {"endpoint_url": s3_server.endpoint, "key": "testing", "secret": "testing"}
    ws = cl.Workspace(tmp_path / "ws", artifacts=ArtifactStore(s3_url, storage_options=options))
    try:
        ws.add_dataset("toy", np.zeros((6, 2), dtype=np.float32), np.arange(6) % 2)
        assert len(s3_server.filesystem().find(s3_url)) == 2  # its arrays and its table
    finally:
        ws.close()


def test_a_missing_bucket_is_a_clear_error(s3_url: str) -> None:
    store = ArtifactStore("s3://no-such-bucket-anywhere/artifacts")
    with pytest.raises(ArtifactStoreUnavailableError, match="no-such-bucket-anywhere"):
        store.put(b"lost?")


def test_a_whole_workspace_keeps_its_artifacts_in_s3_and_its_rows_in_sqlite(
    s3_url: str, tmp_path: Path, digits, trained_mlp: torch.nn.Module
) -> None:  # type: ignore[no-untyped-def]
    inputs, labels = digits
    ws = cl.Workspace(tmp_path / "ws", artifacts=s3_url)
    try:
        ws.add_dataset("digits", inputs, labels, class_names=[str(i) for i in range(10)])
        ws.add_model(trained_mlp, name="mlp", factory=MLP_FACTORY)
        pruned = ws.compress("mlp", "prune.magnitude", amount=0.7, name="mlp-70")
        for name in ("mlp", "mlp-70"):
            ws.evaluate(name, "digits", logits=True, latency=False)
        accuracy = ws.model("mlp-70").metrics["digits"]["accuracy"]
        stored = set(ws.store.artifacts.list_hashes())
    finally:
        ws.close()
    # weights, dataset arrays and table, outputs and logits: all in the bucket, none on disk
    assert len(stored) >= 7
    assert not (tmp_path / "ws" / "artifacts").exists()

    reopened = cl.Workspace(tmp_path / "ws", artifacts=s3_url)
    try:
        assert reopened.compress("mlp", "prune.magnitude", amount=0.7).id == pruned.id
        loaded = reopened.load_model("mlp")
        assert torch.equal(loaded(inputs), trained_mlp(inputs))
        assert reopened.logits("mlp-70", "digits").shape == (len(inputs), 10)
        predictions = reopened.outputs("mlp-70", "digits")["prediction"]
        assert np.mean(predictions == labels.numpy()) == pytest.approx(accuracy)
    finally:
        reopened.close()


def test_the_command_line_reads_artifacts_from_s3(
    s3_url: str, tmp_path: Path, digits, trained_mlp: torch.nn.Module, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """--artifacts URL before the command, or $COMPRESSLENS_ARTIFACTS, names the bucket."""
    from compresslens.cli.main import app

    inputs, labels = digits
    location = str(tmp_path / "ws")
    ws = cl.Workspace(location, artifacts=s3_url)
    try:
        ws.add_dataset("digits", inputs, labels, class_names=[str(i) for i in range(10)])
        ws.add_model(trained_mlp, name="mlp", factory=MLP_FACTORY)
    finally:
        ws.close()
    runner = CliRunner()
    monkeypatch.delenv("COMPRESSLENS_ARTIFACTS", raising=False)
    evaluate = ["evaluate", "mlp", "-d", "digits", "--no-latency", "-w", location, "--json"]
    without = runner.invoke(app, evaluate)  # the workspace's own folder holds no weights
    assert without.exit_code != 0 and "missing" in without.output
    by_option = runner.invoke(app, ["--artifacts", s3_url, *evaluate])
    assert by_option.exit_code == 0, by_option.output
    assert json.loads(by_option.stdout)["metrics"]["accuracy"] > 0.8
    monkeypatch.setenv("COMPRESSLENS_ARTIFACTS", s3_url)
    outputs = runner.invoke(app, ["outputs", "mlp", "-d", "digits", "-w", location, "--json"])
    assert outputs.exit_code == 0, outputs.output


SWEEP = pruning_recipe("pruned-in-s3", [0.3, 0.6])


@pytest.mark.slow
def test_a_sweep_s_worker_processes_write_their_artifacts_to_s3(
    s3_url: str, tmp_path: Path, digits, trained_mlp: torch.nn.Module
) -> None:  # type: ignore[no-untyped-def]
    """Workers open the store by its URL, the endpoint and credentials from the environment."""
    from compresslens.run import load_recipe, run_recipe

    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(SWEEP)
    inputs, labels = digits
    ws = cl.Workspace(tmp_path / "ws", artifacts=s3_url)
    try:
        ws.add_dataset("digits", inputs, labels, class_names=[str(i) for i in range(10)])
        ws.add_model(trained_mlp, name="mlp", factory=MLP_FACTORY)
        summary = run_recipe(load_recipe(recipe_file), ws, workers=2)
        # the base (evaluated) and two pruned children
        assert summary.counts == {"done": 3, "cached": 0, "failed": 0, "skipped": 0}
        pruned = [m for m in ws.models() if m.name != "mlp"]
        assert len(pruned) == 2
        for model in pruned:
            row = ws.store.get_model(model.id)
            ws.store.artifacts.get(row.weights_artifact)  # present and verified
            assert model.metrics["digits"]["accuracy"] > 0.1
    finally:
        ws.close()
    assert not (tmp_path / "ws" / "artifacts").exists()
