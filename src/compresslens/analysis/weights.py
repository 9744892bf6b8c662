"""Per-module weight comparison of a compressed model with its base (Compress and Compare).

Inputs are name → weight maps (`module_weights` reads them from a model): every Linear- or
Conv-like module's effective float weight, masked if pruned and dequantized if quantized.
A Linear replaced by a low-rank factor pair appears as two keys, ``<name>::lowrank.in``
[r, in] and ``<name>::lowrank.out`` [out, r], so the map survives a round trip through
safetensors and the comparison can still name the layer they replace. A GPT-2 Conv1D's
[in, out] weight is read as [out, in], like the nn.Linear a quantizer swaps it for; norms
are those of `models/module_kinds.py` (Hugging Face's LlamaRMSNorm included).
Everything after `module_weights` is pure numpy (float64).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from compresslens.analysis.activations import shared_histograms, sqnr_db, sqnr_from_energies
from compresslens.errors import CompressLensError
from compresslens.evaluate.efficiency import is_packed_quantized, module_weight
from compresslens.models.module_kinds import is_norm, out_in

LOW_RANK_MARK = "::lowrank."
LOW_RANK_IN = LOW_RANK_MARK + "in"  # applied first: [rank, in_features]
LOW_RANK_OUT = LOW_RANK_MARK + "out"  # applied second: [out_features, rank]
QUANTILES: dict[str, float] = {
    "min": 0.0,
    "q05": 0.05,
    "q25": 0.25,
    "q50": 0.5,
    "q75": 0.75,
    "q95": 0.95,
    "max": 1.0,
}
# Relative change spans orders of magnitude (int8 rounding ~1e-3, pruning exactly 1), so the
# shared bins are log-spaced; the first bin [0, 1e-4) holds unchanged weights.
RELATIVE_CHANGE_EDGES: np.ndarray = np.concatenate([[0.0], np.logspace(-4, 2, 50)])
RELATIVE_CHANGE_EDGES.flags.writeable = False
EPS = 1e-8
_WEIGHT_TYPE_NAMES = ("Conv1D",)  # transformers' GPT-2 style Linear with a transposed weight


class WeightComparisonError(CompressLensError, ValueError):
    """Weight maps or modules that cannot be compared or histogrammed."""


# ------------------------------------------------------------- reading a model


def dequantized(t: torch.Tensor) -> torch.Tensor:
    """A float32 copy of a weight: torch.ao and torchao quantized tensors are dequantized."""
    t = t.detach()
    if t.is_quantized or type(t) not in (torch.Tensor, nn.Parameter):
        t = t.dequantize()  # torchao tensor subclasses override it
    return t.to(torch.float32).cpu().clone()


def _is_linear(module: nn.Module) -> bool:
    """A float, masked or quantized (torch.ao packed, torchao) fully connected layer."""
    packed = is_packed_quantized(module) and "Linear" in type(module).__name__
    return isinstance(module, nn.Linear) or packed


def is_weight_module(module: nn.Module, include_norms: bool = False) -> bool:
    """Linear/Conv-like modules (float, pruned or quantized); norms only when asked."""
    if module_weight(module) is None:
        return False
    if _is_linear(module) or isinstance(module, nn.modules.conv._ConvNd):
        return True
    kind = type(module).__name__
    if kind in _WEIGHT_TYPE_NAMES or (is_packed_quantized(module) and "Conv" in kind):
        return True
    return include_norms and is_norm(module)


def low_rank_pair(module: nn.Module) -> tuple[nn.Module, nn.Module] | None:
    """(first, second) when a module is exactly two chained Linears with a bottleneck rank.

    The rank r must be below min(in, out): a factorization that compresses, not a wider MLP.
    """
    children = list(module.children())
    if _is_linear(module) or len(children) != 2 or not all(map(_is_linear, children)):
        return None
    if any(True for _ in module.parameters(recurse=False)):
        return None
    first, second = children
    if _weight_shape(first)[0] != _weight_shape(second)[1]:
        first, second = second, first
    (rank, width_in), (width_out, inner) = _weight_shape(first), _weight_shape(second)
    return (first, second) if rank == inner and rank < min(width_in, width_out) else None


def _weight(module: nn.Module) -> torch.Tensor:
    """The weight of a module already known to have one."""
    weight = module_weight(module)
    if weight is None:
        raise WeightComparisonError(f"{type(module).__name__} has no weight tensor")
    return weight


def _weight_shape(linear: nn.Module) -> tuple[int, int]:
    rows, cols = _weight(linear).shape
    return rows, cols


def weight_entries(
    model: nn.Module, include_norms: bool = False
) -> Iterator[tuple[str, nn.Module]]:
    """(key, module) for every weight module in module order; low-rank factors get marked keys."""
    factors: set[int] = set()
    for name, module in model.named_modules():
        pair = low_rank_pair(module)
        if pair is not None:
            factors.update(id(m) for m in pair)
            yield name + LOW_RANK_IN, pair[0]
            yield name + LOW_RANK_OUT, pair[1]
        elif id(module) not in factors and is_weight_module(module, include_norms):
            yield name, module


def module_weights(model: nn.Module, include_norms: bool = False) -> dict[str, torch.Tensor]:
    """Each weight module's effective float32 weight by key, in module order.

    Low-rank pairs come as ``<name>::lowrank.in`` / ``<name>::lowrank.out``; norm-layer
    scales are included with ``include_norms`` (pruned norms broke a model in the paper).
    """
    return {
        key: dequantized(out_in(module, _weight(module)))
        for key, module in weight_entries(model, include_norms)
    }


def is_quantized_weight(weight: torch.Tensor) -> bool:
    """Stored quantized (torch.ao, a torchao subclass) or cast below float32."""
    subclass = type(weight) not in (torch.Tensor, nn.Parameter)
    narrow = weight.is_floating_point() and weight.element_size() < 4
    return weight.is_quantized or subclass or narrow


def quantized_modules(model: nn.Module) -> list[str]:
    """Keys (as in `module_weights`, norms included) whose weight is stored quantized."""
    return [
        key
        for key, module in weight_entries(model, include_norms=True)
        if is_quantized_weight(_weight(module))
    ]


# ---------------------------------------------------------------- array math


def as_float64(t: torch.Tensor | np.ndarray) -> np.ndarray:
    """A float64 numpy copy of a weight, whatever its container."""
    if isinstance(t, torch.Tensor):
        t = dequantized(t).numpy()
    return np.asarray(t, dtype=np.float64)


def side_summary(w: np.ndarray) -> dict[str, Any]:
    """Shape, size and exact-zero share of one side's weight."""
    zeros = int(np.count_nonzero(w == 0))
    return {
        "shape": list(w.shape),
        "numel": int(w.size),
        "zeros": zeros,
        "sparsity": zeros / w.size if w.size else 0.0,
    }


