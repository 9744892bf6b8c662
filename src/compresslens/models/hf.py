"""Hugging Face transformers models: loaded from a local folder, rebuilt from their config.

A model registered from a folder keeps its architecture as JSON (the config, in the
factory kwargs of `from_config`) and its values as safetensors in the workspace, so the
workspace does not depend on the folder afterwards and nothing is ever unpickled or
fetched: folders load with `local_files_only=True`, and `trust_remote_code` is never set.
transformers is imported lazily (it takes seconds) and is an optional dependency.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from compresslens.data.inputs import INPUT_SPEC_VERSION, default_fill
from compresslens.errors import FactoryError
from compresslens.models.hf_tasks import TASKS

HF_FACTORY = "compresslens.models.hf:from_config"
EXAMPLE_LENGTH = 16
_BUILDING = threading.RLock()
"""transformers resolves its classes lazily, and two threads doing it at once (the server's job
worker and a request) can see a half-imported module: one model is built at a time."""


def transformers_module() -> Any:
    """The transformers package, or an error that says how to install it."""
    try:
        import transformers
    except ImportError:
        raise FactoryError(
            "Hugging Face models need the transformers package: pip install 'compresslens[hf]'"
        ) from None
    return transformers


def _auto_class(task: str) -> Any:
    if task not in TASKS:
        raise FactoryError(f"unknown task {task!r}; one of {', '.join(TASKS)}")
    return getattr(transformers_module(), TASKS[task])


def config_json(config: Any) -> dict[str, Any]:
    """A config as plain JSON (what the workspace stores in the factory kwargs)."""
    return json.loads(config.to_json_string(use_diff=False))


def from_config(task: str, config: Mapping[str, Any]) -> nn.Module:
    """Build the model a stored config describes, with freshly initialised weights.

    The factory of every Hugging Face model in a workspace: the stored weights then
    overwrite every value, so outputs are bit-identical to the registered model.
    """
    values = dict(config)
    model_type = values.pop("model_type", None)
    if not model_type:
        raise FactoryError("a Hugging Face config needs its model_type")
    with _BUILDING:
        transformers = transformers_module()
        try:
            built = transformers.AutoConfig.for_model(model_type, **values)
            model = _auto_class(task).from_config(built)
        except (ValueError, KeyError, TypeError) as exc:
            raise FactoryError(f"cannot build a {task} {model_type!r} model: {exc}") from exc
    return model.eval()


def load_pretrained(
    path: str | Path, task: str, config_overrides: Mapping[str, Any] | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """The model in a local folder, and the factory kwargs that rebuild its architecture.

    `config_overrides` change the config before loading (e.g. num_labels for a new head);
    weights the checkpoint lacks (that head) are initialised as transformers does.
    """
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise FactoryError(
            f"{folder} is not a Hugging Face model folder (no config.json); give the local "
            "path of a saved model (save_pretrained), never a hub name: nothing is downloaded"
        )
    transformers = transformers_module()
    try:
        config = transformers.AutoConfig.from_pretrained(
            folder, local_files_only=True, **dict(config_overrides or {})
        )
        model = _auto_class(task).from_pretrained(
            folder,
            config=config,
            local_files_only=True,
            dtype="float32",
            # num_labels asks for a new head: one of another size in the folder is dropped
            ignore_mismatched_sizes="num_labels" in (config_overrides or {}),
        )
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise FactoryError(f"cannot load a {task} model from {folder}: {exc}") from exc
    return model.eval(), {"task": task, "config": config_json(model.config)}


def factory_kwargs_of(model: nn.Module, task: str | None = None) -> dict[str, Any]:
    """The `from_config` kwargs of an in-memory transformers model (its task guessed)."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "to_json_string"):
        raise FactoryError(f"{type(model).__name__} is not a Hugging Face model with a config")
    return {"task": task or guess_task(model), "config": config_json(config)}


def guess_task(model: nn.Module) -> str:
    """The task of a transformers model class, from its name (…ForSequenceClassification)."""
    name = type(model).__name__
    for suffix, task in (
        ("ForSequenceClassification", "sequence-classification"),
        ("ForTokenClassification", "token-classification"),
        ("ForCausalLM", "causal-lm"),
        ("LMHeadModel", "causal-lm"),
        ("ForMaskedLM", "masked-lm"),
        ("Model", "base"),
    ):
        if name.endswith(suffix):
            return task
    raise FactoryError(f"cannot tell the task of {name}; pass task=…")


def is_hf_model(model: nn.Module) -> bool:
    """A transformers PreTrainedModel (checked without importing transformers)."""
    return any(
        cls.__name__ == "PreTrainedModel" and cls.__module__.startswith("transformers.")
        for cls in type(model).__mro__
    )


def keyword_input_spec(model: nn.Module, length: int = EXAMPLE_LENGTH) -> dict[str, Any]:
    """Token ids and an attention mask of `length` positions: what a text model takes."""
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    positions = min(length, int(limit)) if isinstance(limit, int) and limit > 0 else length
    fields = {
        name: {"shape": [positions], "dtype": "int64", "fill": default_fill(name)}
        for name in ("input_ids", "attention_mask")
    }
    return {"version": INPUT_SPEC_VERSION, "fields": fields}
