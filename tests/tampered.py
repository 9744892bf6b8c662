"""A workspace edited as a hostile copy would be: a model's factory names code to run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import compresslens as cl


def tamper_factory(folder: Path, model: str, factory: str, kwargs: dict[str, Any]) -> None:
    """Rewrite `model`'s factory in the SQLite database, behind compresslens's back."""
    with sqlite3.connect(folder / "compresslens.db") as db:
        changed = db.execute(
            "UPDATE models SET factory = ?, factory_kwargs = ? WHERE name = ?",
            (factory, json.dumps(kwargs), model),
        ).rowcount
    assert changed == 1


def system_command_workspace(ws: cl.Workspace, sentinel: Path) -> Path:
    """Close `ws` (digits data, "mlp" and its pruned child "mlp-70") after setting mlp's factory
    to os.system with a command that would create `sentinel`; the folder to reopen."""
    folder = Path(ws.location)
    ws.close()
    tamper_factory(folder, "mlp", "os:system", {"command": f"touch {sentinel}"})
    return folder
