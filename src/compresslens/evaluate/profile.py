"""The honest-efficiency record of a model: sizes, compute and measured latency together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from compresslens.data.inputs import Inputs, TensorFields
from compresslens.evaluate.efficiency import count_parameters, model_state_for_size, storage_bytes
from compresslens.evaluate.flops import count_macs, effective_bitops
from compresslens.evaluate.latency import DEFAULT_BUDGET_SECONDS, measure_latency


def size_profile(model: nn.Module, disk_bytes: int | None) -> dict[str, Any]:
    """Parameters and bytes: dense, as a real sparse/low-bit encoding, and as stored."""
    total, nonzero = count_parameters(model)
    storage = storage_bytes(model_state_for_size(model))
    return {
        "parameters": total,
        "nonzero_parameters": nonzero,
        "sparsity": 0.0 if total == 0 else 1.0 - nonzero / total,
        "dense_bytes": storage.dense_bytes,
        "compressed_bytes": storage.compressed_bytes,
        "disk_bytes": disk_bytes,
    }


def compute_profile(
    model: nn.Module,
    example_input: Inputs,
    *,
    latency: bool = True,
    batch_sizes: Sequence[int] = (1, 64),
    threads: int = 1,
    latency_budget_s: float | None = DEFAULT_BUDGET_SECONDS,
) -> dict[str, Any]:
    """MACs and effective bit-ops per instance, and CPU latency measured, not derived
    (within ``latency_budget_s`` seconds, the record saying what that allowed)."""
    macs = count_macs(model, example_input[:1])
    profile: dict[str, Any] = {
        "input_shape": _instance_shape(example_input),
        "macs": macs.total_macs,
        "bitops": effective_bitops(model, macs),
    }
    if latency:
        profile["latency"] = measure_latency(
            model,
            example_input[:1],
            batch_sizes=batch_sizes,
            threads=threads,
            budget_seconds=latency_budget_s,
        ).to_dict()
    return profile


def _instance_shape(inputs: Inputs) -> list[int] | dict[str, list[int]]:
    """One instance's shape, or each keyword input's (the record of what was measured)."""
    if isinstance(inputs, TensorFields):
        return {name: list(inputs.field(name).shape[1:]) for name in inputs}
    return list(inputs.shape[1:])


def efficiency_metrics(efficiency: dict[str, Any]) -> dict[str, float]:
    """Flatten the efficiency record into the scalar metrics the map and scatter plot use."""
    names = (
        "parameters",
        "nonzero_parameters",
        "sparsity",
        "dense_bytes",
        "compressed_bytes",
        "disk_bytes",
        "macs",
        "bitops",
    )
    scalars = {name: float(efficiency[name]) for name in names if efficiency.get(name) is not None}
    for key, entry in efficiency.get("latency", {}).get("batches", {}).items():
        scalars[f"latency_ms_b{key}"] = float(entry["median_ms"])
    return scalars
