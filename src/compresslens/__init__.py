"""compresslens: generate, track and compare neural-network compression experiments."""

from compresslens.errors import CompressLensError, PopulationSizeWarning
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
