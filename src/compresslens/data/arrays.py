"""A dataset as arrays: inputs and labels in safetensors, per-instance columns in Parquet.

Whatever a user registers (a torch Dataset, tensors, numpy arrays, a tokenizer's named
tensors) becomes one `DatasetArrays`, addressed by the hash of its content, so the same data
is stored once. Inputs are one tensor [N, ...] or named tensors (`TensorFields`), e.g. the
token ids and attention masks a Hugging Face model takes as keyword inputs.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save

from compresslens.data.inputs import (
    Inputs,
    TensorFields,
    as_inputs,
    inputs_from_tensors,
    tensors_of,
)
from compresslens.errors import DataFormatError

MODALITIES = ("image", "text", "tabular", "tokens")


@dataclass
class DatasetArrays:
    """Model inputs [N, ...] (or named tensors), integer labels [N], attributes, raw texts."""

    inputs: Inputs
    labels: torch.Tensor
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    texts: list[str] | None = None

    @property
    def num_instances(self) -> int:
        return int(self.labels.shape[0])

    def content_hash(self) -> str:
        """sha256 over dtype, shape and bytes of every array, in a fixed order."""
        digest = hashlib.sha256()
        for name, array in (*tensors_of(self.inputs).items(), ("labels", self.labels)):
            digest.update(f"{name}:{array.dtype}:{tuple(array.shape)}".encode())
            digest.update(array.contiguous().view(torch.uint8).numpy().tobytes())
        for name in sorted(self.attributes):
            digest.update(f"attr:{name}".encode())
            digest.update("\x1f".join(map(str, self.attributes[name].tolist())).encode())
        if self.texts is not None:
            digest.update(b"texts")
            digest.update("\x1e".join(self.texts).encode())
        return digest.hexdigest()


def _to_tensor(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray) or (
        isinstance(value, Sequence) and not isinstance(value, str | bytes)
    ):
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as exc:  # ragged nested lists
            raise DataFormatError(f"{what} are not an array: {exc}") from None
        if array.dtype.kind not in "biufc":
            raise DataFormatError(f"{what} must be numbers, not {array.dtype} values")
        return torch.from_numpy(np.ascontiguousarray(array))
    raise DataFormatError(
        f"{what} must be a tensor, numpy array or list, not {type(value).__name__}"
    )


def _collect_torch_dataset(dataset: torch.utils.data.Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        length = len(dataset)  # type: ignore[arg-type]
    except TypeError:
        raise DataFormatError("a torch Dataset must define __len__ to be registered") from None
    inputs, labels = [], []
    for index in range(length):
        item = dataset[index]
        if not isinstance(item, tuple | list) or len(item) < 2:
            raise DataFormatError(f"dataset item {index} is not an (input, label) pair")
        inputs.append(_to_tensor(item[0], f"input {index}"))
        labels.append(int(item[1]))
    if not inputs:
        raise DataFormatError("the dataset is empty")
    shapes = {tuple(x.shape) for x in inputs}
    if len(shapes) != 1:
        raise DataFormatError(f"dataset inputs have differing shapes: {sorted(shapes)[:3]}")
    return torch.stack(inputs), torch.tensor(labels, dtype=torch.int64)


def as_dataset_arrays(
    data: Any,
    labels: Any = None,
    attributes: Mapping[str, Any] | None = None,
    texts: Sequence[str] | None = None,
) -> DatasetArrays:
    """Normalise a torch Dataset, an (inputs, labels) pair, or inputs + `labels`."""
    if isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.Tensor):
        inputs, label_tensor = _collect_torch_dataset(data)
    else:
        if labels is None and isinstance(data, tuple | list) and len(data) == 2:
            data, labels = data
        if labels is None:
            raise DataFormatError("labels are required: pass (inputs, labels) or labels=…")
        inputs = _to_inputs(data)
        label_tensor = _to_tensor(labels, "labels")
    if label_tensor.ndim != 1:
        raise DataFormatError(f"labels must be 1-D, got shape {tuple(label_tensor.shape)}")
    if label_tensor.dtype.is_floating_point or label_tensor.dtype == torch.bool:
        raise DataFormatError(f"labels must be integers, got {label_tensor.dtype}")
    label_tensor = label_tensor.to(torch.int64)
    n = label_tensor.shape[0]
    if n == 0:
        raise DataFormatError("the dataset is empty")
    if isinstance(inputs, TensorFields):
        if len(inputs) != n:
            raise DataFormatError(f"{n} labels but {len(inputs)} instances of keyword inputs")
    elif inputs.ndim == 0 or inputs.shape[0] != n:
        raise DataFormatError(f"{n} labels but inputs of shape {tuple(inputs.shape)}")
    if label_tensor.min() < 0:
        raise DataFormatError("labels must be non-negative class ids")
    for name, tensor in tensors_of(inputs).items():
        if tensor.dtype.is_floating_point and not torch.isfinite(tensor).all():
            bad = int((~torch.isfinite(tensor)).reshape(n, -1).any(dim=1).sum())
            raise DataFormatError(f"{bad} of {n} {name} contain NaN or infinite values")
    columns = {}
    for name, values in (attributes or {}).items():
        array = np.asarray(values)
        if array.shape != (n,):
            raise DataFormatError(
                f"attribute {name!r} has shape {array.shape}, expected one value per instance ({n})"
            )
        columns[str(name)] = array
    text_list = None if texts is None else [str(t) for t in texts]
    if text_list is not None and len(text_list) != n:
        raise DataFormatError(f"{len(text_list)} texts for {n} instances")
    return DatasetArrays(inputs.contiguous(), label_tensor, columns, text_list)


def _to_inputs(data: Any) -> Inputs:
    """Named tensors stay named (keyword inputs); anything else becomes one tensor."""
    if isinstance(data, Mapping | TensorFields):
        return as_inputs(data)
    return _to_tensor(data, "inputs")


def arrays_to_bytes(arrays: DatasetArrays) -> bytes:
    tensors = {name: t.contiguous() for name, t in tensors_of(arrays.inputs).items()}
    labels = arrays.labels
    storage = labels.untyped_storage().data_ptr()
    if any(t.untyped_storage().data_ptr() == storage for t in tensors.values()):
        labels = labels.clone()  # views of one token stream: safetensors refuses shared memory
    return safetensors_save({**tensors, "labels": labels})


def instance_table_bytes(arrays: DatasetArrays) -> bytes:
    """Per-instance columns (id, label, attributes, text) as Parquet."""
    columns: dict[str, Any] = {
        "instance": pa.array(np.arange(arrays.num_instances, dtype=np.int64)),
        "label": pa.array(arrays.labels.numpy()),
    }
    for name, values in arrays.attributes.items():
        columns[f"attr:{name}"] = pa.array(values.tolist())
    if arrays.texts is not None:
        columns["text"] = pa.array(arrays.texts, type=pa.string())
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def arrays_from_bytes(tensor_bytes: bytes, table_bytes: bytes) -> DatasetArrays:
    tensors = safetensors_load(tensor_bytes)
    table = pq.read_table(io.BytesIO(table_bytes))
    attributes = {
        name.removeprefix("attr:"): np.asarray(table.column(name).to_pylist())
        for name in table.column_names
        if name.startswith("attr:")
    }
    texts = table.column("text").to_pylist() if "text" in table.column_names else None
    return DatasetArrays(inputs_from_tensors(tensors), tensors["labels"], attributes, texts)
