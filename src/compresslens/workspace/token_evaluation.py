"""Evaluating a causal LM on a token dataset, and comparing it with its base token by token.

Why against the lineage root: every compressed model of a tree is then measured against
the same reference on identical tokens (as llama.cpp's KLD against FP16), so the map and
the scatter compare like with like. The root's compact outputs (top-k log-probabilities
plus the log remaining mass) are stored once per (dataset, window plan, k); a model's own
evaluation compares its logits with them in the same pass that scores it, so no [T, V]
logits reach the disk unless `logits=True`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from compresslens.analysis.token_divergence import (
    CompactTokenOutputs,
    TokenComparison,
    compact_token_outputs,
    token_comparison,
)
from compresslens.data.arrays import DatasetArrays
from compresslens.data.inputs import input_spec
from compresslens.errors import IncompatibleDatasetError
from compresslens.evaluate.profile import compute_profile, efficiency_metrics
from compresslens.evaluate.token_eval import (
    TokenPass,
    check_lm_on_tokens,
    token_stream,
    window_and_stride,
)
from compresslens.input_rules import check_count
from compresslens.records import DatasetInfo, EvaluationInfo, ModelInfo
from compresslens.workspace.models import ModelCatalog
from compresslens.workspace.results import stored_result
from compresslens.workspace.stored_outputs import json_safe, write_evaluation
from compresslens.workspace.token_storage import (
    COMPARISON_KIND,
    compact_key,
    comparison_key,
    load_arrays,
    load_compact,
    save_arrays,
    save_compact,
)

COMPACT_K = 32
"""Top-k log-probabilities kept per token of a base (the rest as one log remaining mass)."""

FLIP_KINDS = ("same", "correct_to_incorrect", "incorrect_to_correct")
"""Per-token `flip` codes: the index of each kind."""


@dataclass(frozen=True)
class TokenPlan:
    """The window plan and k every output of one comparison is computed with."""

    window: int
    stride: int
    k: int


def evaluate_tokens(
    models: ModelCatalog,
    info: ModelInfo,
    data_info: DatasetInfo,
    *,
    batch_size: int,
    logits: bool,
    window: int | None,
    stride: int | None,
    k: int,
    latency: bool,
    threads: int,
    progress: Callable[[int, int], None] | None,
) -> EvaluationInfo:
    """See `Workspace.evaluate` on a token dataset."""
    module, arrays = _checked(models, info, data_info)
    plan = _plan(module, arrays, window, stride, k)
    root = models.lineage(info.id)[0]
    root_compact = None
    if root.id != info.id:
        root_compact = base_compact(models, root, data_info, plan, batch_size=batch_size)
    run = _pass(module, arrays, plan, batch_size, keep_logits=logits, on_batch=progress)
    parts: list[CompactTokenOutputs] = []
    chunks = _compacted(run.logits(), arrays.labels, plan.k, parts)
    comparison = None
    if root_compact is None:
        for _ in chunks:
            pass
    else:
        comparison = token_comparison(root_compact, chunks, targets=arrays.labels.numpy())
    result = run.result(data_info.num_classes, arrays.attributes)
    result.metrics["token_outputs"] = {"window": plan.window, "stride": plan.stride, "k": plan.k}
    scalars = {
        "perplexity": result.metrics["perplexity"],
        "token_accuracy": result.metrics["accuracy"],
        "mean_loss": result.metrics["mean_loss"],
    }
    if comparison is not None:
        summary = comparison.summary()
        result.metrics["token_comparison"] = {"base": root.id, **summary}
        scalars.update(comparison_metrics(summary))
    example = token_stream(arrays.inputs, arrays.labels)[None, : plan.window]
    efficiency = dict(info.efficiency)
    if "macs" not in efficiency or (latency and "latency" not in efficiency):
        efficiency.update(compute_profile(module, example, latency=latency, threads=threads))
    with models.store.write() as writer:
        writer.update_model(info.id, efficiency, input_spec(example))
        writer.set_metrics(info.id, None, efficiency_metrics(efficiency))
        write_evaluation(writer, info.id, data_info.id, result)
        writer.set_metrics(info.id, data_info.id, _finite(scalars))
    save_compact(models.store, compact_key(info.id, data_info.id, plan), _joined(parts))
    if comparison is not None and root_compact is not None:
        _store_comparison(models, (root, root_compact), info, data_info, plan, comparison)
    return models.store.evaluation_infos(info.id, data_info.id)[0]


def base_compact(
    models: ModelCatalog,
    base: ModelInfo,
    data_info: DatasetInfo,
    plan: TokenPlan,
    *,
    batch_size: int = 256,
) -> CompactTokenOutputs:
    """The base's stored compact outputs under `plan`, computed once (one pass) if missing."""
    key = compact_key(base.id, data_info.id, plan)
    found = load_compact(models.store, key)
    if found is not None:
        return found
    module, arrays = _checked(models, base, data_info)
    run = _pass(module, arrays, plan, batch_size)
    parts: list[CompactTokenOutputs] = []
    for _ in _compacted(run.logits(), arrays.labels, plan.k, parts):
        pass
    compact = _joined(parts)
    save_compact(models.store, key, compact)
    return compact


