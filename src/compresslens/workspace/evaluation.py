"""Running a stored model over a dataset and storing what it answered."""

from __future__ import annotations

from collections.abc import Callable

from compresslens.data.inputs import input_spec
from compresslens.errors import IncompatibleDatasetError, InvalidInputError
from compresslens.evaluate.harness import evaluate_arrays
from compresslens.evaluate.profile import compute_profile, efficiency_metrics
from compresslens.evaluate.token_eval import is_causal_lm
from compresslens.input_rules import check_count
from compresslens.records import DatasetInfo, EvaluationInfo, ModelInfo
from compresslens.workspace import behaviour_metrics
from compresslens.workspace.models import ModelCatalog
from compresslens.workspace.stored_outputs import write_evaluation
from compresslens.workspace.token_evaluation import COMPACT_K, evaluate_tokens


def evaluate(
    models: ModelCatalog,
    info: ModelInfo,
    data_info: DatasetInfo,
    *,
    batch_size: int,
    logits: bool,
    features: bool | str,
    latency: bool,
    threads: int,
    progress: Callable[[int, int], None] | None,
    window: int | None = None,
    stride: int | None = None,
    compact_k: int = COMPACT_K,
) -> EvaluationInfo:
    """See `Workspace.evaluate`."""
    batch_size = check_count(batch_size, "batch_size")
    threads = check_count(threads, "threads")
    if data_info.modality == "tokens":
        if features is not False:
            raise InvalidInputError(
                "features=… is not kept on a token dataset: a causal LM's per-token hidden "
                "states are not stored"
            )
        evaluated = evaluate_tokens(
            models,
            info,
            data_info,
            batch_size=batch_size,
            logits=logits,
            window=window,
            stride=stride,
            k=compact_k,
            latency=latency,
            threads=threads,
            progress=progress,
        )
        behaviour_metrics.backfill(models.store, dataset_ids=[data_info.id], refresh=[info.id])
        return evaluated
    module = models.load(info.id)
    if is_causal_lm(module):
        raise IncompatibleDatasetError(
            f"{info.name!r} is a causal language model: evaluate it on a token dataset "
            f"(ws.add_token_corpus), not on the {data_info.modality} dataset {data_info.name!r}"
        )
    arrays = models.datasets.load(data_info.id)
    result = evaluate_arrays(
        module,
        arrays.inputs,
        arrays.labels,
        data_info.num_classes,
        batch_size=batch_size,
        keep_logits=logits,
        features=features,
        attributes=arrays.attributes,
        on_batch=progress,
    )
    efficiency = dict(info.efficiency)
    if "macs" not in efficiency or (latency and "latency" not in efficiency):
        efficiency.update(
            compute_profile(module, arrays.inputs[:1], latency=latency, threads=threads)
        )
    with models.store.write() as writer:
        # the data it ran on tells its input shape, where none was recorded
        writer.update_model(info.id, efficiency, input_spec(arrays.inputs[:1]))
        writer.set_metrics(info.id, None, efficiency_metrics(efficiency))
        write_evaluation(writer, info.id, data_info.id, result)
    # this model against its root, and any model of the dataset still waiting for its root
    behaviour_metrics.backfill(models.store, dataset_ids=[data_info.id], refresh=[info.id])
    return models.store.evaluation_infos(info.id, data_info.id)[0]
