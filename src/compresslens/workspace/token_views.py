"""What the UI shows of a token comparison: a page of the held-out text with each token's
agreement, KLD and Δp, and the list of flipped tokens with the base's top-1 margin.

Why a separate module: these documents are read often and page by page, so they come from
the stored per-token arrays (and the base's stored compact outputs) without re-running a
model unless asked; `cached_only` makes a missing comparison an error (the server's job
protocol) instead of a computation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from compresslens.errors import InvalidInputError, NotComputedError
from compresslens.input_rules import check_count
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.workspace.models import ModelCatalog
from compresslens.workspace.token_evaluation import (
    FLIP_KINDS,
    base_compact,
    comparison_arrays,
    plan_for,
)
from compresslens.workspace.token_storage import (
    compact_key,
    comparison_key,
    load_arrays,
    load_compact,
)

CONTEXT_TOKENS = 6
"""Tokens of text shown before a flipped token in the flip list."""


def token_arrays(
    models: ModelCatalog,
    base: ModelInfo,
    model: ModelInfo,
    data_info: DatasetInfo,
    *,
    k: int,
    cached_only: bool,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The per-token comparison arrays and the base's top-1 margin (stored, or computed)."""
    plan = plan_for(models, base, data_info, None, None, k)
    if cached_only:
        arrays = load_arrays(models.store, comparison_key(base.id, model.id, data_info.id, plan))
        compact = load_compact(models.store, compact_key(base.id, data_info.id, plan))
        if arrays is None or compact is None:
            raise NotComputedError(
                f"{model.name} is not compared with {base.name} on {data_info.name} yet"
            )
        return arrays, compact.top1_margin
    arrays = comparison_arrays(
        models, base, model, data_info, window=plan.window, stride=plan.stride, k=plan.k
    )
    return arrays, base_compact(models, base, data_info, plan).top1_margin


def _named(info: ModelInfo | DatasetInfo) -> dict[str, str]:
    return {"id": info.id, "name": info.name}


def _strings(ids: np.ndarray, names: list[str]) -> list[str]:
    return [names[int(i)] if 0 <= int(i) < len(names) else f"<{int(i)}>" for i in ids]


def _counts(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    flip, kld = arrays["flip"], arrays["kld"]
    return {
        "tokens": int(flip.size),
        "same_top_rate": float(arrays["same_top"].mean()) if flip.size else None,
        "kld_mean": float(kld.astype(np.float64).mean()) if flip.size else None,
        "correct_to_incorrect": int((flip == 1).sum()),
        "incorrect_to_correct": int((flip == 2).sum()),
    }


def token_text_page(
    models: ModelCatalog,
    base: ModelInfo,
    model: ModelInfo,
    data_info: DatasetInfo,
    *,
    offset: int,
    limit: int,
    k: int,
    cached_only: bool,
) -> dict[str, Any]:
    """Tokens [offset, offset + limit) of the held-out stream, column by column: the token
    (the label, i.e. the token predicted at that position), its entry and position, agreement,
    flip kind, KLD, Δp, and both models' top-1 tokens."""
    limit = check_count(limit, "limit")
    if offset < 0:
        raise InvalidInputError(f"offset must be ≥ 0, got {offset}")
    arrays, margin = token_arrays(models, base, model, data_info, k=k, cached_only=cached_only)
    data = models.datasets.load(data_info.id)
    names = data_info.class_names
    window = slice(offset, offset + limit)
    labels = data.labels.numpy()[window]
    attributes = {
        a: data.attributes[a][window].astype(np.int64).tolist()
        for a in ("entry", "position")
        if a in data.attributes
    }
    return {
        "base": _named(base),
        "model": _named(model),
        "dataset": _named(data_info),
        "offset": offset,
        "limit": limit,
        "flip_kinds": list(FLIP_KINDS),
        "summary": _counts(arrays),
        "page": {
            "token": _strings(labels, names),
            "entry": attributes.get("entry", []),
            "position": attributes.get("position", []),
            "same_top": arrays["same_top"][window].astype(bool).tolist(),
            "flip": arrays["flip"][window].astype(np.int64).tolist(),
            "kld": arrays["kld"][window].astype(np.float64).tolist(),
            "delta_p": arrays["delta_p"][window].astype(np.float64).tolist(),
            "base_margin": margin[window].astype(np.float64).tolist(),
            "base_top1": _strings(arrays["base_top1"][window], names),
            "model_top1": _strings(arrays["model_top1"][window], names),
        },
    }


def token_flips(
    models: ModelCatalog,
    base: ModelInfo,
    model: ModelInfo,
    data_info: DatasetInfo,
    *,
    k: int,
    cached_only: bool,
) -> dict[str, Any]:
    """Every token whose correctness flipped (correct→incorrect, incorrect→correct), column by
    column in stream order: its index, kind, the base's top-1 margin, KLD, Δp, the true and
    both top-1 tokens, and the few tokens of text before it."""
    arrays, margin = token_arrays(models, base, model, data_info, k=k, cached_only=cached_only)
    labels = models.datasets.load(data_info.id).labels.numpy()
    names = data_info.class_names
    index = np.flatnonzero(arrays["flip"] > 0)
    context = [
        "".join(_strings(labels[max(0, i - CONTEXT_TOKENS) : i], names)) for i in index.tolist()
    ]
    return {
        "base": _named(base),
        "model": _named(model),
        "dataset": _named(data_info),
        "flip_kinds": list(FLIP_KINDS),
        "summary": _counts(arrays),
        "flips": {
            "index": index.tolist(),
            "kind": [FLIP_KINDS[int(f)] for f in arrays["flip"][index]],
            "base_margin": margin[index].astype(np.float64).tolist(),
            "kld": arrays["kld"][index].astype(np.float64).tolist(),
            "delta_p": arrays["delta_p"][index].astype(np.float64).tolist(),
            "token": _strings(labels[index], names),
            "base_top1": _strings(arrays["base_top1"][index], names),
            "model_top1": _strings(arrays["model_top1"][index], names),
            "context": context,
        },
    }