def compare_tokens(
    models: ModelCatalog,
    base: ModelInfo,
    model: ModelInfo,
    data_info: DatasetInfo,
    *,
    window: int | None,
    stride: int | None,
    k: int,
    batch_size: int = 256,
) -> dict[str, Any]:
    """See `Workspace.token_comparison`: stored once, computed by re-running the model
    against the base's stored compact outputs."""
    plan = plan_for(models, base, data_info, window, stride, k)
    key = comparison_key(base.id, model.id, data_info.id, plan)

    def compute() -> dict[str, Any]:
        compact, comparison = _rerun(models, base, model, data_info, plan, batch_size)
        save_arrays(models.store, key, token_arrays_of(comparison))
        return _described((base, compact), model, data_info, plan, comparison.summary())

    return stored_result(models.store, COMPARISON_KIND, key, compute)


def comparison_arrays(
    models: ModelCatalog,
    base: ModelInfo,
    model: ModelInfo,
    data_info: DatasetInfo,
    *,
    window: int | None,
    stride: int | None,
    k: int,
) -> dict[str, np.ndarray]:
    """Per token: kld, same_top, flip (codes of FLIP_KINDS), base/model top-1, delta_p."""
    plan = plan_for(models, base, data_info, window, stride, k)
    key = comparison_key(base.id, model.id, data_info.id, plan)
    found = load_arrays(models.store, key)
    if found is None:
        compare_tokens(
            models, base, model, data_info, window=plan.window, stride=plan.stride, k=plan.k
        )
        found = load_arrays(models.store, key)
    if found is None:  # the summary was stored by an older run without its arrays
        comparison = _rerun(models, base, model, data_info, plan, 256)[1]
        found = token_arrays_of(comparison)
        save_arrays(models.store, key, found)
    return found


def token_arrays_of(comparison: TokenComparison) -> dict[str, np.ndarray]:
    """The per-token arrays the UI colours text by (flip codes index FLIP_KINDS)."""
    flip = np.zeros(comparison.tokens, dtype=np.int8)
    flip[comparison.correct_to_incorrect.positions] = 1
    flip[comparison.incorrect_to_correct.positions] = 2
    return {
        "kld": comparison.kld.astype(np.float32),
        "same_top": comparison.same_top.astype(np.uint8),
        "flip": flip,
        "base_top1": comparison.base_top1.astype(np.int32),
        "model_top1": comparison.model_top1.astype(np.int32),
        "delta_p": comparison.delta_p.astype(np.float32),
    }


def comparison_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The comparison's scalars under the metric names the map, scatter and filters show."""
    kld = summary["kld"]
    lost, gained = summary["correct_to_incorrect"], summary["incorrect_to_correct"]
    metrics = {
        "kld_mean": kld["mean"],
        "kld_median": kld["median"],
        "kld_p90": kld["p90"],
        "kld_p99": kld["p99"],
        "kld_p999": kld["p99.9"],
        "kld_max": kld["max"],
        "same_top": summary["same_top_rate"],
        "correct_to_incorrect": lost["count"],
        "correct_to_incorrect_rate": lost["rate"],
        "incorrect_to_correct": gained["count"],
        "incorrect_to_correct_rate": gained["rate"],
    }
    metrics.update({f"delta_p_{name}": v for name, v in summary["delta_p"].items()})
    return metrics


def _store_comparison(
    models: ModelCatalog,
    base: tuple[ModelInfo, CompactTokenOutputs],
    model: ModelInfo,
    data_info: DatasetInfo,
    plan: TokenPlan,
    comparison: TokenComparison,
) -> None:
    """What `compare_tokens` would compute, kept from the evaluation's own pass."""
    key = comparison_key(base[0].id, model.id, data_info.id, plan)
    save_arrays(models.store, key, token_arrays_of(comparison))
    summary = _described(base, model, data_info, plan, comparison.summary())
    stored_result(models.store, COMPARISON_KIND, key, lambda: summary)


