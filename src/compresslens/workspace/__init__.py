"""The facade: `Workspace` composes the kernel; one module per analysis family."""

from compresslens.workspace.core import Workspace

__all__ = ["Workspace"]
