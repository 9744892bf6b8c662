"""How much compression changed each layer's activations: CKA, cosine, relative L2, SQNR.

Pure functions on activation matrices [N, D] (one row per instance), such as those that
`compresslens.evaluate.activation_capture.capture_activations` records by running a model;
nothing here runs one. Float32 input is multiplied in float32 and summed in float64,
anything else is handled in float64.

Linear CKA uses the unbiased HSIC estimator (Song et al. 2012) averaged over minibatches,
as in Nguyen, Raghu & Kornblith (2021): CKA = mean HSIC₁(K, L) / √(mean HSIC₁(K, K) ·
mean HSIC₁(L, L)). It compares layers of different widths (structured pruning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from compresslens.evaluate.activation_capture import ActivationError

Array = np.ndarray | torch.Tensor
DEFAULT_BATCH_SIZE = 256  # Nguyen et al.'s minibatch size
MIN_HSIC_ROWS = 4  # the unbiased estimator divides by n(n − 3)


# ---------------------------------------------------------------- array helpers


def _matrix(x: Array, name: str) -> Array:
    """[N, D] view of activations (a vector becomes one column); no copy, no dtype change."""
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2:
        raise ActivationError(f"{name} must be [N, D], got shape {tuple(x.shape)}")
    return x


def _numpy(x: Array) -> np.ndarray:
    """numpy view of activations: float32 stays float32 (no copy), anything else float64."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        x = x.dequantize() if x.is_quantized else x
        x = x.numpy() if x.dtype == torch.float32 else x.to(torch.float64).numpy()
    x = np.asarray(x)
    return x if x.dtype == np.float32 else x.astype(np.float64, copy=False)


