"""Per-instance outputs of a classifier, computed from its logits.

The columns below are a stable, documented schema: evaluate stores them as one Parquet
file per (model, dataset), and every analysis reads them back by these names and dtypes.
All computations are vectorised over instances; there is no Python loop per instance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch

from compresslens.errors import IncompatibleDatasetError, InvalidOutputError

_FIRST_FEW = 5


@dataclass(frozen=True)
class OutputColumn:
    """One column of the per-instance outputs: numpy dtype name, shape and meaning."""

    dtype: str
    shape: str
    description: str


OUTPUT_COLUMNS: Mapping[str, OutputColumn] = MappingProxyType(
    {
        "label": OutputColumn("int64", "[N]", "true class id from the dataset"),
        "prediction": OutputColumn(
            "int64", "[N]", "argmax of the logits; ties go to the lowest class id"
        ),
        "confidence": OutputColumn("float32", "[N]", "softmax probability of the prediction"),
        "true_prob": OutputColumn("float32", "[N]", "softmax probability of the true label"),
        "loss": OutputColumn(
            "float32", "[N]", "cross-entropy of the true label (log_softmax in float64)"
        ),
        "margin": OutputColumn(
            "float32", "[N]", "top-1 logit minus top-2 logit; 0.0 for a one-class model"
        ),
        "top_classes": OutputColumn(
            "int32",
            "[N, k]",
            "the k = min(top_k, C) highest-scoring class ids, best first; "
            "ties go to the lowest class id",
        ),
        "top_probs": OutputColumn("float32", "[N, k]", "softmax probabilities of top_classes"),
    }
)


def instance_outputs(
    logits: torch.Tensor, labels: torch.Tensor, top_k: int = 5
) -> dict[str, np.ndarray]:
    """Turn one batch of logits [N, C] and labels [N] into the per-instance columns.

    Validates first, so a broken model or a mismatched dataset fails loudly, not as bad metrics.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    _check_logits(logits)
    _check_labels(labels, logits)
    scores = logits.detach().to(device="cpu", dtype=torch.float64)
    label_ids = labels.detach().to(device="cpu", dtype=torch.int64)
    log_probs = torch.log_softmax(scores, dim=1)
    k = min(top_k, scores.shape[1])
    ranked_scores, ranked_classes = _best_classes(scores, max(k, min(2, scores.shape[1])))
    top_classes = ranked_classes[:, :k]
    prediction = ranked_classes[:, 0]
    true_log_prob = log_probs.gather(1, label_ids.unsqueeze(1)).squeeze(1)
    return {
        "label": label_ids.numpy().astype(np.int64),
        "prediction": prediction.numpy().astype(np.int64),
        "confidence": _as_float32(log_probs.gather(1, prediction.unsqueeze(1)).squeeze(1).exp()),
        "true_prob": _as_float32(true_log_prob.exp()),
        "loss": _as_float32(-true_log_prob),
        "margin": _as_float32(_top_two_margin(ranked_scores)),
        "top_classes": top_classes.numpy().astype(np.int32),
        "top_probs": _as_float32(log_probs.gather(1, top_classes).exp()),
    }


