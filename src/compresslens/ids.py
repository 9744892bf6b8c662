"""Stable ids from content: the same inputs always give the same model or dataset id."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def content_id(*parts: Any, length: int = 16) -> str:
    return hashlib.sha256(canonical_json(list(parts)).encode()).hexdigest()[:length]


def derived_model_id(
    parents: Sequence[tuple[str, str]], operation: str, params: Mapping[str, Any], seed: int
) -> str:
    """A derived model's id: its (parent id, role) pairs, operation, normalized params, seed."""
    return content_id("derived", [list(p) for p in parents], operation, dict(params), seed)


def trained_model_id(
    factory: str, factory_kwargs: Mapping[str, Any], train_params: Mapping[str, Any], seed: int
) -> str:
    """A root trained from scratch: factory, its kwargs, training parameters and seed."""
    return content_id("trained", factory, dict(factory_kwargs), dict(train_params), seed)