def _sum_squares(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Σx² accumulated in float64 whatever the input width."""
    return np.square(x).sum(axis=axis, dtype=np.float64)


def _same_rows(x: Array, y: Array) -> None:
    if x.shape[0] != y.shape[0]:
        raise ActivationError(f"activations have {x.shape[0]} and {y.shape[0]} rows; need equal")


def _same_shape(x: Array, y: Array) -> None:
    if tuple(x.shape) != tuple(y.shape):
        raise ActivationError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")


def _is_constant(x: Array) -> bool:
    """Every row equal: centred, the matrix is zero and carries no similarity structure."""
    return bool(x.shape[0] == 0 or (x == x[:1]).all())


# ----------------------------------------------------------------------- HSIC / CKA


def centred_gram(x: np.ndarray) -> np.ndarray:
    """The linear kernel K = X Xᵀ [n, n] of column-centred features, as float64.

    Centring leaves unbiased HSIC unchanged and removes the cancellation that would
    otherwise cost float32 inputs their precision (they keep the fast float32 product).
    """
    x = _numpy(x)
    x = x - x.mean(axis=0, dtype=np.float64).astype(x.dtype)
    return (x @ x.T).astype(np.float64)


def hsic_unbiased(k: np.ndarray, lk: np.ndarray) -> float:
    """Song et al.'s unbiased HSIC₁ of two n×n kernels (n ≥ 4).

    (tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1/((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1) / (n(n−3)), K̃ = K with zero diagonal.
    """
    n = k.shape[0]
    if n < MIN_HSIC_ROWS:
        raise ActivationError(f"unbiased HSIC needs at least {MIN_HSIC_ROWS} rows, got {n}")
    k, lk = k.copy(), lk.copy()
    np.fill_diagonal(k, 0.0)
    np.fill_diagonal(lk, 0.0)
    trace = float(np.sum(k * lk))
    sums = float(k.sum() * lk.sum()) / ((n - 1) * (n - 2))
    cross = 2.0 * float(k.sum(axis=0) @ lk.sum(axis=0)) / (n - 2)
    return (trace + sums - cross) / (n * (n - 3))


def _minibatches(n: int, batch_size: int, seed: int | None) -> list[np.ndarray]:
    """Row indices split into near-equal minibatches (sizes differ by at most one)."""
    if n < MIN_HSIC_ROWS:
        raise ActivationError(f"CKA needs at least {MIN_HSIC_ROWS} instances, got {n}")
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    count = max(1, n // max(batch_size, MIN_HSIC_ROWS))
    return np.array_split(order, count)


def _cka_from_hsic(xy: float, xx: float, yy: float) -> float:
    return xy / np.sqrt(xx * yy) if xx > 0 and yy > 0 else float("nan")


def linear_cka(
    x: Array, y: Array, batch_size: int = DEFAULT_BATCH_SIZE, seed: int | None = 0
) -> float:
    """Minibatch linear CKA (Nguyen et al. 2021) of [N, D1] and [N, D2] activations.

    Unbiased HSIC is averaged over ⌊N / batch_size⌋ near-equal minibatches of a seeded
    shuffle (`seed=None` keeps row order). A constant side gives 0, both constant NaN.
    """
    x, y = _matrix(x, "X"), _matrix(y, "Y")
    _same_rows(x, y)
    degenerate = _is_constant(x) + _is_constant(y)
    if degenerate:
        return 0.0 if degenerate == 1 else float("nan")
    totals = np.zeros(3)
    batches = _minibatches(x.shape[0], batch_size, seed)
    for rows in batches:
        k, lk = centred_gram(x[rows]), centred_gram(y[rows])
        totals += [hsic_unbiased(k, lk), hsic_unbiased(k, k), hsic_unbiased(lk, lk)]
    return float(_cka_from_hsic(*(totals / len(batches))))


def linear_cka_full(x: Array, y: Array) -> float:
    """Full-batch linear CKA with the unbiased HSIC estimator (one N×N Gram per side)."""
    n = _matrix(x, "X").shape[0]
    return linear_cka(x, y, batch_size=max(n, MIN_HSIC_ROWS), seed=None)


# ------------------------------------------------------------ same-shape metrics


def cosine_similarity_mean(x: Array, y: Array) -> float:
    """Mean over instances of cos(x_i, y_i); two zero rows agree (1), one zero row gives 0."""
    x, y = _numpy(_matrix(x, "X")), _numpy(_matrix(y, "Y"))
    _same_shape(x, y)
    nx, ny = np.sqrt(_sum_squares(x, axis=1)), np.sqrt(_sum_squares(y, axis=1))
    both = (nx > 0) & (ny > 0)
    cos = np.where((nx == 0) & (ny == 0), 1.0, 0.0)
    dots = (x[both] * y[both]).sum(axis=1, dtype=np.float64)
    cos[both] = dots / (nx[both] * ny[both])
    return float(cos.mean()) if cos.size else float("nan")


def relative_l2_error(x: Array, y: Array) -> float:
    """‖Y − X‖_F / ‖X‖_F with X the reference (base) activations."""
    x, y = _numpy(x), _numpy(y)
    _same_shape(x, y)
    error, norm = float(np.sqrt(_sum_squares(y - x))), float(np.sqrt(_sum_squares(x)))
    if norm == 0:
        return 0.0 if error == 0 else float("inf")
    return error / norm


def sqnr_from_energies(squared_norm: float, squared_error: float) -> float:
    """10·log10(‖x‖² / ‖x − x̂‖²); infinite when nothing changed."""
    if squared_error == 0:
        return float("inf") if squared_norm > 0 else float("nan")
    if squared_norm == 0:
        return float("-inf")
    return float(10 * np.log10(squared_norm / squared_error))


def sqnr_db(x: Array, y: Array) -> float:
    """Signal-to-quantization-noise ratio in dB of y against the reference x (same shape)."""
    x, y = _numpy(x), _numpy(y)
    _same_shape(x, y)
    return sqnr_from_energies(float(_sum_squares(x)), float(_sum_squares(y - x)))


# --------------------------------------------------------------------- histograms


def _finite(values: Array) -> np.ndarray:
    flat = _numpy(values).ravel()
    return flat[np.isfinite(flat)]


def shared_edges(arrays: Sequence[np.ndarray], bins: int) -> np.ndarray:
    """`bins` equal-width edges spanning every array's finite values, so histograms overlay."""
    if bins < 1:
        raise ActivationError(f"bins must be positive, got {bins}")
    filled = [a for a in arrays if a.size]
    lo = min((float(a.min()) for a in filled), default=0.0)
    hi = max((float(a.max()) for a in filled), default=0.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def shared_histograms(values: Mapping[str, Array], bins: int = 50) -> dict[str, Any]:
    """Histograms of several arrays on one set of edges, with sizes, zeros and non-finites."""
    finite = {name: _finite(v) for name, v in values.items()}
    edges = shared_edges(list(finite.values()), bins)
    return {
        "edges": edges.tolist(),
        "counts": {name: np.histogram(v, bins=edges)[0].tolist() for name, v in finite.items()},
        "numel": {name: int(np.prod(tuple(v.shape))) for name, v in values.items()},
        "zeros": {name: int(np.count_nonzero(v == 0)) for name, v in finite.items()},
        "nonfinite": {
            name: int(np.prod(tuple(values[name].shape))) - v.size for name, v in finite.items()
        },
    }


def activation_histograms(
    models: Mapping[str, Mapping[str, Array]], module: str, bins: int = 50
) -> dict[str, Any]:
    """One module's activation distribution in several models on shared edges, to overlay."""
    present = {name: acts[module] for name, acts in models.items() if module in acts}
    if not present:
        raise ActivationError(f"no model has activations for module {module!r}")
    missing = [name for name in models if name not in present]
    return {"module": module, **shared_histograms(present, bins), "missing": missing}


# --------------------------------------------------------------------- comparison


def compare_module_activations(
    name: str, base: Array, model: Array, batch_size: int = DEFAULT_BATCH_SIZE
) -> dict[str, Any]:
    """One module's row: CKA always; cosine, relative L2 and SQNR when shapes match; whether
    the activations are identical (SQNR is then infinite, which JSON cannot carry)."""
    base, model = _matrix(base, f"{name} (base)"), _matrix(model, f"{name} (model)")
    _same_rows(base, model)
    same = tuple(base.shape) == tuple(model.shape)
    if same:  # convert once for all four metrics (float32 tensors convert without a copy)
        base, model = _numpy(base), _numpy(model)
    row = {
        "module": name,
        "base_shape": list(base.shape),
        "model_shape": list(model.shape),
        "same_shape": same,
        "cka": linear_cka(base, model, batch_size),
        "cosine": cosine_similarity_mean(base, model) if same else None,
        "rel_l2": relative_l2_error(base, model) if same else None,
        "sqnr_db": sqnr_db(base, model) if same else None,
    }
    return {**row, "identical": is_identical(row)}


DIVERGENCE_METRICS = ("cka", "cosine", "sqnr_db")


def first_divergent_layer(
    rows: Sequence[Mapping[str, Any]], threshold: float = 0.9, metric: str = "cka"
) -> str | None:
    """The first row (forward order) whose `metric` (higher = closer) is below `threshold`.

    A missing value (other shapes: no cosine or SQNR; NaN: both constant) is not below, and
    neither is an identical layer (SQNR +inf, or null once stored as JSON).
    """
    if metric not in DIVERGENCE_METRICS:
        raise ActivationError(
            f"unknown divergence metric {metric!r}; use one of {DIVERGENCE_METRICS}"
        )
    for row in rows:
        value = row.get(metric)
        if value is not None and value < threshold:
            return str(row["module"])
    return None


def is_identical(row: Mapping[str, Any]) -> bool:
    """Whether a module's activations equal the base's exactly (zero error, same shape).

    Read from the relative L2 error, which stays finite (0) where SQNR is infinite, so the
    answer survives JSON (which has no infinity) and holds for rows stored before it existed.
    """
    return bool(row.get("same_shape")) and row.get("rel_l2") == 0


def compare_activations(
    base_acts: Mapping[str, Array],
    model_acts: Mapping[str, Array],
    threshold: float = 0.9,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict[str, Any]:
    """Per-module rows matched by name, in the base's (forward) order, and unmatched names."""
    rows = [
        compare_module_activations(name, acts, model_acts[name], batch_size)
        for name, acts in base_acts.items()
        if name in model_acts
    ]
    return {
        "modules": rows,
        "only_in_base": [name for name in base_acts if name not in model_acts],
        "only_in_model": [name for name in model_acts if name not in base_acts],
        "threshold": threshold,
        "first_divergent_layer": first_divergent_layer(rows, threshold),
    }
