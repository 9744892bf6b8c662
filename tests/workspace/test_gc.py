"""`Workspace.gc` and `compresslens gc`: only files no row names, older than the grace
period, are deleted; a dry run deletes nothing; the workspace still rebuilds every model."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from typer.testing import CliRunner

import compresslens as cl
from compresslens.cli.main import app


def gc_command(*arguments: str) -> str:
    result = CliRunner().invoke(app, ["gc", *arguments], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def orphan_of_a_removed_model(ws: cl.Workspace) -> tuple[str, int]:
    """Compress a child, remove it, and age its weights file by two hours."""
    child = ws.compress("mlp", "prune.magnitude", amount=0.5)
    digest = ws.store.get_model(child.id).weights_artifact
    ws.store.delete_model(child.id)
    path = ws.store.artifacts.path_of(digest)
    then = time.time() - 7200
    os.utime(path, (then, then))
    return digest, path.stat().st_size


def test_workspace_gc_deletes_the_files_of_a_removed_model_only(
    digits_workspace: cl.Workspace,
) -> None:
    ws = digits_workspace
    digest, size = orphan_of_a_removed_model(ws)
    assert ws.gc(dry_run=True).digests == [digest]
    assert ws.store.artifacts.exists(digest)
    report = ws.gc()
    assert (report.files, report.bytes, report.digests) == (1, size, [digest])
    assert not ws.store.artifacts.exists(digest)
    ws.load_model("mlp")  # what is referenced is untouched
    ws.load_dataset("digits")
    assert ws.gc().files == 0


def test_the_gc_command_reports_in_json_and_deletes_unless_dry_run(
    digits_workspace: cl.Workspace, tmp_path: Path
) -> None:
    ws = digits_workspace
    digest, size = orphan_of_a_removed_model(ws)
    location = str(tmp_path / "ws")
    dry = json.loads(gc_command("-w", location, "--dry-run", "--json"))
    assert (dry["files"], dry["bytes"], dry["dry_run"]) == (1, size, True)
    assert ws.store.artifacts.exists(digest)
    assert "younger than 86400 s" in gc_command("-w", location, "--grace", "86400")
    assert ws.store.artifacts.exists(digest)  # two hours old: within a day's grace
    assert "deleted 1 unreferenced artifact files" in gc_command("-w", location)
    assert not ws.store.artifacts.exists(digest)


def test_gc_deletes_the_partial_files_of_killed_writers_past_the_grace_period(
    digits_workspace: cl.Workspace,
) -> None:
    ws = digits_workspace
    folder = ws.store.artifacts.path_of(
        ws.store.get_model(ws.model("mlp").id).weights_artifact
    ).parent
    old, young = folder / ".tmp-killed", folder / ".tmp-writing"
    old.write_bytes(b"half a file")
    young.write_bytes(b"a write in progress")
    then = time.time() - 7200
    os.utime(old, (then, then))
    assert ws.gc(dry_run=True).temporary_files == 1
    assert old.exists()
    report = ws.gc()
    assert (report.temporary_files, report.files) == (1, 0)
    assert not old.exists() and young.exists()  # a young one may be a write in progress
    assert ws.gc(grace_s=0).temporary_files == 1 and not young.exists()
    ws.load_model("mlp")
