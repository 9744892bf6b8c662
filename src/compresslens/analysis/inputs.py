"""Checks and shapes of the per-instance arrays every analysis takes (ids, masks, scores,
logits), with the slicing helpers that bound memory: one place, so that every analysis
refuses bad input with the same words.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike

from compresslens.errors import CompressLensError, InvalidOutputError
from compresslens.evaluate.outputs import first_indices


def as_ids(
    name: str, values: ArrayLike, error: type[CompressLensError] = InvalidOutputError
) -> np.ndarray:
    """A rank-1 array of integer class ids (its dtype kept), or an error naming it."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise error(f"expected {name} of shape [N], got shape {array.shape}")
    check_integer(name, array, error)
    return array


def as_model_rows(name: str, values: ArrayLike, instances: int | None = None) -> np.ndarray:
    """Integer predictions as [M, N] (dtype kept); one model's [N] becomes [1, N]."""
    array = np.asarray(values)
    array = array[None, :] if array.ndim == 1 else array
    if array.ndim != 2:
        raise InvalidOutputError(f"expected {name} of shape [M, N] or [N], got {array.shape}")
    check_integer(name, array, InvalidOutputError)
    if instances is not None:
        check_length(name, array, instances, axis=1)
    return array


def as_mask(name: str, values: ArrayLike, instances: int | None = None) -> np.ndarray:
    """A boolean [N] mask such as `correct`; integers and floats are refused, not guessed."""
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype != np.bool_:
        raise InvalidOutputError(
            f"expected {name} as a boolean array of shape [N], got {array.dtype} {array.shape}"
        )
    if instances is not None:
        check_length(name, array, instances)
    return array


def as_mask_rows(name: str, values: ArrayLike, instances: int) -> np.ndarray:
    """A boolean [M, N] mask; one model's [N] becomes [1, N]."""
    array = np.asarray(values)
    array = array[None, :] if array.ndim == 1 else array
    if array.ndim != 2 or array.dtype != np.bool_:
        raise InvalidOutputError(
            f"expected {name} as a boolean array of shape [M, N] or [N], "
            f"got {array.dtype} {array.shape}"
        )
    check_length(name, array, instances, axis=1)
    return array


def as_scores(name: str, values: ArrayLike, instances: int) -> np.ndarray:
    """Finite float scores as [M, N] float64 (one model's [N] becomes [1, N])."""
    array = np.asarray(values)
    array = array[None, :] if array.ndim == 1 else array
    if array.ndim != 2 or array.dtype.kind != "f":
        raise InvalidOutputError(
            f"expected {name} as floats of shape [M, N] or [N], got {array.dtype} {array.shape}"
        )
    check_length(name, array, instances, axis=1)
    finite = np.isfinite(array).all(axis=0)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise InvalidOutputError(
            f"{name} is NaN or infinite for {bad.size} instances ({first_indices(bad)})"
        )
    return array.astype(np.float64, copy=False)


def as_logits(name: str, values: ArrayLike, rank: int) -> np.ndarray:
    """Float logits of the given rank (rank 3 also accepts one model's [N, C]); not copied."""
    array = np.asarray(values)
    if rank == 3 and array.ndim == 2:
        array = array[None]
    shape = "[N, C]" if rank == 2 else "[M, N, C] or [N, C]"
    if array.ndim != rank or array.dtype.kind != "f":
        raise InvalidOutputError(
            f"expected {name} as float logits of shape {shape}, got {array.dtype} {array.shape}"
        )
    if array.shape[-1] == 0:
        raise InvalidOutputError(f"{name} has 0 classes (shape {array.shape})")
    return array


def check_integer(name: str, array: np.ndarray, error: type[CompressLensError]) -> None:
    """Refuse booleans and floats where class or group ids are expected."""
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise error(f"{name} must hold integer ids, got dtype {array.dtype}")


def check_length(name: str, array: np.ndarray, instances: int, axis: int = 0) -> None:
    """Refuse an array that does not describe the same N instances."""
    if array.shape[axis] != instances:
        raise InvalidOutputError(
            f"{name} covers {array.shape[axis]} instances but the other inputs cover {instances}"
        )


def check_ids_in_range(
    name: str, ids: np.ndarray, count: int, error: type[CompressLensError]
) -> None:
    """Refuse ids outside [0, count), naming the first offending instances."""
    if ids.size == 0 or (int(ids.min()) >= 0 and int(ids.max()) < count):
        return
    outside = ((ids < 0) | (ids >= count)).reshape(-1, ids.shape[-1]).any(axis=0)
    bad = np.flatnonzero(outside)
    raise error(
        f"{name} must lie in [0, {count}); {bad.size} of {ids.shape[-1]} instances do not "
        f"({first_indices(bad)})"
    )


def id_count(name: str, ids: np.ndarray) -> int:
    """One more than the largest id, after refusing negative ids."""
    if ids.size == 0:
        return 1
    lowest = int(ids.min())
    if lowest < 0:
        raise InvalidOutputError(f"{name} holds negative class ids (down to {lowest})")
    return int(ids.max()) + 1


def fraction(count: np.ndarray, total: int) -> np.ndarray:
    """count / total as float64; NaN (not a warning) when there are no instances."""
    if total == 0:
        return np.full(np.shape(count), math.nan)
    return np.asarray(count) / total


def slices(total: int, step: int) -> Iterator[slice]:
    """Consecutive slices of range(total), each at most `step` long."""
    return (slice(start, min(start + step, total)) for start in range(0, total, step))


def budget_slices(cumulative_cost: np.ndarray, budget: int) -> Iterator[slice]:
    """Runs of consecutive items whose summed cost stays within budget (≥ 1 item each)."""
    start, spent = 0, 0
    while start < cumulative_cost.size:
        stop = int(np.searchsorted(cumulative_cost, spent + budget, side="right"))
        stop = max(stop, start + 1)
        yield slice(start, stop)
        start, spent = stop, int(cumulative_cost[stop - 1])
