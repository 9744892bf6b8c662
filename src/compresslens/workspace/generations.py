"""Greedy generations of a causal LM from a token dataset's fixed prompts, stored once, and
two models' generations side by side with the first diverging token.

The prompts are the first tokens of the dataset's first entries (see
`evaluate.generation.entry_prompts`), so base and model always answer the same prompts.
Texts are rebuilt from the dataset's class names (the vocabulary's token strings).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from compresslens.analysis.generation_divergence import generation_divergence
from compresslens.data.arrays import DatasetArrays
from compresslens.errors import IncompatibleDatasetError
from compresslens.evaluate.generation import PromptSet, entry_prompts, greedy_generate
from compresslens.input_rules import check_count
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.threads import intra_op_threads
from compresslens.workspace.results import result_key, stored_result

if TYPE_CHECKING:
    from compresslens.workspace.core import DatasetRef, ModelRef, Workspace

GENERATION_VERSION = 1
TOKEN_ATTRIBUTES = ("entry", "position")


def generate(
    ws: Workspace,
    model: ModelRef,
    dataset: DatasetRef,
    *,
    prompts: int,
    prompt_tokens: int,
    length: int,
    threads: int = 1,
    cached_only: bool = False,
) -> dict[str, Any]:
    """See `Workspace.generate`."""
    info, data_info = ws.model(model), ws.dataset(dataset)
    length = check_count(length, "length")
    threads = check_count(threads, "threads")
    prompt_set = token_prompts(data_info, ws.load_dataset(data_info.id), prompts, prompt_tokens)
    key = result_key(
        "generation",
        GENERATION_VERSION,
        info.id,
        data_info.id,
        prompt_set.ids.tolist(),
        length,
        threads,
    )

    def compute() -> dict[str, Any]:
        module = ws.load_model(info.id)
        with intra_op_threads(threads):  # the float reduction order, so a near-tie, depends on it
            generated = greedy_generate(module, prompt_set.ids, length)
        return {"generated_ids": generated}

    stored = stored_result(
        ws.store,
        "generation",
        key,
        compute,
        cached_only=cached_only,
        missing=f"the generations of {info.name} on {data_info.name} are not stored yet",
    )
    names = data_info.class_names
    rows = [
        {
            "entry": int(entry),
            "prompt_ids": prompt.tolist(),
            "generated_ids": list(generated),
            "prompt_text": decode(prompt, names),
            "text": decode(generated, names),
        }
        for entry, prompt, generated in zip(
            prompt_set.entries, prompt_set.ids, stored["generated_ids"], strict=True
        )
    ]
    return {
        "model": _about(info),
        "dataset": _about(data_info),
        "prompt_tokens": int(prompt_set.ids.shape[1]),
        "length": length,
        "threads": threads,
        "generations": rows,
    }


def compare_generations(
    ws: Workspace,
    base: ModelRef,
    model: ModelRef,
    dataset: DatasetRef,
    *,
    prompts: int,
    prompt_tokens: int,
    length: int,
    threads: int = 1,
    cached_only: bool = False,
) -> dict[str, Any]:
    """See `Workspace.compare_generations`."""
    options = {"prompts": prompts, "prompt_tokens": prompt_tokens, "length": length}
    options |= {"threads": threads}
    left = generate(ws, base, dataset, **options, cached_only=cached_only)
    right = generate(ws, model, dataset, **options, cached_only=cached_only)
    names = ws.dataset(dataset).class_names
    base_ids = [row["generated_ids"] for row in left["generations"]]
    model_ids = [row["generated_ids"] for row in right["generations"]]
    divergence = generation_divergence(base_ids, model_ids)
    rows = [
        {
            "entry": b["entry"],
            "prompt_ids": b["prompt_ids"],
            "prompt_text": b["prompt_text"],
            "base_ids": b["generated_ids"],
            "model_ids": m["generated_ids"],
            "base_text": b["text"],
            "model_text": m["text"],
            "base_tokens": tokens(b["generated_ids"], names),
            "model_tokens": tokens(m["generated_ids"], names),
            "first_divergence": first,
            "shared_prefix": shared,
        }
        for b, m, first, shared in zip(
            left["generations"],
            right["generations"],
            divergence.first,
            divergence.shared_prefix,
            strict=True,
        )
    ]
    return {
        "base": left["model"],
        "model": right["model"],
        "dataset": left["dataset"],
        "prompt_tokens": left["prompt_tokens"],
        "length": left["length"],
        "threads": left["threads"],
        "prompts": rows,
        "summary": divergence.summary(),
    }


def token_prompts(
    data_info: DatasetInfo, arrays: DatasetArrays, prompts: int, prompt_tokens: int
) -> PromptSet:
    """The prompt set of a token dataset, or IncompatibleDatasetError for any other."""
    missing = [name for name in TOKEN_ATTRIBUTES if name not in arrays.attributes]
    if data_info.modality != "tokens":
        why = f"its modality is {data_info.modality!r}"
    elif missing:
        why = f"it lacks the attribute {', '.join(missing)}"
    elif not isinstance(arrays.inputs, torch.Tensor) or arrays.inputs.ndim != 1:
        why = "its inputs are not one token stream [T]"
    else:
        why = ""
    if why:
        raise IncompatibleDatasetError(
            f"dataset {data_info.name!r} is not a token dataset ({why}): generation needs a "
            "held-out token stream with the per-token attributes entry and position"
        )
    return entry_prompts(
        arrays.labels.numpy(),
        arrays.attributes["entry"],
        arrays.attributes["position"],
        prompts,
        prompt_tokens,
    )


def tokens(ids: Sequence[int] | np.ndarray, names: Sequence[str]) -> list[str]:
    """Each id's token string (ids past the vocabulary's names as <id>)."""
    return [names[i] if 0 <= i < len(names) else f"<{i}>" for i in map(int, ids)]


def decode(ids: Sequence[int] | np.ndarray, names: Sequence[str]) -> str:
    """The text of token ids, rebuilt from the token strings (no tokenizer needed)."""
    return "".join(tokens(ids, names))


def _about(info: ModelInfo | DatasetInfo) -> dict[str, str]:
    return {"id": info.id, "name": info.name}
