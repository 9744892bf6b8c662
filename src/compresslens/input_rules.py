"""The rules a name, a seed and a metric value follow wherever they enter (Python, CLI,
recipes): one rule each, so what the API accepts a recipe accepts, and the store holds it."""

from __future__ import annotations

import math
import operator
import unicodedata
from collections.abc import Mapping
from typing import Any

from compresslens.errors import InvalidInputError

MAX_NAME_LENGTH = 200  # the schema's String(200) for model and dataset names
MAX_METRIC_NAME_LENGTH = 100  # the schema's String(100) for metric names
MAX_SEED = 2**63 - 1  # seeds live in a signed 64-bit column (and torch.manual_seed takes them)
_SHOWN = 40  # characters of a refused value an error message repeats


def shown(text: str) -> str:
    """A value as an error message repeats it: quoted, control characters escaped, cut short."""
    return repr(text) if len(text) <= _SHOWN else f"{text[:_SHOWN]!r}… ({len(text):,} characters)"


def check_name(name: Any, what: str = "name", limit: int = MAX_NAME_LENGTH) -> str:
    """A name as given, or InvalidInputError: a non-blank string of at most `limit` characters
    without control characters (NUL, newlines, tabs), which every terminal and database keeps."""
    if not isinstance(name, str):
        raise InvalidInputError(f"{what} must be a string, not {type(name).__name__}")
    if not name.strip():
        raise InvalidInputError(f"{what} must not be empty or blank (got {name!r})")
    if len(name) > limit:
        raise InvalidInputError(f"{what} {shown(name)} is too long: at most {limit} characters")
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise InvalidInputError(
            f"{what} {shown(name)} holds the control character {bad!r}; use printable characters"
        )
    return name


def fitted_name(label: str, suffix: str) -> str:
    """A made-up name (`label` + `suffix`) cut to the name rule's length, keeping the suffix."""
    room = MAX_NAME_LENGTH - len(suffix)
    return (label if len(label) <= room else label[: room - 1] + "…") + suffix


def check_seed(seed: Any, what: str = "seed") -> int:
    """A seed as a plain int, or InvalidInputError: an integer with 0 ≤ seed < 2**63."""
    if isinstance(seed, bool):
        raise InvalidInputError(f"{what} must be an integer, not a bool")
    try:
        value = operator.index(seed)
    except TypeError:
        raise InvalidInputError(
            f"{what} must be an integer, not {type(seed).__name__} ({seed!r:.40})"
        ) from None
    if not 0 <= value <= MAX_SEED:
        raise InvalidInputError(f"{what} {value} is out of range: 0 ≤ seed < 2**63")
    return value


def check_metric(name: Any, value: Any, what: str = "metric") -> float:
    """A metric as a finite float, or InvalidInputError naming it: NaN, inf and text are
    refused rather than stored as something else."""
    check_name(name, f"{what} name", MAX_METRIC_NAME_LENGTH)
    if not _is_real_number(value):
        raise InvalidInputError(
            f"{what} {shown(name)} must be a number, not {type(value).__name__} ({value!r:.40})"
        )
    try:
        number = float(value)
    except OverflowError:  # an int beyond float's range
        number = math.inf
    if not math.isfinite(number):
        raise InvalidInputError(f"{what} {shown(name)} must be finite, not {value!r:.40}")
    return number


def _is_real_number(value: Any) -> bool:
    """An int or float, or a numpy / torch scalar holding one (bools are not numbers here)."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", None) == 0:
        value = item()
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_metrics(metrics: Any) -> dict[str, Any]:
    """`log_model`'s metrics checked: {name: number} for the model, {dataset: {name: number}}
    per dataset; every value a finite float afterwards."""
    if not isinstance(metrics, Mapping):
        raise InvalidInputError(
            f"metrics must map names to numbers (or datasets to such maps), "
            f"not {type(metrics).__name__}"
        )
    checked: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            check_name(key, "dataset name in metrics")
            checked[key] = {
                name: check_metric(name, v, f"metric of {key!r}") for name, v in value.items()
            }
        else:
            checked[key] = check_metric(key, value)
    return checked


MAX_OPERATION_NAME_LENGTH = 100  # the schema's String(100) for an edge's operation name


def checked_operation(operation: Any) -> dict[str, Any]:
    """`log_model`'s operation record checked: a mapping whose name, seed and wall time the
    store can hold (params are checked as JSON where they are stored)."""
    if operation is None:
        return {}
    if not isinstance(operation, Mapping):
        raise InvalidInputError(
            f"operation must be a mapping like {{'name': 'prune.elsewhere', 'params': {{…}}}}, "
            f"not {type(operation).__name__}"
        )
    op = dict(operation)
    if op.get("name") is not None:
        check_name(op["name"], "operation name", MAX_OPERATION_NAME_LENGTH)
    if op.get("seed") is not None:
        op["seed"] = check_seed(op["seed"], "operation seed")
    if op.get("wall_time_s") is not None:
        op["wall_time_s"] = check_metric("wall_time_s", op["wall_time_s"], "operation field")
    for key in ("params", "library_versions"):
        if not isinstance(op.get(key, {}), Mapping):
            raise InvalidInputError(f"operation {key} must be a mapping")
    versions = op.get("library_versions", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items()):
        raise InvalidInputError("operation library_versions must map library names to versions")
    return op


def check_count(value: Any, what: str) -> int:
    """A positive int (a batch size, a thread count), or InvalidInputError naming `what`."""
    if isinstance(value, bool):
        raise InvalidInputError(f"{what} must be a positive integer, not a bool")
    try:
        count = operator.index(value)
    except TypeError:
        raise InvalidInputError(
            f"{what} must be a positive integer, not {type(value).__name__} ({value!r:.40})"
        ) from None
    if count < 1:
        raise InvalidInputError(f"{what} must be a positive integer, not {count}")
    return count


MAX_TAG_LENGTH = 100  # the schema's String(100) for a tag


def check_tags(tags: Any) -> list[str]:
    """Tags as a list, each following the name rule at the tags column's length; one string
    is one tag, not its characters."""
    if isinstance(tags, str):
        tags = [tags]
    try:
        listed = list(tags)
    except TypeError:
        raise InvalidInputError(f"tags must be strings, not {type(tags).__name__}") from None
    return [check_name(tag, "tag", MAX_TAG_LENGTH) for tag in listed]


def check_note(note: Any) -> None:
    """A note is text (any length, any characters but NUL, which PostgreSQL cannot store)."""
    if note is None:
        return
    if not isinstance(note, str):
        raise InvalidInputError(f"a note must be a string, not {type(note).__name__}")
    if "\x00" in note:
        raise InvalidInputError("a note must not contain NUL characters")