def zero_overlap(base: np.ndarray, model: np.ndarray) -> dict[str, Any]:
    """Where the zeros are: only in the base, only in the model, in both (counts and shares)."""
    zb, zm = base == 0, model == 0
    counts = {
        "base_only": int(np.count_nonzero(zb & ~zm)),
        "model_only": int(np.count_nonzero(zm & ~zb)),
        "both": int(np.count_nonzero(zb & zm)),
    }
    shares = {f"{k}_share": v / base.size if base.size else 0.0 for k, v in counts.items()}
    return {**counts, **shares}


def relative_change(base: np.ndarray, model: np.ndarray, eps: float = EPS) -> np.ndarray:
    """|Δw| / (|w_base| + ε) per element: 1 for a pruned weight, small for rounding."""
    return np.abs(model - base) / (np.abs(base) + eps)


def change_summary(change: np.ndarray, edges: np.ndarray) -> dict[str, Any]:
    """Mean, quantiles and a histogram on shared edges (values past the last edge clip in)."""
    if change.size == 0:
        return {"mean": 0.0, "quantiles": dict.fromkeys(QUANTILES, 0.0), "histogram": []}
    values = np.quantile(change, list(QUANTILES.values()))
    clipped = np.clip(change.ravel(), edges[0], edges[-1])
    counts, _ = np.histogram(clipped, bins=edges)
    return {
        "mean": float(change.mean()),
        "quantiles": {k: float(v) for k, v in zip(QUANTILES, values, strict=True)},
        "histogram": counts.tolist(),
    }


# ------------------------------------------------------------ per-module rows


