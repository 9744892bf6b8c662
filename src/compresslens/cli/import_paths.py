"""The user's own folders go first on sys.path, so factory strings such as 'my_models:Net'
(and recipe plugins) import the user's modules without a package install."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable

PATH_ENV = "COMPRESSLENS_PATH"


def user_module_folders(options: Iterable[str], environment: str | None) -> list[str]:
    """--path folders first, then $COMPRESSLENS_PATH's (os.pathsep-separated), absolute, once."""
    named = [*options, *(environment or "").split(os.pathsep)]
    folders = [os.path.abspath(folder) for folder in named if folder]
    return list(dict.fromkeys(folders))


def prepend_to_sys_path(folders: list[str]) -> None:
    for folder in reversed(folders):
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
    importlib.invalidate_caches()  # a module written since the last import must be found
