"""The CLI starts without the heavy libraries: what each start imports is pinned here (the
times themselves are in benchmarks/bench_startup.py).

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command

import compresslens
from compresslens.store.database import (
    HEAD_REVISION,
    Database,
    alembic_config,
    current_revision,
    head_revision,
)
from compresslens.workspace.catalog import WorkspaceCatalog

HEAVY = ("torch", "scipy", "alembic", "compresslens.workspace.core")
SRC = str(Path(compresslens.__file__).resolve().parents[1])


def imported_after(code: str) -> set[str]:
    """Which of HEAVY (and the facade package) a new interpreter holds after running `code`."""
    probe = [*HEAVY, "compresslens.workspace"]
    report = f"print(json.dumps([m for m in {probe!r} if m in sys.modules]))"
    script = f"{code}\nimport json, sys\n{report}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def run_cli(*arguments: str) -> str:
    return (
        "from compresslens.cli.main import app\n"
        "try:\n"
        f"    app({list(arguments)!r})\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
    )


def test_importing_the_cli_imports_neither_torch_scipy_alembic_nor_the_facade() -> None:
    assert imported_after("import compresslens.cli.main") == set()


def test_help_imports_neither_torch_scipy_alembic_nor_the_facade() -> None:
    assert imported_after(run_cli("--help")) == set()


def test_import_compresslens_leaves_torch_for_first_use_of_workspace() -> None:
    assert imported_after("import compresslens") == set()
    assert "torch" in imported_after("import compresslens; compresslens.Workspace")


def test_ls_on_an_up_to_date_workspace_reads_records_without_torch_or_alembic(
    tmp_path: Path,
) -> None:
    location = str(tmp_path / "ws")
    WorkspaceCatalog(location).close()  # created and migrated in this process
    assert imported_after(run_cli("ls", "-w", location)) == {"compresslens.workspace"}


def test_the_lazy_names_are_the_real_ones_and_unknown_names_still_fail() -> None:
    from compresslens.records import ModelInfo
    from compresslens.workspace.core import Workspace

    assert compresslens.Workspace is Workspace
    assert compresslens.ModelInfo is ModelInfo
    assert {"Workspace", "ModelInfo", "CompressLensError"} <= set(dir(compresslens))
    with pytest.raises(AttributeError, match="no_such_name"):
        compresslens.no_such_name  # noqa: B018


def test_the_schema_head_constant_is_alembics_newest_migration(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/w.db")
    assert head_revision(db.engine) == HEAD_REVISION


def test_a_workspace_at_an_older_schema_is_still_migrated_when_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    db = Database(url)
    with db.engine.begin() as connection:
        config = alembic_config(db.engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    assert current_revision(db.engine) == "0003"
    reopened = Database(url)
    assert current_revision(reopened.engine) == HEAD_REVISION