def compare_module(
    name: str,
    base: np.ndarray,
    model: np.ndarray,
    quantized: bool = False,
    edges: np.ndarray | None = None,
    eps: float = EPS,
) -> dict[str, Any]:
    """One module's row; weights of different shapes get `comparable: false` and a reason."""
    edges = RELATIVE_CHANGE_EDGES if edges is None else edges
    row: dict[str, Any] = {
        "module": name,
        "base": side_summary(base),
        "model": side_summary(model),
        "quantized": quantized,
    }
    if base.shape != model.shape:
        reason = f"shapes differ: {list(base.shape)} vs {list(model.shape)} (structured change)"
        return {**row, "comparable": False, "reason": reason}
    change = change_summary(relative_change(base, model, eps), edges)
    squared_norm = float(np.sum(base * base))
    squared_error = float(np.sum((model - base) ** 2))
    return {
        **row,
        "comparable": True,
        "reason": None,
        "zero_overlap": zero_overlap(base, model),
        "changed_share": float(np.count_nonzero(model != base) / base.size) if base.size else 0.0,
        "relative_change": {"mean": change["mean"], "quantiles": change["quantiles"]},
        "relative_change_histogram": change["histogram"],
        "squared_norm": squared_norm,
        "squared_error": squared_error,
        "sqnr_db": sqnr_db(base, model) if quantized else None,
    }


def low_rank_factors(weights: Mapping[str, Any], name: str) -> tuple[Any, Any] | None:
    """The (in, out) factors that replace module `name` in a weight map, if any."""
    first, second = weights.get(name + LOW_RANK_IN), weights.get(name + LOW_RANK_OUT)
    return None if first is None or second is None else (first, second)


def effective_weight(weights: Mapping[str, Any], name: str) -> np.ndarray | None:
    """The weight module `name` applies: stored directly or as the product out @ in."""
    if name in weights:
        return as_float64(weights[name])
    factors = low_rank_factors(weights, name)
    if factors is None:
        return None
    return as_float64(factors[1]) @ as_float64(factors[0])


def compare_low_rank(name: str, base: np.ndarray, first: Any, second: Any) -> dict[str, Any]:
    """A layer replaced by factors: not element-wise comparable; report the approximation."""
    w_in, w_out = as_float64(first), as_float64(second)
    product = w_out @ w_in
    sides = [side_summary(w_in), side_summary(w_out)]
    zeros = sum(s["zeros"] for s in sides)
    numel = sum(s["numel"] for s in sides)
    error = np.linalg.norm(product - base) / max(np.linalg.norm(base), EPS)
    return {
        "module": name,
        "base": side_summary(base),
        "model": {
            "shape": [s["shape"] for s in sides],
            "numel": numel,
            "zeros": zeros,
            "sparsity": zeros / numel if numel else 0.0,
        },
        "quantized": False,
        "comparable": False,
        "reason": f"replaced by low-rank factors of rank {w_in.shape[0]}",
        "low_rank": {
            "rank": int(w_in.shape[0]),
            "relative_error": float(error),
            "sqnr_db": sqnr_db(base, product),
        },
    }


def _module_of(key: str) -> str:
    """The module a key belongs to: low-rank factor keys belong to the layer they replace."""
    return key.split(LOW_RANK_MARK, 1)[0]


def _pairings(
    base: Mapping[str, Any], model: Mapping[str, Any]
) -> Iterator[tuple[str, str | None]]:
    """(base key, how the model holds it: "same" key, "low_rank", or None) in base order."""
    for key in base:
        if key in model:
            yield key, "same"
        elif low_rank_factors(model, key) is not None:
            yield key, "low_rank"
        else:
            yield key, None


def compare_weights(
    base: Mapping[str, Any],
    model: Mapping[str, Any],
    quantized: Collection[str] = (),
    edges: np.ndarray | None = None,
    eps: float = EPS,
) -> dict[str, Any]:
    """Rows per module, roll-ups along the module tree, and the keys only one side has.

    `quantized` names the model's quantized modules (`quantized_modules`); only they get an
    SQNR, since for pruning the "noise" is the removed weights themselves.
    """
    rows, only_in_base, used = [], [], set()
    for key, how in _pairings(base, model):
        if how is None:
            only_in_base.append(key)
            continue
        if how == "same":
            used.add(key)
            row = compare_module(
                key, as_float64(base[key]), as_float64(model[key]), key in quantized, edges, eps
            )
        else:
            used.update({key + LOW_RANK_IN, key + LOW_RANK_OUT})
            row = compare_low_rank(key, as_float64(base[key]), *low_rank_factors(model, key))
        rows.append(row)
    return {
        "modules": rows,
        "rollup": rollup(rows),
        "only_in_base": only_in_base,
        "only_in_model": [key for key in model if key not in used],
        "relative_change_edges": np.asarray(
            RELATIVE_CHANGE_EDGES if edges is None else edges
        ).tolist(),
    }


