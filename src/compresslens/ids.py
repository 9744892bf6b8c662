"""Stable ids from content: the same inputs always give the same model or dataset id."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def content_id(*parts: Any, length: int = 16) -> str:
    return hashlib.sha256(canonical_json(list(parts)).encode()).hexdigest()[:length]
