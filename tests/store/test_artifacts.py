"""ArtifactStore on a local folder and on an fsspec file system (memory://, which takes the
generic temporary-name-then-rename path); S3 is in test_artifacts_s3.py."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from compresslens.errors import (
    ArtifactStoreUnavailableError,
    CorruptArtifactError,
    MissingExtraError,
    NotFoundError,
)
from compresslens.store.artifacts import ArtifactStore
from compresslens.store.filesystems import FsspecFolder, LocalFolder


def overwrite(store: ArtifactStore, digest: str, data: bytes) -> None:
    """Change an artifact's bytes behind the store's back (disk rot, a careless user)."""
    path = store.path_of(digest)
    if isinstance(path, Path):
        path.write_bytes(data)
    else:
        assert isinstance(store.folder, FsspecFolder)
        store.folder.fs.pipe_file(path, data)


def remove_behind_the_back(store: ArtifactStore, digest: str) -> None:
    path = store.path_of(digest)
    if isinstance(path, Path):
        path.unlink()
    else:
        assert isinstance(store.folder, FsspecFolder)
        store.folder.fs.rm_file(path)


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    if request.param == "local":
        yield ArtifactStore(tmp_path)
        return
    url = f"memory://compresslens-test-{uuid.uuid4().hex}/artifacts"
    memory = ArtifactStore(url)
    yield memory
    assert isinstance(memory.folder, FsspecFolder)
    with suppress(FileNotFoundError):  # nothing was written
        memory.folder.fs.rm(url.rsplit("/", 1)[0], recursive=True)


def test_put_then_get_returns_the_same_bytes_under_their_sha256(store: ArtifactStore) -> None:
    digest, created = store.put(b"weights")
    assert digest == hashlib.sha256(b"weights").hexdigest()
    assert created
    assert store.get(digest) == b"weights"
    assert store.exists(digest)


def test_putting_the_same_bytes_twice_stores_them_once(store: ArtifactStore) -> None:
    first, _ = store.put(b"x" * 100)
    second, created = store.put(b"x" * 100)
    assert first == second and not created
    assert store.list_hashes() == [first]


def test_list_hashes_names_every_artifact_once_in_order(store: ArtifactStore) -> None:
    digests = [store.put(bytes([i]) * 10)[0] for i in range(5)]
    assert store.list_hashes() == sorted(digests)


def test_delete_removes_the_artifact_and_tolerates_a_missing_one(store: ArtifactStore) -> None:
    keep, _ = store.put(b"keep")
    gone, _ = store.put(b"gone")
    store.delete(gone)
    store.delete(gone)  # already gone: nothing to do
    assert not store.exists(gone) and store.exists(keep)
    assert store.list_hashes() == [keep]


def test_a_changed_file_is_reported_as_corrupt(store: ArtifactStore) -> None:
    digest, _ = store.put(b"0123456789")
    overwrite(store, digest, b"01234")  # truncated
    with pytest.raises(CorruptArtifactError, match="corrupt"):
        store.get(digest)


def test_a_missing_file_is_reported_as_not_found(store: ArtifactStore) -> None:
    digest, _ = store.put(b"abc")
    remove_behind_the_back(store, digest)
    assert not store.exists(digest)
    with pytest.raises(NotFoundError, match="missing"):
        store.get(digest)


@pytest.mark.parametrize("digest", ["../../etc/passwd", "ab", "A" * 64, "0" * 63 + "/"])
def test_a_malformed_hash_is_refused(store: ArtifactStore, digest: str) -> None:
    with pytest.raises(NotFoundError, match="not an artifact hash"):
        store.get(digest)
    with pytest.raises(NotFoundError):
        store.exists(digest)
    with pytest.raises(NotFoundError):
        store.delete(digest)


def test_many_writers_of_the_same_bytes_all_succeed(store: ArtifactStore) -> None:
    """No check-then-create race: each writer's complete copy replaces identical bytes."""
    data = os.urandom(1 << 16)
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write() -> None:
        start.wait()
        try:
            results.append(store.put(data)[0])
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(results) == {hashlib.sha256(data).hexdigest()}
    assert store.list_hashes() == [results[0]]
    assert store.get(results[0]) == data


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    store.put(b"abc")
    assert not list(tmp_path.rglob(".tmp-*"))


def test_a_write_killed_before_its_rename_leaves_nothing_under_a_real_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ArtifactStore(tmp_path)

    def power_cut(fd: int) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError, match="power cut"):
        store.put(b"half written")
    assert store.list_hashes() == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_failed_rename_on_a_file_system_leaves_no_object_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"memory://compresslens-test-{uuid.uuid4().hex}"
    store = ArtifactStore(url)
    assert isinstance(store.folder, FsspecFolder)
    fs = store.folder.fs

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("connection reset")

    monkeypatch.setattr(fs, "mv", fail)
    with pytest.raises(ArtifactStoreUnavailableError, match="connection reset"):
        store.put(b"never arrives")
    assert fs.find(url) == []


def test_a_local_store_reports_a_path_and_its_absolute_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = ArtifactStore("relative/artifacts")
    digest, _ = store.put(b"abc")
    assert store.path_of(digest) == Path("relative/artifacts") / digest[:2] / digest
    assert store.location == str(tmp_path / "relative" / "artifacts")


def test_a_file_url_is_the_same_local_folder(tmp_path: Path) -> None:
    store = ArtifactStore(f"file://{tmp_path}")
    assert isinstance(store.folder, LocalFolder)
    digest, _ = store.put(b"abc")
    assert (tmp_path / digest[:2] / digest).read_bytes() == b"abc"


def test_a_url_store_names_artifacts_by_url() -> None:
    store = ArtifactStore("memory://bucket/prefix/")
    digest = hashlib.sha256(b"").hexdigest()
    assert store.location == "memory://bucket/prefix"
    assert store.path_of(digest) == f"memory://bucket/prefix/{digest[:2]}/{digest}"


def test_an_unknown_protocol_is_a_clear_error() -> None:
    with pytest.raises(ArtifactStoreUnavailableError, match="no file system for nosuch://"):
        ArtifactStore("nosuch://bucket/prefix")


def test_a_missing_package_names_the_extra_that_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if s3fs were not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'compresslens\[s3\]'"):
        ArtifactStore("s3://bucket/prefix")
