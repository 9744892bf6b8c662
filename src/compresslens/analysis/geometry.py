"""Geometry of the last feature layer (Li et al., "Understanding Robustness Lottery").

A softmax classifier's logit decomposes as z_j = ‖W_j‖·‖f‖·cos θ_j + b_j, so a prediction that
compression changed can be read as a change of the angle θ_y between the penultimate feature f
and the true-class direction W_y, of the feature length ‖f‖, or of the margin to the nearest
decision boundary. Inputs are what an evaluation stores: features f [N, D], the final layer's
weight W [C, D] and bias b [C], labels y [N]. Everything is pure numpy (float64); nothing
here runs a model. Occlusion maps (`occlusion_maps`) take the features that
`compresslens.evaluate.occlusion.occluded_features` computes by running one;
`compresslens.workspace.comparison.occlusion_attribution` does both.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Literal

import numpy as np

from compresslens.evaluate.occlusion import GeometryError

GEOMETRY_PARTS: tuple[str, ...] = ("angle", "length", "margin")
QUANTILES: dict[str, float] = {"q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q95": 0.95}
UMAP_MIN_MODELS = 16  # below this UMAP's neighbourhood graph says little; "auto" uses PCA

MapMethod = Literal["auto", "pca", "umap"]


# ---------------------------------------------------------------- input checks


def _float_array(values: Any, name: str, ndim: int) -> np.ndarray:
    """A float64 array with the expected rank and only finite values."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim:
        raise GeometryError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise GeometryError(f"{name} contains NaN or infinite values")
    return array


def _features_and_weights(f: Any, W: Any) -> tuple[np.ndarray, np.ndarray]:
    """Features [N, D] and class directions [C, D] with the same feature dimension D."""
    f, W = _float_array(f, "features f", 2), _float_array(W, "weight W", 2)
    if f.shape[1] != W.shape[1]:
        raise GeometryError(
            f"features have dimension {f.shape[1]} but the weight expects {W.shape[1]} "
            "(W must be the final nn.Linear weight [classes, features])"
        )
    return f, W


def _bias(b: Any, num_classes: int) -> np.ndarray:
    """Bias [C] matching the weight's class count."""
    b = _float_array(b, "bias b", 1)
    if b.shape[0] != num_classes:
        raise GeometryError(f"bias has {b.shape[0]} entries but the weight has {num_classes} rows")
    return b


