"""A full picture of a workspace, to prove a failed call changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

import compresslens as cl

TABLES = (
    "artifacts",
    "datasets",
    "models",
    "operations",
    "operation_parents",
    "evaluations",
    "metrics",
    "tags",
    "notes",
)


def workspace_snapshot(ws: cl.Workspace) -> dict[str, Any]:
    with ws.store.db.reader() as session:
        rows = {
            table: sorted(map(repr, session.execute(text(f"SELECT * FROM {table}")).all()))
            for table in TABLES
        }
    files = sorted(
        str(p.relative_to(ws.store.artifacts.root))
        for p in ws.store.artifacts.root.rglob("*")
        if p.is_file()
    )
    return {"rows": rows, "files": files}
