"""Where a workspace folder may be: checked before anything is created, so a path under a
file or in a folder the user cannot write gets a sentence instead of an OSError."""

from __future__ import annotations

import os
from pathlib import Path

from compresslens.errors import CompressLensError
from compresslens.store.database import is_database_url


def check_workspace_location(location: str | Path) -> None:
    """A folder that exists, or one that can be made: not a file, not under a file."""
    if is_database_url(str(location)):
        return
    path = Path(location)
    if path.exists():
        if not path.is_dir():
            raise CompressLensError(f"workspace {str(path)!r} is a file, not a folder")
        return
    for parent in path.absolute().parents:
        if not parent.exists():
            continue
        if not parent.is_dir():
            raise CompressLensError(
                f"cannot create workspace {str(path)!r}: {str(parent)!r} is a file, not a folder"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise CompressLensError(
                f"cannot create workspace {str(path)!r}: no permission to write in {str(parent)!r}"
            )
        return
