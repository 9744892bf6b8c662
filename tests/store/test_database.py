from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from compresslens.errors import CompressLensError
from compresslens.store.database import Database, current_revision, head_revision
from compresslens.store.schema import Base


def test_migrations_build_exactly_the_orm_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/w.db")
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    assert current_revision(db.engine) == head_revision(db.engine)


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/w.db")
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.execute(text("INSERT INTO tags (model_id, tag) VALUES ('no-such-model', 't')"))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/w.db")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    with Database(url).transaction() as session:
        session.execute(
            text("INSERT INTO artifacts VALUES ('ab', 'weights', 3, '2026-01-01 00:00:00')")
        )
    with Database(url).reader() as session:
        assert session.execute(text("SELECT kind FROM artifacts")).scalars().all() == ["weights"]


def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(CompressLensError, match="9999"):
        Database(url)