def _rerun(
    models: ModelCatalog,
    base: ModelInfo,
    model: ModelInfo,
    data_info: DatasetInfo,
    plan: TokenPlan,
    batch_size: int,
) -> tuple[CompactTokenOutputs, TokenComparison]:
    """The base's compact outputs and the model's comparison with them (one model pass)."""
    compact = base_compact(models, base, data_info, plan, batch_size=batch_size)
    module, arrays = _checked(models, model, data_info)
    run = _pass(module, arrays, plan, batch_size)
    return compact, token_comparison(compact, run.logits(), targets=arrays.labels.numpy())


def _pass(
    module: nn.Module,
    arrays: DatasetArrays,
    plan: TokenPlan,
    batch_size: int,
    *,
    keep_logits: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> TokenPass:
    """One sliding-window pass of `module` over the dataset's tokens under `plan`."""
    return TokenPass(
        module,
        arrays.inputs,
        arrays.labels,
        window=plan.window,
        stride=plan.stride,
        batch_size=batch_size,
        keep_logits=keep_logits,
        on_batch=on_batch,
    )


def _described(
    base: tuple[ModelInfo, CompactTokenOutputs],
    model: ModelInfo,
    data_info: DatasetInfo,
    plan: TokenPlan,
    summary: dict[str, Any],
) -> dict[str, Any]:
    """The summary with who was compared on what, and the share of the base's probability
    the top-k hold (the compact KLD puts the rest in one bucket: a lower bound)."""
    info, compact = base
    rest = np.exp(compact.log_rest.astype(np.float64))
    return {
        "base": {"id": info.id, "name": info.name},
        "model": {"id": model.id, "name": model.name},
        "dataset": {"id": data_info.id, "name": data_info.name},
        "window": plan.window,
        "stride": plan.stride,
        "k": plan.k,
        "base_top_k_mass": float(1 - rest.mean()),
        **json_safe(summary),
    }


def _checked(
    models: ModelCatalog, info: ModelInfo, data_info: DatasetInfo
) -> tuple[nn.Module, DatasetArrays]:
    if data_info.modality != "tokens":
        raise IncompatibleDatasetError(
            f"{data_info.name!r} is a {data_info.modality} dataset, not a token dataset: "
            "language models are evaluated and compared on one (ws.add_token_corpus)"
        )
    module = models.load(info.id)
    arrays = models.datasets.load(data_info.id)
    max_id = int(max(arrays.inputs.max(), arrays.labels.max()))
    check_lm_on_tokens(module, data_info.num_classes, max_id, data_info.name)
    return module, arrays


def _plan(
    module: nn.Module, arrays: DatasetArrays, window: int | None, stride: int | None, k: int
) -> TokenPlan:
    k = check_count(k, "k")
    length = int(arrays.labels.shape[0]) + 1
    window, stride = window_and_stride(module, length, window, stride)
    return TokenPlan(window=window, stride=stride, k=k)


def plan_for(
    models: ModelCatalog,
    base: ModelInfo,
    data_info: DatasetInfo,
    window: int | None,
    stride: int | None,
    k: int,
) -> TokenPlan:
    """The plan a comparison runs under: given, or the base's defaults on this dataset."""
    if window is not None and stride is not None:
        return TokenPlan(window=window, stride=stride, k=check_count(k, "k"))
    module, arrays = _checked(models, base, data_info)
    return _plan(module, arrays, window, stride, k)


def _compacted(
    chunks: Iterator[torch.Tensor],
    labels: torch.Tensor,
    k: int,
    parts: list[CompactTokenOutputs],
) -> Iterator[torch.Tensor]:
    """Pass the chunks on, keeping each one's compact top-k outputs in `parts`."""
    start = 0
    for chunk in chunks:
        rows = int(chunk.shape[0])
        targets = labels[start : start + rows].numpy()
        parts.append(compact_token_outputs(chunk, min(k, int(chunk.shape[1])), targets))
        start += rows
        yield chunk


def _joined(parts: list[CompactTokenOutputs]) -> CompactTokenOutputs:
    return CompactTokenOutputs.concatenate(parts)


def _finite(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if v is not None and np.isfinite(float(v))}
