"""gc and the cache-hit checks on artifacts in S3 (moto): the same guarantees as a folder."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from compresslens.store.repository import WorkspaceStore
from compresslens.store.snapshots import NewModel


@pytest.mark.slow
def test_gc_on_s3_keeps_referenced_and_young_objects_and_removes_old_orphans(
    s3_url: str, tmp_path: Path
) -> None:
    store = WorkspaceStore(tmp_path / "ws", artifacts=s3_url)
    try:
        with store.write() as writer:
            writer.add_model(NewModel(id="m-1", name="one", source="added"), b"weights")
        with pytest.raises(RuntimeError), store.write() as writer:
            orphan = writer.put(b"orphan", "weights")
            raise RuntimeError("boom")
        kept = store.get_model("m-1").weights_artifact
        assert store.artifacts.size_of(orphan) == len(b"orphan")
        assert abs(store.artifacts.modified_time(orphan) - time.time()) < 600
        assert store.collect_garbage(dry_run=False, grace_s=3600).files == 0  # young
        before = store.artifacts.modified_time(kept)
        time.sleep(1.1)
        store.artifacts.touch(kept)
        assert store.artifacts.modified_time(kept) > before
        report = store.collect_garbage(dry_run=False, grace_s=0)
        assert report.digests == [orphan] and report.bytes == len(b"orphan")
        assert store.artifacts.verify(kept) and not store.artifacts.exists(orphan)
        assert store.check_models(["m-1"]) == {"m-1"}
    finally:
        store.db.close()
