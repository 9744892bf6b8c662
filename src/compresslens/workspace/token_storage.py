"""Where the token-level outputs live: compact base outputs and per-token comparison arrays.

Both are content-keyed results of the store (kind, version and every input that shapes them:
model, dataset, window plan, k), kept as safetensors bytes (never a pickle), so the same
evaluation is never stored twice and a stale one cannot be read under a new plan.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as safetensors_load
from safetensors.numpy import save as safetensors_save

from compresslens.analysis.token_divergence import CompactTokenOutputs
from compresslens.errors import CorruptArtifactError
from compresslens.store.repository import WorkspaceStore
from compresslens.workspace.results import result_key

if TYPE_CHECKING:
    from compresslens.workspace.token_evaluation import TokenPlan

COMPACT_KIND = "token-outputs"
COMPACT_VERSION = 1
COMPARISON_KIND = "token-comparison"
ARRAYS_KIND = "token-comparison-arrays"
COMPARISON_VERSION = 1


def compact_key(model_id: str, dataset_id: str, plan: TokenPlan) -> str:
    return result_key(COMPACT_KIND, COMPACT_VERSION, model_id, dataset_id, *_plan(plan))


def comparison_key(base_id: str, model_id: str, dataset_id: str, plan: TokenPlan) -> str:
    inputs = (base_id, model_id, dataset_id, *_plan(plan))
    return result_key(COMPARISON_KIND, COMPARISON_VERSION, *inputs)


def save_compact(store: WorkspaceStore, key: str, compact: CompactTokenOutputs) -> None:
    data = safetensors_save(compact.arrays(), metadata={"vocab_size": str(compact.vocab_size)})
    store.cache_result(key, COMPACT_KIND, data)


def load_compact(store: WorkspaceStore, key: str) -> CompactTokenOutputs | None:
    data = store.cached_result(key)
    if data is None:
        return None
    arrays, metadata = _read(data, "compact token outputs")
    return CompactTokenOutputs(vocab_size=int(metadata["vocab_size"]), **arrays)


def save_arrays(store: WorkspaceStore, key: str, arrays: dict[str, np.ndarray]) -> None:
    store.cache_result(_arrays_key(key), ARRAYS_KIND, safetensors_save(arrays))


def load_arrays(store: WorkspaceStore, key: str) -> dict[str, np.ndarray] | None:
    data = store.cached_result(_arrays_key(key))
    return None if data is None else _read(data, "per-token comparison")[0]


def _arrays_key(key: str) -> str:
    return result_key(ARRAYS_KIND, COMPARISON_VERSION, key)


def _plan(plan: TokenPlan) -> tuple[int, int, int]:
    return plan.window, plan.stride, plan.k


def _read(data: bytes, what: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and metadata of safetensors bytes, or CorruptArtifactError."""
    try:
        arrays = safetensors_load(data)
        metadata = _metadata(data)
    except (SafetensorError, ValueError, KeyError) as exc:
        raise CorruptArtifactError(f"the stored {what} cannot be read: {exc}") from exc
    return arrays, metadata


def _metadata(data: bytes) -> dict[str, Any]:
    """The __metadata__ of a safetensors header (its first 8 bytes give the header's size)."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    return dict(header.get("__metadata__") or {})