def concat_outputs(parts: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join the per-batch outputs of one evaluation into one set of columns, in batch order."""
    if not parts:
        raise InvalidOutputError("no outputs to join: the evaluation produced no batches")
    columns = list(parts[0])
    for index, part in enumerate(parts[1:], start=1):
        if list(part) != columns:
            raise InvalidOutputError(
                f"batch {index} has columns {sorted(part)} but batch 0 has {sorted(columns)}"
            )
    return {name: _concat_column(name, [part[name] for part in parts]) for name in columns}


def _concat_column(name: str, arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate one column, refusing batches whose trailing shape (e.g. k) differs."""
    trailing = {array.shape[1:] for array in arrays}
    if len(trailing) > 1:
        raise InvalidOutputError(
            f"column {name!r} has different per-instance shapes across batches: {sorted(trailing)}"
        )
    return np.concatenate(arrays, axis=0)


def _check_logits(logits: torch.Tensor) -> None:
    """Refuse logits that are not a float [N, C] matrix of finite numbers."""
    if logits.ndim != 2:
        raise InvalidOutputError(
            f"expected logits of shape [N, C] (rank 2), got rank {logits.ndim} "
            f"with shape {tuple(logits.shape)}"
        )
    if not logits.is_floating_point():
        raise InvalidOutputError(f"expected floating-point logits, got {logits.dtype}")
    if logits.shape[1] == 0:
        raise InvalidOutputError("the model outputs 0 classes (logits of shape [N, 0])")
    finite_rows = torch.isfinite(logits).all(dim=1)
    if not bool(finite_rows.all()):
        bad = (~finite_rows).nonzero().flatten().cpu().numpy()
        raise InvalidOutputError(
            f"model produced non-finite logits for {bad.size} of {logits.shape[0]} "
            f"instances ({first_indices(bad)})"
        )


def _check_labels(labels: torch.Tensor, logits: torch.Tensor) -> None:
    """Refuse labels that are not one integer class id in [0, C) per row of logits."""
    if labels.ndim != 1:
        raise IncompatibleDatasetError(
            f"expected labels of shape [N] (rank 1), got shape {tuple(labels.shape)}"
        )
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise IncompatibleDatasetError(f"labels must be integer class ids, got {labels.dtype}")
    if labels.shape[0] != logits.shape[0]:
        raise InvalidOutputError(
            f"model produced logits for {logits.shape[0]} instances "
            f"but the batch has {labels.shape[0]} labels"
        )
    _check_label_range(labels.detach().cpu().numpy(), num_classes=logits.shape[1])


def _check_label_range(labels: np.ndarray, num_classes: int) -> None:
    """Refuse labels outside [0, num_classes), saying how far out they go and where."""
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size == 0:
        return
    low, high = int(labels.min()), int(labels.max())
    reach = f"go up to {high}" if high >= num_classes else f"go down to {low}"
    raise IncompatibleDatasetError(
        f"dataset labels {reach} but the model outputs {num_classes} classes "
        f"(labels must lie in [0, {num_classes})); {bad.size} of {labels.size} instances "
        f"are out of range ({first_indices(bad)})"
    )


def _best_classes(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k best scores per row and their classes, best first, ties to the lowest class id.

    As fast as torch.topk, but deterministic: topk alone leaves tied classes in any order.
    """
    values, classes = torch.topk(scores, k, dim=1)
    values, classes = _order_ties_by_class(values, classes)
    # Rows where a tie straddles the k-th place (rare) may have picked the wrong tied
    # classes: those rows alone are ranked again by a full stable sort.
    straddling = (scores >= values[:, -1:]).sum(dim=1) > k
    if bool(straddling.any()):
        tied_values, tied_classes = torch.sort(
            scores[straddling], dim=1, descending=True, stable=True
        )
        values[straddling] = tied_values[:, :k]
        classes[straddling] = tied_classes[:, :k]
    return values, classes


def _order_ties_by_class(
    values: torch.Tensor, classes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sort picked (value, class) pairs by value descending, then class id ascending."""
    classes, by_class = torch.sort(classes, dim=1)
    values, by_value = torch.sort(values.gather(1, by_class), dim=1, descending=True, stable=True)
    return values, classes.gather(1, by_value)


def _top_two_margin(ranked_scores: torch.Tensor) -> torch.Tensor:
    """Gap between the best and second-best logit; zero when there is only one class."""
    if ranked_scores.shape[1] < 2:
        return torch.zeros(ranked_scores.shape[0], dtype=ranked_scores.dtype)
    return ranked_scores[:, 0] - ranked_scores[:, 1]


def _as_float32(values: torch.Tensor) -> np.ndarray:
    """Convert a float64 CPU tensor to the float32 numpy array stored in the schema."""
    return values.numpy().astype(np.float32)


def first_indices(indices: np.ndarray) -> str:
    """Name the first few offending instance indices, e.g. 'first: 4, 17, 90'.

    Every per-instance check (outputs, metrics, analyses) words its error this way, so a
    user can find the bad rows without the message growing with the dataset.
    """
    shown = ", ".join(str(int(i)) for i in indices[:_FIRST_FEW])
    more = ", …" if indices.size > _FIRST_FEW else ""
    return f"first: {shown}{more}"


STORED_LOGIT_DTYPES = (torch.float16, torch.float32, torch.float64)


def compact_logits(logits: torch.Tensor) -> torch.Tensor:
    """Finite logits in the narrowest of float16/32/64 whose range holds every value: half
    the bytes when they fit float16 (±65504), never an overflow to inf when they do not."""
    largest = float(logits.abs().max()) if logits.numel() else 0.0
    for dtype in STORED_LOGIT_DTYPES[:-1]:
        if largest <= torch.finfo(dtype).max:
            return logits.to(dtype)
    return logits.to(STORED_LOGIT_DTYPES[-1])


def join_logits(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-batch compact logits joined at the widest dtype any batch needed."""
    widest = max((p.dtype for p in parts), key=lambda d: torch.finfo(d).bits)
    return torch.cat([p.to(widest) for p in parts])
