"""A workspace's records (models, datasets, evaluations) read without torch.

`compresslens ls`, `datasets` and `show` only list what is stored; importing the whole facade
(torch, scipy) would cost them seconds of start-up, so they read through this small view.
The answers are the same records `Workspace.models()` etc. return: both ask the store.
"""

from __future__ import annotations

from pathlib import Path

from compresslens.records import DatasetInfo, EvaluationInfo, ModelInfo
from compresslens.store.garbage import DEFAULT_GRACE_S, GarbageReport
from compresslens.store.repository import WorkspaceStore
from compresslens.workspace.location import check_workspace_location


class WorkspaceCatalog:
    """The listing half of a Workspace: records out, nothing loaded or computed."""

    def __init__(
        self, location: str | Path = "demo-workspace", artifacts: str | Path | None = None
    ) -> None:
        check_workspace_location(location)
        self.store = WorkspaceStore(location, artifacts)
        self.location = str(location)

    def close(self) -> None:
        self.store.db.close()

    def datasets(self) -> list[DatasetInfo]:
        return self.store.dataset_infos()

    def models(self) -> list[ModelInfo]:
        return self.store.model_infos()

    def model(self, model: str) -> ModelInfo:
        return self.store.model_info(model)

    def lineage(self, model: str) -> list[ModelInfo]:
        """The models from the root to `model`, along each edge's first parent."""
        chain = self.store.lineage_snapshots(self.store.model_id(model))
        return [self.store.model_info(snapshot.id) for snapshot in chain]

    def evaluations(self, model: str) -> list[EvaluationInfo]:
        return self.store.evaluation_infos(self.store.model_id(model))

    def gc(self, *, dry_run: bool = False, grace_s: float = DEFAULT_GRACE_S) -> GarbageReport:
        """`Workspace.gc` without torch (what `compresslens gc` runs)."""
        return self.store.collect_garbage(dry_run=dry_run, grace_s=grace_s)
