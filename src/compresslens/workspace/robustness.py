"""Accuracy under generated corruptions, stored per model as `robust:<corruption>@<severity>`
metrics so that a second call only runs the conditions that are new."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from compresslens.analysis.robustness import robustness_table
from compresslens.errors import IncompatibleDatasetError, NotComputedError
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.workspace.comparison import evaluate_corruptions
from compresslens.workspace.models import ModelCatalog

Progress = Callable[[int, int], None]


def robustness(
    models: ModelCatalog,
    chosen: list[ModelInfo],
    base_info: ModelInfo,
    data_info: DatasetInfo,
    *,
    corruptions: Sequence[str],
    severities: Sequence[int],
    limit: int,
    seed: int,
    progress: Progress | None,
    cached_only: bool,
) -> list[dict[str, Any]]:
    """See `Workspace.robustness`; `chosen` holds the base first when it was not selected."""
    if base_info.id not in {m.id for m in chosen}:
        chosen.insert(0, base_info)
    if data_info.modality != "image":
        raise IncompatibleDatasetError(f"corruptions need image data; {data_info.name} is not")
    suffix = f"#n{min(limit, data_info.num_instances)}s{seed}"
    wanted = [("clean", 0)] + [(c, s) for c in corruptions for s in severities]
    keys = {cond: f"robust:{cond[0]}@{cond[1]}{suffix}" for cond in wanted}
    stored = {m.id: models.info(m.id).metrics.get(data_info.name, {}) for m in chosen}
    missing = {m.id for m in chosen if not all(k in stored[m.id] for k in keys.values())}
    if missing and cached_only:
        raise NotComputedError(
            f"robustness of {len(missing)} models on {data_info.name} is not stored yet"
        )
    total, done = len(chosen) * len(wanted), 0
    accuracy: dict[tuple[str, str, int], float] = {}
    for model in chosen:
        values = stored[model.id]
        if model.id in missing:
            values = _measure(
                models,
                model,
                data_info,
                keys,
                corruptions,
                severities,
                limit,
                seed,
                _offset_progress(progress, done, total),
            )
        for cond, key in keys.items():
            accuracy[(model.name, *cond)] = values[key]
        done += len(wanted)
        if progress is not None:
            progress(done, total)
    return robustness_table(accuracy, base_info.name)


def _measure(
    models: ModelCatalog,
    model: ModelInfo,
    data_info: DatasetInfo,
    keys: Mapping[tuple[str, int], str],
    corruptions: Sequence[str],
    severities: Sequence[int],
    limit: int,
    seed: int,
    progress: Progress | None,
) -> dict[str, float]:
    """Run one model over every condition and store the accuracies as metrics `keys`."""
    arrays = models.datasets.load(data_info.id)
    measured = evaluate_corruptions(
        models.load(model.id),
        arrays.inputs[:limit],
        arrays.labels[:limit],
        corruptions,
        severities,
        seed=seed,
        progress=progress,
    )
    values = {keys[cond]: value for cond, value in measured.items()}
    with models.store.write() as writer:
        writer.set_metrics(model.id, data_info.id, values)
    return values


def _offset_progress(progress: Progress | None, offset: int, total: int) -> Progress | None:
    """A progress callback for one part of a larger job: reports offset + done of total."""
    if progress is None:
        return None
    return lambda done, _part_total: progress(offset + done, total)
