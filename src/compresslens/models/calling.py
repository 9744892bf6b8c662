"""Calling a model on inputs of either form, and reading the tensor it answers with.

Image models take one tensor; Hugging Face models take keyword inputs and answer with an
output object whose `.logits` is the tensor; some models answer a tuple. Every caller
(evaluation, calibration, training, tracing, checks) goes through these two functions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from compresslens.data.inputs import Inputs, TensorFields
from compresslens.errors import InvalidOutputError


def call_model(model: nn.Module, inputs: Inputs) -> Any:
    """`model(x)` for a tensor, `model(**fields)` for keyword inputs."""
    if isinstance(inputs, TensorFields):
        return model(**inputs.as_dict())
    return model(inputs)


def output_tensor(output: Any) -> torch.Tensor:
    """The main tensor of an output: itself, `.logits`, or the first of a tuple or mapping."""
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, Mapping) and output:
        return output_tensor(next(iter(output.values())))
    if isinstance(output, tuple | list) and output:
        return output_tensor(output[0])
    raise InvalidOutputError(
        f"the model answered {type(output).__name__}, not a tensor, a tuple or an object "
        "with .logits"
    )


def model_output(model: nn.Module, inputs: Inputs) -> torch.Tensor:
    """The main output tensor of `model` on `inputs`."""
    return output_tensor(call_model(model, inputs))


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run in eval mode (no dropout, no batch-norm updates), restoring each module's flag."""
    training = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, flag in training.items():
            module.training = flag
