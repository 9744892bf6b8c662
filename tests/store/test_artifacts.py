from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from compresslens.errors import CorruptArtifactError, NotFoundError
from compresslens.store.artifacts import ArtifactStore


def test_put_then_get_returns_the_same_bytes_under_their_sha256(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    digest, created = store.put(b"weights")
    assert digest == hashlib.sha256(b"weights").hexdigest()
    assert created
    assert store.get(digest) == b"weights"


def test_putting_the_same_bytes_twice_stores_them_once(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    first, _ = store.put(b"x" * 100)
    second, created = store.put(b"x" * 100)
    assert first == second and not created
    assert store.list_hashes() == [first]


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    store.put(b"abc")
    assert not list(tmp_path.rglob(".tmp-*"))


def test_a_changed_file_is_reported_as_corrupt(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    digest, _ = store.put(b"0123456789")
    store.path_of(digest).write_bytes(b"01234")  # truncated on disk
    with pytest.raises(CorruptArtifactError, match="corrupt"):
        store.get(digest)


def test_a_missing_file_is_reported_as_not_found(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    digest, _ = store.put(b"abc")
    store.path_of(digest).unlink()
    with pytest.raises(NotFoundError, match="missing"):
        store.get(digest)


def test_a_malformed_hash_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        ArtifactStore(tmp_path).get("../../etc/passwd")
