"""compresslens: generate, track and compare neural-network compression experiments.

The names below torch and the database layer are loaded on first use (PEP 562), so that
`import compresslens` (and the CLI's `--help`) does not pay for torch, scipy or SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from compresslens.errors import CompressLensError, PopulationSizeWarning

if TYPE_CHECKING:
    from compresslens.records import DatasetInfo, EvaluationInfo, ModelInfo
    from compresslens.workspace import Workspace

__version__ = "0.1.0"
__all__ = [
    "CompressLensError",
    "DatasetInfo",
    "EvaluationInfo",
    "ModelInfo",
    "PopulationSizeWarning",
    "Workspace",
    "__version__",
]

# public name -> the module that defines it, imported when the name is first read
_LAZY = {
    "DatasetInfo": "compresslens.records",
    "EvaluationInfo": "compresslens.records",
    "ModelInfo": "compresslens.records",
    "Workspace": "compresslens.workspace",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'compresslens' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # later reads skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
