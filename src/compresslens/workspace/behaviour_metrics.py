"""Behaviour change against the lineage root, stored as dataset metrics beside accuracy.

Every evaluated model whose lineage root is evaluated on the same dataset gets
negative_flip_rate, positive_flip_rate, worst_class_change and (where both kept logits)
kld_mean = mean KL(root ‖ model), so the map's colour, the scatter's axes, the filters and
the Pareto frontier can weigh behaviour like accuracy. The root itself gets 0 on each: it
is its own reference, so it can sit on a frontier. On a token dataset the LM comparison
(token_evaluation.py) already stores the flip rates as correct_to_incorrect_rate /
incorrect_to_correct_rate (and kld_mean): they are copied under the shared names. Computed
after each evaluation and backfilled for models evaluated before; the cost is two stored
prediction arrays per model.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import numpy as np

from compresslens.analysis.behaviour_change import FLIP_METRICS, flip_metrics
from compresslens.analysis.divergence import output_divergence
from compresslens.errors import CompressLensError
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.store.repository import WorkspaceStore
from compresslens.workspace.stored_outputs import read_logits, read_outputs

BEHAVIOUR_METRICS = (*FLIP_METRICS, "kld_mean")
_TOKEN_RATES = {
    "negative_flip_rate": "correct_to_incorrect_rate",
    "positive_flip_rate": "incorrect_to_correct_rate",
}


def backfill(
    store: WorkspaceStore,
    *,
    dataset_ids: Iterable[str] | None = None,
    force: bool = False,
    refresh: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Compute and store the behaviour metrics of every evaluation that lacks them (all with
    `force`; also those of the models in `refresh` and of the models whose root is one,
    since a new evaluation makes theirs stale); one {model, dataset, metrics} record per
    evaluation written."""
    infos = store.model_infos()
    by_id = {m.id: m for m in infos}
    datasets = {d.id: d for d in store.dataset_infos()}
    wanted = set(datasets) if dataset_ids is None else set(dataset_ids)
    evaluated = store.outputs_artifacts([m.id for m in infos])
    written: list[dict[str, Any]] = []
    for model_id, dataset_id in sorted(evaluated):
        if dataset_id not in wanted:
            continue
        info, data_info = by_id[model_id], datasets[dataset_id]
        root = _root(info, by_id)
        if root is None or (root.id, dataset_id) not in evaluated:
            continue
        stale = force or model_id in refresh or root.id in refresh
        if not stale and "negative_flip_rate" in info.metrics.get(data_info.name, {}):
            continue
        values = _against_root(store, info, root, data_info)
        if values:
            with store.write() as writer:
                writer.set_metrics(model_id, dataset_id, values)
            written.append({"model": info.name, "dataset": data_info.name, "metrics": values})
    return written


def _root(info: ModelInfo, by_id: dict[str, ModelInfo]) -> ModelInfo | None:
    """The lineage root along first parents (as `Workspace.lineage`), None if one is unknown."""
    seen: set[str] = set()
    current = info
    while current.parent_ids:
        parent = by_id.get(current.parent_ids[0])
        if parent is None or parent.id in seen:
            return None
        seen.add(parent.id)
        current = parent
    return current


def _against_root(
    store: WorkspaceStore, info: ModelInfo, root: ModelInfo, data_info: DatasetInfo
) -> dict[str, float]:
    if data_info.modality == "tokens":
        if root.id == info.id:  # its own reference (its kld_mean stays unset, as the LM
            return dict.fromkeys(_TOKEN_RATES, 0.0)  # comparison has always left it)
        stored = info.metrics.get(data_info.name, {})
        return {name: stored[source] for name, source in _TOKEN_RATES.items() if source in stored}
    model_files = store.evaluation_files(info.id, data_info.id)
    root_files = store.evaluation_files(root.id, data_info.id)
    model_out, root_out = read_outputs(store, model_files), read_outputs(store, root_files)
    values = flip_metrics(
        root_out["label"], root_out["prediction"], model_out["prediction"], data_info.num_classes
    )
    if model_files.logits is not None and root_files.logits is not None:
        values.update(_kld_mean(store, root_files, model_files, root_out["label"]))
    return values


def _kld_mean(
    store: WorkspaceStore, root_files: Any, model_files: Any, labels: np.ndarray
) -> dict[str, float]:
    """mean KL(root ‖ model) in nats; nothing where it is undefined (a class ruled out)."""
    try:
        root_logits = read_logits(store, root_files).float().numpy()
        model_logits = read_logits(store, model_files).float().numpy()
        kl = output_divergence(root_logits, model_logits[None], labels, measures=("kl",))["kl"]
    except CompressLensError:
        return {}
    return {"kld_mean": float(kl.mean(dtype=np.float64))}
