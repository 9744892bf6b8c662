"""Model inputs of any form: one tensor [N, ...], or named tensors sharing the instance axis.

A Hugging Face model takes keyword inputs (`input_ids`, `attention_mask`); an image model one
tensor. `TensorFields` holds the keyword form and is indexed by instances like a tensor, so
batching, calibration and training slice every input the same way whatever its form.

An *input spec* is the JSON description of one instance (shape without the batch dimension,
dtype, and for named fields the value an example is filled with). A model records it, so an
operation can build an example input to trace the model and to check its outputs.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping
from typing import Any, TypeAlias

import torch

from compresslens.errors import DataFormatError

INPUT_SPEC_VERSION = 1


class TensorFields:
    """Named tensors with a common first (instance) dimension, indexed by instances."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, torch.Tensor]) -> None:
        if not fields:
            raise DataFormatError("keyword inputs need at least one named tensor")
        named = {str(name): value for name, value in fields.items()}
        tensors = {name: _as_tensor(named[name], name) for name in sorted(named, key=_field_order)}
        lengths = {name: t.shape[0] if t.ndim else None for name, t in tensors.items()}
        if None in lengths.values() or len(set(lengths.values())) != 1:
            shown = ", ".join(f"{n}: {list(t.shape)}" for n, t in tensors.items())
            raise DataFormatError(
                f"keyword inputs must share their first (instance) dimension, got {shown}"
            )
        self._fields = tensors

    def __len__(self) -> int:
        """The number of instances (not of fields), as for a tensor."""
        return int(next(iter(self._fields.values())).shape[0])

    def __getitem__(self, rows: Any) -> TensorFields:
        """The same fields for the chosen instances (a slice, an index tensor or a mask).

        An integer keeps its instance axis (`x[3]` is `x[3:4]`): a field of token ids [L]
        would otherwise read as L instances.
        """
        if isinstance(rows, str):
            raise TypeError(f"select a field with .field({rows!r}); [] selects instances")
        if isinstance(rows, int):
            rows = slice(rows, rows + 1 if rows != -1 else None)
        return TensorFields({name: tensor[rows] for name, tensor in self._fields.items()})

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{n}={list(t.shape)}" for n, t in self._fields.items())
        return f"TensorFields({shapes})"

    def field(self, name: str) -> torch.Tensor:
        return self._fields[name]

    def as_dict(self) -> dict[str, torch.Tensor]:
        return dict(self._fields)

    def to(self, device: torch.device | str) -> TensorFields:
        return TensorFields({n: t.to(device) for n, t in self._fields.items()})

    def contiguous(self) -> TensorFields:
        return TensorFields({n: t.contiguous() for n, t in self._fields.items()})


Inputs: TypeAlias = torch.Tensor | TensorFields


def _field_order(name: str) -> tuple[int, str]:
    """One order of fields wherever they come from (storage sorts them): input_ids first."""
    return (0 if name == "input_ids" else 1, name)


