"""The store's one persisted result cache: JSON values under versioned keys."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from compresslens.errors import CompressLensError, NotComputedError
from compresslens.store.repository import WorkspaceStore
from compresslens.workspace.results import plain_floats, result_key, stored_result


def test_a_result_is_read_back_as_it_was_put(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path)
    key = result_key("layers", 1, "base", "model", {"sample": 8})
    assert store.get_result("layers", key) is None
    store.put_result("layers", key, {"modules": [{"name": "fc", "sqnr": math.inf}]})
    assert store.get_result("layers", key) == {"modules": [{"name": "fc", "sqnr": math.inf}]}


def test_a_key_read_as_another_kind_is_refused(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path)
    store.put_result("layers", "k" * 64, [1, 2])
    with pytest.raises(CompressLensError, match="'layers', not a 'pies'"):
        store.get_result("pies", "k" * 64)


def test_a_bumped_version_is_a_new_key() -> None:
    assert result_key("layers", 1, "a") != result_key("layers", 2, "a")
    assert result_key("layers", 1, "a") == result_key("layers", 1, "a")


def test_stored_result_computes_once(tmp_path: Path) -> None:
    store, calls = WorkspaceStore(tmp_path), []

    def compute() -> dict[str, float]:
        calls.append(1)
        return {"drop": -math.inf, "gap": math.nan}

    with pytest.raises(NotComputedError, match="not yet"):
        stored_result(store, "sweep", "s" * 64, compute, cached_only=True, missing="not yet")
    assert stored_result(store, "sweep", "s" * 64, compute) == {"drop": None, "gap": None}
    assert stored_result(store, "sweep", "s" * 64, compute) == {"drop": None, "gap": None}
    kept = stored_result(store, "raw", "r" * 64, compute, encode=plain_floats)
    assert kept["drop"] == -math.inf and calls == [1, 1]
