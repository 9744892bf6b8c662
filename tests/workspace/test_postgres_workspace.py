"""A whole Workspace on PostgreSQL: `Workspace("postgresql://…", artifacts=folder)`.

Same flow as on SQLite, against the session's throwaway server (tests/postgres_server.py).
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import torch

import compresslens as cl
from compresslens.errors import (
    CompressLensError,
    DuplicateNameError,
    InvalidInputError,
    NotFoundError,
)
from compresslens.store.database import DatabaseUnavailableError, DatabaseValueError
from postgres_server import PostgresServer

MLP_FACTORY = "factories:digits_mlp"  # as in tests/conftest.py


def _fill(ws: cl.Workspace, digits, trained_mlp) -> None:  # type: ignore[no-untyped-def]
    inputs, labels = digits
    parity = np.where(labels.numpy() % 2 == 0, "even", "odd")
    ws.add_dataset(
        "digits", inputs, labels, class_names=[str(i) for i in range(10)],
        attributes={"parity": parity},
    )  # fmt: skip
    ws.add_model(trained_mlp, name="mlp", factory=MLP_FACTORY, tags=["base"], note="root")
    ws.compress("mlp", "prune.magnitude", amount=0.7, name="mlp-70", tags=["stage:prune"])
    for name in ("mlp", "mlp-70"):
        ws.evaluate(name, "digits", logits=True, features=True, latency=False)


def test_the_whole_workspace_flow_runs_on_postgresql(
    pg_url: str, tmp_path: Path, digits, trained_mlp
) -> None:  # type: ignore[no-untyped-def]
    ws = cl.Workspace(pg_url, artifacts=tmp_path / "artifacts")
    try:
        assert ws.store.db.engine.dialect.name == "postgresql"
        _fill(ws, digits, trained_mlp)
        inputs, _ = digits
        base, pruned = ws.model("mlp"), ws.model("mlp-70")
        assert pruned.parent_ids == [base.id]
        assert pruned.operation.params["amount"] == 0.7
        assert pruned.tags == ["stage:prune"] and base.notes == ["root"]
        assert pruned.created_at.endswith("+00:00")
        assert 0.8 < base.metrics["digits"]["accuracy"] <= 1.0
        assert pruned.efficiency["parameters"] == base.efficiency["parameters"]

        # the same call again is a cache hit: same id, no new row
        again = ws.compress("mlp", "prune.magnitude", amount=0.7)
        assert again.id == pruned.id and len(ws.models()) == 2
        int8 = ws.compress(base, "quantize.dynamic_int8", backend="torch.ao", seed=2**40)
        assert ws.model(int8).operation.seed == 2**40  # a 64-bit seed fits
        ws.evaluate(int8, "digits", latency=False)

        reloaded = ws.load_model("mlp")
        assert torch.equal(reloaded(inputs), trained_mlp(inputs))
        assert ws.outputs("mlp-70", "digits")["prediction"].shape == (len(inputs),)
        assert ws.logits("mlp", "digits").shape == (len(inputs), 10)

        cmp = ws.compare("mlp", "mlp-70", "digits")
        assert cmp.summary()["flips"]["correct_to_incorrect"] > 0  # 70% pruning hurts
        assert {row["class"] for row in cmp.per_class()} == {str(i) for i in range(10)}

        logged = ws.log_model(
            "phone-int8",
            parents=[base],
            operation={"name": "quantize.vendor_int8", "params": {"bits": 8}, "seed": 2**33},
            metrics={"latency_ms_phone": 1.9, "digits": {"accuracy": 0.5}},
            tags=["device:phone"],
        )
        assert ws.model(logged).metrics["digits"]["accuracy"] == 0.5

        ws.tag(int8, "stage:int8", "stage:int8")
        ws.note(int8, "dynamic int8 — ✓")
        listed = {m.name: m for m in ws.models()}
        assert set(listed) == {"mlp", "mlp-70", int8.name, "phone-int8"}
        assert listed[int8.name].tags == ["stage:int8"]
        assert listed[int8.name].notes == ["dynamic int8 — ✓"]
        assert [m.name for m in ws.lineage("mlp-70")] == ["mlp", "mlp-70"]
        assert {m.name for m in ws.select("tag:stage:prune,tag:stage:int8")} == {
            "mlp-70",
            int8.name,
        }
        with pytest.raises(DuplicateNameError):
            ws.add_model(trained_mlp, name="mlp-70", factory=MLP_FACTORY)

        # delete: a leaf goes with its edge, metrics, evaluations, tags and notes
        with pytest.raises(CompressLensError, match="children"):
            ws.store.delete_model(base.id)
        ws.store.delete_model(int8.id)
        with pytest.raises(NotFoundError):
            ws.model(int8.id)
        assert {m.name for m in ws.models()} == {"mlp", "mlp-70", "phone-int8"}
        pruned_metrics = ws.evaluation("mlp-70", "digits").metrics
    finally:
        ws.close()

    # everything is in the database (and the artifacts folder): a new Workspace sees it
    reopened = cl.Workspace(pg_url, artifacts=tmp_path / "artifacts")
    try:
        assert {m.name for m in reopened.models()} == {"mlp", "mlp-70", "phone-int8"}
        assert reopened.evaluation("mlp-70", "digits").metrics == pruned_metrics
    finally:
        reopened.close()


def test_postgresql_and_sqlite_record_the_same_experiments(
    pg_url: str, tmp_path: Path, digits, trained_mlp
) -> None:  # type: ignore[no-untyped-def]
    on_pg = cl.Workspace(pg_url, artifacts=tmp_path / "pg-artifacts")
    on_sqlite = cl.Workspace(tmp_path / "sqlite")
    try:
        for ws in (on_pg, on_sqlite):
            _fill(ws, digits, trained_mlp)

        def recorded(ws: cl.Workspace) -> list[tuple]:
            return [
                (m.id, m.name, m.parent_ids, m.tags, m.notes, m.metrics, m.efficiency)
                for m in sorted(ws.models(), key=lambda m: m.name)
            ]

        assert recorded(on_pg) == recorded(on_sqlite)
        for ws in (on_pg, on_sqlite):  # timestamps are UTC with their offset on both
            assert all(m.created_at.endswith("+00:00") for m in ws.models())
        assert [d.id for d in on_pg.datasets()] == [d.id for d in on_sqlite.datasets()]
        assert (
            on_pg.compare("mlp", "mlp-70").summary() == on_sqlite.compare("mlp", "mlp-70").summary()
        )
    finally:
        on_pg.close()
        on_sqlite.close()


def test_two_workspaces_on_one_url_see_each_others_work(
    pg_url: str, tmp_path: Path, digits, trained_mlp
) -> None:  # type: ignore[no-untyped-def]
    first = cl.Workspace(pg_url, artifacts=tmp_path / "artifacts")
    second = cl.Workspace(pg_url, artifacts=tmp_path / "artifacts")
    try:
        inputs, labels = digits
        first.add_dataset("digits", inputs, labels)
        assert second.add_dataset("digits", inputs, labels).id == first.dataset("digits").id
        first.add_model(trained_mlp, name="mlp", factory=MLP_FACTORY)
        child = second.compress("mlp", "prune.magnitude", amount=0.5)
        assert first.model(child.id).parent_ids == [first.model("mlp").id]
        second.evaluate(child, "digits", latency=False)
        assert first.evaluation(child, "digits").metrics["accuracy"] > 0.5
        assert first.compress("mlp", "prune.magnitude", amount=0.5).id == child.id  # cached
    finally:
        first.close()
        second.close()


def test_parallel_writers_of_the_same_artifact_both_commit(pg_url: str, tmp_path: Path) -> None:
    """Two units of work storing the same bytes at once (two sweep workers making identical
    weights): the second waits for the first and finds the row, it does not fail on the key."""
    first = cl.Workspace(pg_url, artifacts=tmp_path / "artifacts")
    second = cl.Workspace(pg_url, artifacts=tmp_path / "artifacts")
    errors: list[BaseException] = []
    put = threading.Event()

    def write_in_second() -> None:
        try:
            put.wait(10)
            with second.store.write() as writer:
                writer.put(b"the same weights", "weights")  # blocks until `first` commits
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=write_in_second)
    thread.start()
    try:
        with first.store.write() as writer:
            digest = writer.put(b"the same weights", "weights")
            put.set()
            thread.join(0.5)  # the second writer is now waiting on the row's key
        thread.join(10)
        assert not thread.is_alive()
        assert errors == []
        assert second.store.read_artifact(digest) == b"the same weights"
    finally:
        first.close()
        second.close()


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://someone:s3cret@127.0.0.1:{port}/workspace"
    with pytest.raises(DatabaseUnavailableError, match="cannot connect") as raised:
        cl.Workspace(url, artifacts=tmp_path / "artifacts")
    assert isinstance(raised.value, CompressLensError)
    assert "s3cret" not in str(raised.value)
    assert f"127.0.0.1:{port}" in str(raised.value)


def test_a_missing_database_or_driver_is_a_clear_error(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    with pytest.raises(DatabaseUnavailableError, match='"no_such_db" does not exist'):
        cl.Workspace(pg_server.url("no_such_db"), artifacts=tmp_path)
    with pytest.raises(DatabaseUnavailableError, match="nosuchdriver"):
        cl.Workspace("postgresql+nosuchdriver://u@localhost/db", artifacts=tmp_path)


def test_a_plain_postgresql_url_uses_the_installed_driver(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    """`postgresql://…` (no +driver), as the README writes it, works with the psycopg extra;
    percent-escapes in the URL (here the socket folder) reach the driver intact."""
    pg_server.createdb("plain_url")
    host = quote(str(pg_server.socket_dir), safe="")
    ws = cl.Workspace(f"postgresql://postgres@/plain_url?host={host}", artifacts=tmp_path)
    try:
        assert ws.store.db.engine.dialect.driver == "psycopg"
        assert ws.models() == []
    finally:
        ws.close()


def test_values_postgresql_refuses_are_a_clear_error_and_write_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    """SQLite stores NaN in a JSON column; PostgreSQL refuses it. The refusal is a
    CompressLensError naming the table, and the unit of work rolls back. A name too long for
    the column is refused by the name rule first, on every database."""
    ws = cl.Workspace(pg_url, artifacts=tmp_path / "artifacts")
    try:
        with pytest.raises(InvalidInputError, match="at most 200 characters"):
            ws.log_model("n" * 250)
        with pytest.raises(DatabaseValueError, match=r"'operations'.*NaN"):
            ws.log_model("nan", operation={"name": "op", "params": {"a": float("nan")}})
        assert ws.models() == []
    finally:
        ws.close()