def _as_tensor(value: Any, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise DataFormatError(f"input field {name!r} is not a tensor: {exc}") from None


def as_inputs(value: Any) -> Inputs:
    """A tensor stays a tensor; a mapping of tensors (e.g. a tokenizer's output) becomes fields."""
    if isinstance(value, TensorFields | torch.Tensor):
        return value
    if isinstance(value, Mapping):
        return TensorFields(value)
    raise DataFormatError(
        f"inputs must be a tensor or a mapping of named tensors, not {type(value).__name__}"
    )


def num_instances(inputs: Inputs) -> int:
    return len(inputs)


def tensors_of(inputs: Inputs) -> dict[str, torch.Tensor]:
    """Every tensor of the inputs by name (a lone tensor is named `inputs`), for storage."""
    if isinstance(inputs, TensorFields):
        return {f"inputs.{name}": tensor for name, tensor in inputs.as_dict().items()}
    return {"inputs": inputs}


def inputs_from_tensors(tensors: Mapping[str, torch.Tensor]) -> Inputs:
    """The inverse of `tensors_of`."""
    if "inputs" in tensors:
        return tensors["inputs"]
    fields = {k.removeprefix("inputs."): v for k, v in tensors.items() if k.startswith("inputs.")}
    if not fields:
        raise DataFormatError("stored dataset arrays hold no inputs")
    return TensorFields(fields)


def is_floating(inputs: Inputs) -> bool:
    return isinstance(inputs, torch.Tensor) and inputs.dtype.is_floating_point


# ------------------------------------------------------------------------ input specs


def _tensor_spec(tensor: torch.Tensor, fill: float = 0) -> dict[str, Any]:
    return {
        "shape": [int(s) for s in tensor.shape[1:]],
        "dtype": str(tensor.dtype).removeprefix("torch."),
        "fill": fill,
    }


def default_fill(name: str) -> int:
    """The value an example of a keyword input holds: 1 for masks (attend), else 0."""
    return 1 if name.endswith("mask") else 0


def input_spec(inputs: Inputs) -> dict[str, Any]:
    """The JSON description of one instance of these inputs (no batch dimension)."""
    if isinstance(inputs, TensorFields):
        fields = {n: _tensor_spec(t, default_fill(n)) for n, t in inputs.as_dict().items()}
        return {"version": INPUT_SPEC_VERSION, "fields": fields}
    return {"version": INPUT_SPEC_VERSION, **_tensor_spec(inputs)}


def spec_from_shape(shape: list[int] | tuple[int, ...], dtype: str = "float32") -> dict[str, Any]:
    """A spec from one instance's shape, e.g. [1, 28, 28] for a grey 28×28 image.

    `input_shape` everywhere in compresslens is the shape of ONE instance, without the batch
    dimension — the same as `DatasetInfo.input_shape`.
    """
    try:
        sizes = [operator.index(s) for s in shape]
    except TypeError:  # not a sequence, or sizes that are not integers ("a", 2.5)
        sizes = []
    if not sizes or any(s < 1 for s in sizes):
        raise DataFormatError(
            f"input_shape must be the positive sizes of one instance (no batch dimension), "
            f"e.g. [1, 28, 28]; got {shape!r:.80}"
        )
    _dtype(dtype)
    return {"version": INPUT_SPEC_VERSION, "shape": sizes, "dtype": dtype, "fill": 0}


def _dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise DataFormatError(f"unknown dtype {name!r} in an input spec")
    return dtype


def _example_tensor(entry: Mapping[str, Any], batch: int) -> torch.Tensor:
    shape = [batch, *(int(s) for s in entry["shape"])]
    return torch.full(shape, entry.get("fill", 0), dtype=_dtype(entry["dtype"]))


def example_from_spec(spec: Mapping[str, Any], batch: int = 1) -> Inputs:
    """A constant example batch shaped as the spec says (tracing and shape checks only)."""
    try:
        if "fields" in spec:
            return TensorFields(
                {name: _example_tensor(entry, batch) for name, entry in spec["fields"].items()}
            )
        return _example_tensor(spec, batch)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise DataFormatError(f"not a valid input spec {dict(spec)!r}: {exc}") from None


def describe_spec(spec: Mapping[str, Any]) -> str:
    """'[1, 28, 28] float32' or 'input_ids [16] int64, attention_mask [16] int64'."""
    if "fields" in spec:
        return ", ".join(
            f"{name} {list(entry['shape'])} {entry['dtype']}"
            for name, entry in spec["fields"].items()
        )
    return f"{list(spec['shape'])} {spec['dtype']}"


def describe_example(example: Inputs) -> str:
    """'shape [1, 1, 28, 28] (batch first)' or 'input_ids [1, 16], attention_mask [1, 16]'."""
    if isinstance(example, torch.Tensor):
        return f"shape {list(example.shape)} (batch first)"
    return ", ".join(f"{n} {list(t.shape)}" for n, t in example.as_dict().items())


def with_batch_dimension(inputs: Inputs, batch: int) -> Inputs:
    """A batch of `batch` copies of the first instance (latency at several batch sizes)."""
    if isinstance(inputs, TensorFields):
        return TensorFields({n: _repeat_first(t, batch) for n, t in inputs.as_dict().items()})
    return _repeat_first(inputs, batch)


def _repeat_first(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    first = tensor[:1]
    return first.repeat(batch, *([1] * (first.dim() - 1)))