def _labels(y: Any, num_samples: int, num_classes: int) -> np.ndarray:
    """Integer labels [N], each a valid class index."""
    y = np.asarray(y)
    if y.shape != (num_samples,):
        raise GeometryError(f"labels must have shape ({num_samples},), got {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise GeometryError(f"labels must be integers, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise GeometryError(f"labels must lie in 0..{num_classes - 1}, got {y.min()}..{y.max()}")
    return y.astype(np.int64)


def _safe_cosine(dot: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """dot / norms clipped to [-1, 1]; 0 (θ = π/2) where a vector has no direction."""
    cos = np.divide(dot, norms, out=np.zeros_like(dot), where=norms > 0)
    return np.clip(cos, -1.0, 1.0)


# ---------------------------------------------------------------- per-sample geometry


def feature_length(f: Any) -> np.ndarray:
    """‖f‖ per sample [N]: the factor every logit shares, so shrinking it flattens confidence."""
    return np.linalg.norm(_float_array(f, "features f", 2), axis=1)


def class_angles(f: Any, W: Any) -> np.ndarray:
    """Angle θ_j in radians between each feature and each class direction W_j: [N, C].

    A zero feature or zero class row has no direction; its angle is defined as π/2.
    """
    f, W = _features_and_weights(f, W)
    norms = np.outer(np.linalg.norm(f, axis=1), np.linalg.norm(W, axis=1))
    return np.arccos(_safe_cosine(f @ W.T, norms))


def true_class_angle(f: Any, W: Any, y: Any) -> np.ndarray:
    """θ_y per sample [N]: how far each feature points away from its own class direction."""
    f, W = _features_and_weights(f, W)
    y = _labels(y, f.shape[0], W.shape[0])
    dot = np.einsum("nd,nd->n", f, W[y])
    norms = np.linalg.norm(f, axis=1) * np.linalg.norm(W, axis=1)[y]
    return np.arccos(_safe_cosine(dot, norms))


def reconstruct_logits(f: Any, W: Any, b: Any) -> np.ndarray:
    """Logits [N, C] rebuilt as ‖W_j‖·‖f‖·cos θ_j + b_j, the decomposition the views rest on."""
    f, W = _features_and_weights(f, W)
    b = _bias(b, W.shape[0])
    lengths = np.outer(np.linalg.norm(f, axis=1), np.linalg.norm(W, axis=1))
    return lengths * np.cos(class_angles(f, W)) + b


def _row_distances(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """‖W_i − W_j‖ [C, C] and a mask of rows that are exactly identical."""
    _, ids = np.unique(W, axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    sq_norms = np.einsum("cd,cd->c", W, W)
    squared = sq_norms[:, None] + sq_norms[None, :] - 2.0 * (W @ W.T)
    same = ids[:, None] == ids[None, :]
    return np.sqrt(np.where(same, 0.0, np.maximum(squared, 0.0))), same


def margin(f: Any, W: Any, b: Any, y: Any) -> np.ndarray:
    """Signed distance [N] from f to the nearest boundary of its true class; < 0 ⇔ misclassified.

    m = min_{j≠y} ((W_y − W_j)·f + b_y − b_j) / ‖W_y − W_j‖. When W_j equals W_y the bias alone
    decides, so that class contributes +inf (b_y > b_j), −inf (b_y < b_j) or 0 (a tie).
    """
    f, W = _features_and_weights(f, W)
    b = _bias(b, W.shape[0])
    y = _labels(y, f.shape[0], W.shape[0])
    if W.shape[0] < 2:
        raise GeometryError("a margin needs at least two classes")
    logits = f @ W.T + b
    rows = np.arange(f.shape[0])
    gap = logits[rows, y][:, None] - logits
    distances, same = _row_distances(W)
    bias_gap = b[y][:, None] - b[None, :]
    parallel = np.where(bias_gap == 0, 0.0, np.copysign(np.inf, bias_gap))
    tiny = np.finfo(np.float64).tiny
    per_class = np.where(same[y], parallel, gap / np.maximum(distances[y], tiny))
    per_class[rows, y] = np.inf
    return per_class.min(axis=1)


def sample_geometry(f: Any, W: Any, b: Any, y: Any) -> dict[str, np.ndarray]:
    """θ_y, ‖f‖ and margin per sample, keyed by GEOMETRY_PARTS: one model's geometry record."""
    return {
        "angle": true_class_angle(f, W, y),
        "length": feature_length(f),
        "margin": margin(f, W, b, y),
    }


def sample_deltas(
    base_geom: dict[str, np.ndarray], model_geom: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per-sample Δθ_y, Δ‖f‖, Δm (model − base) of two `sample_geometry` records."""
    deltas = {}
    for part in GEOMETRY_PARTS:
        if part not in base_geom or part not in model_geom:
            raise GeometryError(f"both geometry records need {GEOMETRY_PARTS}; {part!r} is missing")
        base, model = np.asarray(base_geom[part]), np.asarray(model_geom[part])
        if base.shape != model.shape:
            raise GeometryError(
                f"{part}: the records cover different samples (shapes {base.shape} and "
                f"{model.shape}); evaluate both models on the same dataset"
            )
        deltas[part] = model - base
    return deltas


def fragile_robust_samples(base_margin: Any, model_margin: Any) -> dict[str, np.ndarray]:
    """Sample indices grouped by how the margin's sign moved: robust (m > 0) or fragile (m ≤ 0).

    Transitions are ordered by |Δm|, largest first. Works for base vs compressed as well as
    for clean vs corrupted margins of one model.
    """
    base = _float_margin(base_margin, "base_margin")
    model = _float_margin(model_margin, "model_margin")
    if base.shape != model.shape:
        raise GeometryError(f"margins cover different samples: {base.shape} and {model.shape}")
    with np.errstate(invalid="ignore"):
        order = np.argsort(-np.abs(model - base), kind="stable")
    robust_before, robust_after = base[order] > 0, model[order] > 0
    return {
        "robust_to_fragile": order[robust_before & ~robust_after],
        "fragile_to_robust": order[~robust_before & robust_after],
        "stayed_robust": np.sort(order[robust_before & robust_after]),
        "stayed_fragile": np.sort(order[~robust_before & ~robust_after]),
    }


def _float_margin(values: Any, name: str) -> np.ndarray:
    """Margins [N]: may hold ±inf (see `margin`), never NaN."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or np.isnan(array).any():
        raise GeometryError(f"{name} must be a 1-D array of margins without NaN")
    return array


# ---------------------------------------------------------------- per-class summaries


def per_class_angle_length(f: Any, W: Any, b: Any, y: Any, num_classes: int) -> dict[str, Any]:
    """Per true class: count, and mean/sd/quantiles of θ_y, ‖f‖ and margin (NaN when empty).

    Feeds the angle-vs-length view: a compressed model may keep accuracy while a class's
    features drift away from its direction or shrink towards the origin.
    """
    geometry = sample_geometry(f, W, b, y)
    labels = _labels(y, geometry["angle"].shape[0], num_classes)
    summary: dict[str, Any] = {"count": np.bincount(labels, minlength=num_classes)}
    for part in GEOMETRY_PARTS:
        summary[part] = _grouped_summary(geometry[part], labels, num_classes)
    return summary


def _grouped_summary(values: np.ndarray, groups: np.ndarray, num_groups: int) -> dict[str, Any]:
    """Mean, sample sd and linear-interpolation quantiles of `values` per group, vectorized."""
    counts = np.bincount(groups, minlength=num_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(groups, weights=values, minlength=num_groups) / counts
        spread = np.bincount(groups, weights=(values - mean[groups]) ** 2, minlength=num_groups)
        sd = np.sqrt(spread / (counts - 1))
    sd[counts < 2] = np.nan
    ordered = values[np.lexsort((values, groups))]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    result: dict[str, Any] = {"mean": mean, "sd": sd}
    for key, q in QUANTILES.items():
        result[key] = _sorted_quantile(ordered, starts, counts, q)
    return result


def _sorted_quantile(
    ordered: np.ndarray, starts: np.ndarray, counts: np.ndarray, q: float
) -> np.ndarray:
    """Quantile q of each group laid out contiguously (sorted) in `ordered` (np.quantile's rule)."""
    position = q * np.maximum(counts - 1, 0)
    low = np.floor(position).astype(np.int64)
    high = np.ceil(position).astype(np.int64)
    last = max(ordered.shape[0] - 1, 0)
    padded = ordered if ordered.size else np.zeros(1)
    low_value = padded[np.minimum(starts + low, last)]
    high_value = padded[np.minimum(starts + high, last)]
    with np.errstate(invalid="ignore"):
        value = low_value + (position - low) * (high_value - low_value)
    value = np.where(high == low, low_value, value)
    return np.where(counts > 0, value, np.nan)


# ---------------------------------------------------------------- model map


def _rms(values: np.ndarray) -> float:
    """Root mean square, 1 when the block is all zero (nothing to rescale)."""
    rms = float(np.sqrt(np.mean(values**2))) if values.size else 0.0
    return rms if rms > 0 else 1.0


def _finite_margins(values: np.ndarray) -> np.ndarray:
    """±inf margins clipped to ±the largest finite magnitude (0 if none is finite)."""
    finite = values[np.isfinite(values)]
    bound = float(np.abs(finite).max()) if finite.size else 0.0
    return np.clip(values, -bound, bound)


def _map_blocks(f: Any, W: Any, b: Any, y: Any) -> dict[str, np.ndarray]:
    """sample_geometry with ±inf margins clipped, ready to be scaled into a vector."""
    geometry = sample_geometry(f, W, b, y)
    geometry["margin"] = _finite_margins(geometry["margin"])
    return geometry


def _block_rms(geometry: dict[str, np.ndarray]) -> tuple[float, float, float]:
    """RMS of the angle, length and margin blocks, in GEOMETRY_PARTS order."""
    return _rms(geometry["angle"]), _rms(geometry["length"]), _rms(geometry["margin"])


def geometry_scales(f: Any, W: Any, b: Any, y: Any) -> tuple[float, float, float]:
    """RMS of the θ_y, ‖f‖ and m blocks: pass a base model's to `geometry_vector(scales=…)`."""
    return _block_rms(_map_blocks(f, W, b, y))


def geometry_vector(
    f: Any, W: Any, b: Any, y: Any, scales: tuple[float, float, float] | None = None
) -> np.ndarray:
    """One model's [θ_y ‖ ‖f‖ ‖ m] over N samples [3N], each block divided by its RMS.

    Raw ‖f‖ and m (feature units) would swamp θ_y (radians), so each block gets unit RMS and
    equal weight in distances. By default each model uses its own RMS, so the map compares
    patterns over samples; pass `scales=geometry_scales(base…)` to divide every model by the
    same numbers and keep overall shrinkage visible. ±inf margins are clipped to ±the largest
    finite margin.
    """
    geometry = _map_blocks(f, W, b, y)
    if scales is None:
        scales = _block_rms(geometry)
    if len(scales) != 3 or not all(np.isfinite(s) and s > 0 for s in scales):
        raise GeometryError(f"scales must be three positive finite numbers, got {scales}")
    blocks = [geometry[part] / scale for part, scale in zip(GEOMETRY_PARTS, scales, strict=True)]
    return np.concatenate(blocks)


def pairwise_distances(vectors: Any) -> np.ndarray:
    """Euclidean distances [M, M] between rows, computed on centred rows to limit cancellation."""
    x = _float_array(vectors, "vectors", 2)
    x = x - x.mean(axis=0)
    sq_norms = np.einsum("md,md->m", x, x)
    squared = sq_norms[:, None] + sq_norms[None, :] - 2.0 * (x @ x.T)
    distances = np.sqrt(np.maximum(squared, 0.0))
    np.fill_diagonal(distances, 0.0)
    return distances


def minimum_spanning_edges(distances: Any) -> list[tuple[int, int, float]]:
    """Edges (i, j, distance), i < j, of the minimum spanning tree of a symmetric distance matrix.

    scipy reads dense entries within 1e-8 of zero as "no edge", which would cut identical or
    near-identical models off; every spanning tree has M − 1 edges, so adding 1 to all
    (rescaled) distances keeps the same tree with no such entries. Reported distances are true.
    """
    from scipy.sparse.csgraph import minimum_spanning_tree

    d = _float_array(distances, "distances", 2)
    if d.shape[0] != d.shape[1]:
        raise GeometryError(f"distances must be a square matrix, got shape {d.shape}")
    largest = float(d.max()) if d.size else 0.0
    graph = d / (largest if largest > 0 else 1.0) + 1.0
    np.fill_diagonal(graph, 0.0)
    tree = minimum_spanning_tree(graph).tocoo()
    pairs = sorted((min(i, j), max(i, j)) for i, j in zip(tree.row, tree.col, strict=True))
    return [(int(i), int(j), float(d[i, j])) for i, j in pairs]


def pca_coordinates(vectors: Any) -> np.ndarray:
    """2-D classical MDS of Euclidean distances (= PCA of centred rows): [M, 2], signs fixed.

    Each axis is flipped so its largest-magnitude coordinate is positive, for stable pictures.
    """
    x = _float_array(vectors, "vectors", 2)
    x = x - x.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(x @ x.T)
    top = np.argsort(eigenvalues)[::-1][:2]
    coords = eigenvectors[:, top] * np.sqrt(np.maximum(eigenvalues[top], 0.0))
    coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    if coords.shape[0]:
        peak = coords[np.argmax(np.abs(coords), axis=0), [0, 1]]
        coords = coords * np.where(peak < 0, -1.0, 1.0)
    return coords


def umap_available() -> bool:
    """Whether the optional `umap-learn` package is installed (it is not a dependency)."""
    return importlib.util.find_spec("umap") is not None


def _umap_coordinates(vectors: np.ndarray, seed: int) -> np.ndarray:
    """2-D UMAP embedding; deterministic given the seed (umap then runs single-threaded)."""
    import umap  # optional: numba-compiled, ~16 s to import and ~25 s for a first fit

    neighbours = max(2, min(15, vectors.shape[0] - 1))
    reducer = umap.UMAP(n_components=2, n_neighbors=neighbours, random_state=seed, init="random")
    return np.asarray(reducer.fit_transform(vectors), dtype=np.float64)


def model_map(vectors: Any, method: MapMethod = "auto", seed: int = 0) -> dict[str, Any]:
    """2-D coordinates of M models' geometry vectors [M, K] plus the MST of their distances.

    "auto" uses UMAP when umap-learn is installed and M ≥ UMAP_MIN_MODELS, else PCA (classical
    MDS); the tree, drawn over the points, shows which models are nearest in full dimension.
    Returns {"coordinates": [M, 2], "edges": [(i, j, distance)], "method": "pca" | "umap"}.
    """
    x = _float_array(vectors, "vectors", 2)
    if x.shape[0] == 0:
        raise GeometryError("the model map needs at least one model's geometry vector")
    if method not in ("auto", "pca", "umap"):
        raise GeometryError(f"method must be 'auto', 'pca' or 'umap', got {method!r}")
    if method == "umap" and not umap_available():
        raise GeometryError(
            "method='umap' needs the optional umap-learn package "
            "(`pip install umap-learn`); use method='pca' instead"
        )
    use_umap = method == "umap" or (
        method == "auto" and x.shape[0] >= UMAP_MIN_MODELS and umap_available()
    )
    coords = _umap_coordinates(x, seed) if use_umap else pca_coordinates(x)
    return {
        "coordinates": coords,
        "edges": minimum_spanning_edges(pairwise_distances(x)),
        "method": "umap" if use_umap else "pca",
    }


# ---------------------------------------------------------------- occlusion


def occlusion_maps(
    features: Any, W: Any, b: Any, y: int, grid: tuple[int, int]
) -> dict[str, np.ndarray]:
    """Maps [H', W'] of the change in θ_y, ‖f‖ and m when each patch of one image is occluded.

    `features` [1 + H'·W', D] holds the clean image's feature first, then one row per occluded
    copy in row-major grid order, as `compresslens.evaluate.occlusion.occluded_features`
    returns them with W, b and the grid. Positive means occluding the patch raised the
    quantity (for the margin: made the true class safer).
    """
    f = _float_array(features, "features f", 2)
    rows, cols = grid
    if rows < 1 or cols < 1 or f.shape[0] != 1 + rows * cols:
        raise GeometryError(
            f"a {rows}×{cols} occlusion grid needs 1 + {rows * cols} feature rows "
            f"(the clean image first), got {f.shape[0]}"
        )
    geometry = sample_geometry(f, W, b, np.full(f.shape[0], int(y)))
    return {
        part: (geometry[part][1:] - geometry[part][0]).reshape(rows, cols)
        for part in GEOMETRY_PARTS
    }


# ---------------------------------------------------------------- what a page shows

CLIP_QUANTILES = (0.005, 0.995)  # histogram range: a few extreme margins must not flatten it
SAMPLE_GROUPS = ("robust_to_fragile", "fragile_to_robust")  # the groups worth looking at


def margin_histogram(margins: dict[str, np.ndarray], bins: int) -> dict[str, Any]:
    """Counts of each margin series on shared edges, so base and model overlay directly.

    The range spans the 0.5–99.5% quantiles of all finite margins (and always 0, the decision
    boundary); values beyond it, ±inf included, are counted in the end bins and reported as
    `clipped`. Also gives each series' share of margins ≤ 0 (misclassified) and its median.
    """
    finite = np.concatenate([m[np.isfinite(m)] for m in margins.values()])
    lo, hi = np.quantile(finite, CLIP_QUANTILES) if finite.size else (-1.0, 1.0)
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    result: dict[str, Any] = {"edges": edges, "series": {}}
    for name, values in margins.items():
        counts, _ = np.histogram(np.clip(values, lo, hi), bins=edges)
        result["series"][name] = {
            "counts": counts,
            "clipped": int(np.count_nonzero((values < lo) | (values > hi))),
            "total": int(values.size),
            "negative_share": float(np.mean(values <= 0)) if values.size else None,
            "median": float(np.median(values)) if values.size else None,
        }
    return result


def fragility_samples(
    fragility: dict[str, Any], margins: dict[str, np.ndarray], labels: np.ndarray
) -> dict[str, list[dict[str, Any]]]:
    """The listed samples of the transition groups with their label and both margins."""
    return {
        group: [
            {
                "index": int(i),
                "label": int(labels[i]),
                "base_margin": float(margins["base"][i]),
                "margin": float(margins["model"][i]),
            }
            for i in fragility[group]
        ]
        for group in SAMPLE_GROUPS
    }
