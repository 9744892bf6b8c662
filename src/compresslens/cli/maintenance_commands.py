"""Commands that look after a workspace's files rather than its experiments: `gc`.

They read through the torch-free catalog, so they start at once.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from compresslens.cli.app import (
    DEFAULT_WORKSPACE,
    JsonOption,
    WorkspaceOption,
    app,
    fail,
    open_catalog,
    stdout,
)
from compresslens.errors import CompressLensError

GRACE_S = 3600.0  # as compresslens.store.garbage.DEFAULT_GRACE_S (not imported: start-up)


@app.command()
def gc(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be deleted; delete nothing.")
    ] = False,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            min=0,
            help="Seconds an unreferenced file is kept (a write in progress may own it).",
        ),
    ] = GRACE_S,
    as_json: JsonOption = False,
) -> None:
    """Delete artifact files no model, evaluation, dataset or stored result refers to."""
    try:
        catalog = open_catalog(workspace)
        report = catalog.gc(dry_run=dry_run, grace_s=grace)
    except CompressLensError as exc:
        fail(exc)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    verb = "would delete" if dry_run else "deleted"
    stdout().print(
        f"{verb} {report.files} unreferenced artifact files ({report.bytes:,} bytes) in "
        f"{catalog.location}; kept {report.young_unreferenced} younger than {grace:g} s"
    )
    if report.temporary_files:
        stdout().print(f"{verb} {report.temporary_files} partial files of killed writers")
