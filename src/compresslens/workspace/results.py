"""The facade's one persisted cache: analysis results stored once under a versioned key.

Every analysis that is kept across calls (comparison layers and activations, the
sensitivity sweep) goes through `stored_result`; the store keeps the JSON
(`WorkspaceStore.get_result` / `put_result`). Bumping an analysis's version makes new keys,
so a changed analysis is computed anew.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compresslens.errors import NotComputedError
from compresslens.ids import content_id
from compresslens.jsonable import jsonable
from compresslens.store.repository import WorkspaceStore


def result_key(kind: str, version: int, *inputs: Any) -> str:
    """The key of one analysis result: its kind, version and every input that shapes it."""
    return content_id(kind, version, *inputs, length=64)


def stored_result(
    store: WorkspaceStore,
    kind: str,
    key: str,
    compute: Callable[[], Any],
    *,
    cached_only: bool = False,
    missing: str = "",
    encode: Callable[[Any], Any] = jsonable,
) -> Any:
    """The stored result under `key`, else `compute()` made JSON by `encode` and stored.

    `encode` defaults to strict JSON (NaN and ±inf become null); a result of plain floats
    may pass `encode=plain_floats` to keep ±inf. With `cached_only`,
    NotComputedError(`missing`) is raised instead of computing."""
    found = store.get_result(kind, key)
    if found is not None:
        return found
    if cached_only:
        raise NotComputedError(missing or f"the {kind} result is not stored yet")
    result = encode(compute())
    store.put_result(kind, key, result)
    return result


def plain_floats(value: Any) -> Any:
    """Already JSON values whose ±inf must survive (Python's json writes them as Infinity)."""
    return value
