"""Where `compresslens add-model` builds a model from: a Hugging Face folder or a factory.

The options of one way are refused with the other, before the workspace is touched, so a
mistyped command stores nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compresslens.errors import CompressLensError, InvalidWeightsError
from compresslens.models.hf_tasks import TASKS

if TYPE_CHECKING:
    from compresslens.records import ModelInfo

SHAPE_TEXT = re.compile(r"\[?\s*\d+(\s*,\s*\d+)*\s*,?\s*\]?")
FACTORY_SEED = 0  # without --weights the factory's own initialisation, the same every time


@dataclass(frozen=True)
class ModelRequest:
    """What the user asked for: the model's name, and the options of one of the two ways."""

    name: str
    hf: str | None = None
    task: str | None = None
    num_labels: int | None = None
    factory: str | None = None
    factory_kwargs: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    input_shape: list[int] | None = None


def parse_input_shape(text: str) -> list[int]:
    """'1,28,28' (or '[1, 28, 28]') as [1, 28, 28]: one instance, no batch dimension."""
    if not SHAPE_TEXT.fullmatch(text.strip()):
        raise CompressLensError(
            f"--input-shape {text!r} must be sizes separated by commas, e.g. 1,28,28 "
            "(the shape of one instance, without the batch dimension)"
        )
    sizes = [int(size) for size in re.findall(r"\d+", text)]
    if 0 in sizes:
        raise CompressLensError(f"--input-shape {text!r} has a size 0; every size is at least 1")
    return sizes


def check_request(request: ModelRequest) -> None:
    """Exactly one of --hf and --factory, and only the options that way takes."""
    if (request.hf is None) == (request.factory is None):
        raise CompressLensError(
            "give either --hf FOLDER (a Hugging Face model folder) or --factory "
            "package.module:function (your own module), not both and not neither"
        )
    if request.hf is not None:
        given = {
            "--kwarg": bool(request.factory_kwargs),
            "--weights": request.weights is not None,
            "--input-shape": request.input_shape is not None,
        }
        way, other = "--hf", "--factory"
    else:
        given = {"--task": request.task is not None, "--num-labels": request.num_labels is not None}
        way, other = "--factory", "--hf"
    for option, is_given in given.items():
        if is_given:
            raise CompressLensError(f"{option} goes with {other}, not with {way}")
    if request.task is not None and request.task not in TASKS:
        raise CompressLensError(f"--task {request.task!r} is not one of {', '.join(TASKS)}")
    if request.weights is not None:
        _check_weights_suffix(request.weights)


def _check_weights_suffix(weights: str) -> None:
    from compresslens.models.weights import TORCH_WEIGHTS_SUFFIXES

    suffixes = [".safetensors", *sorted(TORCH_WEIGHTS_SUFFIXES)]
    if Path(weights).suffix.lower() not in suffixes:
        raise InvalidWeightsError(
            f"--weights {weights}: give a state dict saved as {' or '.join(suffixes)} "
            "(.pt and the others are read as tensors only, never unpickled)"
        )


def add_hf_folder(ws: Any, request: ModelRequest) -> ModelInfo:
    """A transformers model saved in a local folder; its config and weights are stored."""
    return ws.add_hf_model(
        request.hf,
        name=request.name,
        task=request.task or "sequence-classification",
        num_labels=request.num_labels,
    )


def add_factory_model(ws: Any, request: ModelRequest) -> ModelInfo:
    """The user's own factory, with the weights of a file or (without one) its own, seeded."""
    import torch

    from compresslens.models.factory import build_from_factory, trust_factory

    trust_factory(request.factory or "")  # named by the user: checked, then trusted
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(FACTORY_SEED)
        model = build_from_factory(request.factory or "", request.factory_kwargs)
    return ws.add_model(
        model,
        name=request.name,
        factory=request.factory,
        factory_kwargs=request.factory_kwargs,
        weights=request.weights,
        input_shape=request.input_shape,
    )


def add_model_from(ws: Any, request: ModelRequest) -> ModelInfo:
    check_request(request)
    add = add_hf_folder if request.hf is not None else add_factory_model
    return add(ws, request)