# ------------------------------------------------------------------- roll-ups


def ancestors(key: str) -> list[str]:
    """Every enclosing module, outermost first; "" is the whole model.

    Low-rank factor keys are also enclosed by the layer they replace.
    """
    module = _module_of(key)
    parts = module.split(".")
    chain = ["", *(".".join(parts[:i]) for i in range(1, len(parts)))]
    return [*chain, module] if module != key else chain


def _empty_group() -> dict[str, Any]:
    return {
        "modules": 0,
        "base_numel": 0,
        "base_zeros": 0,
        "model_numel": 0,
        "model_zeros": 0,
        "comparable_numel": 0,
        "overlap": np.zeros(3, dtype=np.int64),
        "change_sum": 0.0,
        "histogram": None,
        "squared_norm": 0.0,
        "squared_error": 0.0,
        "quantized": 0,
    }


def _accumulate(group: dict[str, Any], row: dict[str, Any]) -> None:
    """Add one row's counts to a group; means are weighted by parameter count."""
    group["modules"] += 1
    for side in ("base", "model"):
        group[f"{side}_numel"] += row[side]["numel"]
        group[f"{side}_zeros"] += row[side]["zeros"]
    if not row["comparable"]:
        return
    numel = row["base"]["numel"]
    overlap = row["zero_overlap"]
    group["comparable_numel"] += numel
    group["overlap"] += [overlap["base_only"], overlap["model_only"], overlap["both"]]
    group["change_sum"] += row["relative_change"]["mean"] * numel
    histogram = np.asarray(row["relative_change_histogram"], dtype=np.int64)
    group["histogram"] = histogram if group["histogram"] is None else group["histogram"] + histogram
    if row["quantized"]:
        group["quantized"] += 1
        group["squared_norm"] += row["squared_norm"]
        group["squared_error"] += row["squared_error"]


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _finish(name: str, group: dict[str, Any]) -> dict[str, Any]:
    """A group's JSON row: sums become shares, SQNR comes from the summed energies."""
    comparable = group["comparable_numel"]
    base_only, model_only, both = (int(v) for v in group["overlap"])
    histogram = [] if group["histogram"] is None else group["histogram"].tolist()
    sqnr = None
    if group["quantized"]:
        sqnr = sqnr_from_energies(group["squared_norm"], group["squared_error"])
    return {
        "module": name,
        "modules": group["modules"],
        "base": {
            "numel": group["base_numel"],
            "zeros": group["base_zeros"],
            "sparsity": _share(group["base_zeros"], group["base_numel"]),
        },
        "model": {
            "numel": group["model_numel"],
            "zeros": group["model_zeros"],
            "sparsity": _share(group["model_zeros"], group["model_numel"]),
        },
        "comparable_numel": comparable,
        "zero_overlap": {
            "base_only": base_only,
            "model_only": model_only,
            "both": both,
            "base_only_share": _share(base_only, comparable),
            "model_only_share": _share(model_only, comparable),
            "both_share": _share(both, comparable),
        },
        "relative_change_mean": _share(group["change_sum"], comparable),
        "relative_change_histogram": histogram,
        "sqnr_db": sqnr,
    }


def rollup(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Aggregates for every enclosing module ("layer1" sums "layer1.0.conv1", …), root first.

    Counts add up, so shares are parameter-weighted; histograms add up on their shared bins.
    """
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        for name in ancestors(row["module"]):
            _accumulate(groups.setdefault(name, _empty_group()), row)
    return [_finish(name, group) for name, group in groups.items()]


# ----------------------------------------------------------------- histograms


def weight_histograms(
    models: Mapping[str, Mapping[str, Any]], module: str, bins: int = 50
) -> dict[str, Any]:
    """One module's weight distribution in several models on shared edges, to overlay.

    A model holding the module as low-rank factors contributes their product.
    """
    values, missing = {}, []
    for model_name, weights in models.items():
        w = effective_weight(weights, module)
        if w is None:
            missing.append(model_name)
        else:
            values[model_name] = w
    if not values:
        raise WeightComparisonError(f"no model has weights for module {module!r}")
    return {"module": module, **shared_histograms(values, bins), "missing": missing}
