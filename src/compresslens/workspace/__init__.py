"""The facade: `Workspace` composes the kernel; one module per analysis family.

`Workspace` is imported on first use (PEP 562): `compresslens.workspace.catalog` (records
only) must stay importable without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compresslens.workspace.core import Workspace

__all__ = ["Workspace"]


def __getattr__(name: str) -> Any:
    if name != "Workspace":
        raise AttributeError(f"module 'compresslens.workspace' has no attribute {name!r}")
    from compresslens.workspace.core import Workspace

    globals()["Workspace"] = Workspace  # later reads skip this function
    return Workspace
