"""Datasets of a workspace: registering arrays once, loading them back, rendering instances.

The facade's one in-memory policy lives here: the arrays of the last few datasets loaded
are kept (they are content-addressed, so a kept copy is never stale). Every other result
that is kept is persisted in the store (`WorkspaceStore.get_result`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from compresslens.data.arrays import (
    MODALITIES,
    DatasetArrays,
    arrays_from_bytes,
    arrays_to_bytes,
    as_dataset_arrays,
    instance_table_bytes,
)
from compresslens.data.inputs import Inputs, TensorFields
from compresslens.data.render import render_image_png
from compresslens.data.text import is_text_list, load_tokenizer, tokenize, tokenizer_description
from compresslens.data.token_corpus import check_token_stream_arrays, entry_text
from compresslens.errors import (
    DataFormatError,
    DuplicateNameError,
    IncompatibleDatasetError,
    NotFoundError,
)
from compresslens.ids import content_id
from compresslens.input_rules import check_name
from compresslens.records import DatasetInfo
from compresslens.store.repository import WorkspaceStore

DATASET_CACHE_SIZE = 3


class DatasetCatalog:
    """The datasets of one store, with the arrays of the last `DATASET_CACHE_SIZE` in memory."""

    def __init__(self, store: WorkspaceStore) -> None:
        self.store = store
        self._arrays: dict[tuple[str, str], DatasetArrays] = {}

    def info(self, key: str) -> DatasetInfo:
        return self.store.dataset_info(key)

    def all(self) -> list[DatasetInfo]:
        return self.store.dataset_infos()

    def add(
        self,
        name: str,
        data: Any,
        labels: Any,
        *,
        class_names: Sequence[str] | None,
        num_classes: int | None,
        attributes: Mapping[str, Any] | None,
        texts: Sequence[str] | None,
        modality: str | None,
        description: str,
        tokenizer: str | Path | None,
        max_length: int,
    ) -> DatasetInfo:
        """See `Workspace.add_dataset`."""
        check_name(name, "dataset name")
        if is_text_list(data):
            if tokenizer is None:
                raise DataFormatError(
                    f"dataset {name!r}: the inputs are {len(data)} strings; pass "
                    "tokenizer=<local tokenizer folder> to store them as token ids and "
                    "attention masks"
                )
            texts = list(data) if texts is None else texts
            data = tokenize(data, load_tokenizer(tokenizer), max_length)
            note = tokenizer_description(tokenizer, max_length)
            description = f"{description} ({note})" if description else note
        elif tokenizer is not None:
            raise DataFormatError("tokenizer=… tokenizes a list of strings; these inputs are not")
        arrays = as_dataset_arrays(data, labels, attributes, texts)
        observed = int(arrays.labels.max()) + 1
        if class_names is not None:
            class_names = [str(c) for c in class_names]
            if num_classes is not None and num_classes != len(class_names):
                raise DataFormatError(
                    f"num_classes={num_classes} but {len(class_names)} class names"
                )
            num_classes = len(class_names)
        num_classes = num_classes or observed
        if observed > num_classes:
            raise DataFormatError(
                f"labels go up to {observed - 1} but the dataset declares {num_classes} classes"
            )
        class_names = class_names or [str(i) for i in range(num_classes)]
        modality = modality or ("text" if texts is not None else _guess_modality(arrays.inputs))
        if modality not in MODALITIES:
            raise DataFormatError(f"modality must be one of {MODALITIES}, not {modality!r}")
        if modality == "tokens":
            check_token_stream_arrays(arrays.inputs, arrays.labels)
        digest = arrays.content_hash()
        existing = self.store.dataset_named(name)
        if existing is not None:
            if existing.content_hash == digest:
                return existing
            raise DuplicateNameError(f"a different dataset named {name!r} already exists")
        dataset_id = content_id("dataset", name, digest)
        with self.store.write() as writer:
            writer.add_dataset(
                arrays_to_bytes(arrays),
                instance_table_bytes(arrays),
                id=dataset_id,
                name=name,
                modality=modality,
                num_instances=arrays.num_instances,
                num_classes=num_classes,
                class_names=class_names,
                input_shape=_instance_shape(arrays.inputs),
                input_dtype=_input_dtype(arrays.inputs),
                attribute_names=sorted(arrays.attributes),
                content_hash=digest,
                description=description,
            )
        return self.store.dataset_info(dataset_id)

    def load(self, key: str) -> DatasetArrays:
        """The dataset's arrays, shared between calls: treat them as read-only."""
        files = self.store.dataset_files(key)
        memo = (files.arrays, files.table)
        if memo not in self._arrays:
            if len(self._arrays) >= DATASET_CACHE_SIZE:
                self._arrays.pop(next(iter(self._arrays)))
            self._arrays[memo] = arrays_from_bytes(
                self.store.read_artifact(files.arrays), self.store.read_artifact(files.table)
            )
        return self._arrays[memo]

    def render(self, key: str, index: int, size: int) -> bytes | str:
        """A PNG thumbnail for an image instance, the raw text for a text instance (for a token
        instance, its entry up to the predicted token)."""
        info = self.info(key)
        if not 0 <= index < info.num_instances:
            raise NotFoundError(f"instance {index} is outside 0..{info.num_instances - 1}")
        arrays = self.load(info.id)
        if info.modality == "tokens":
            return _token_text(info, arrays, index)
        if info.modality == "text":
            if arrays.texts is not None:
                return arrays.texts[index]
            inputs = arrays.inputs
            ids = inputs.field("input_ids")[index] if isinstance(inputs, TensorFields) else None
            return " ".join(map(str, (inputs[index] if ids is None else ids).tolist()))
        if isinstance(arrays.inputs, TensorFields):
            raise IncompatibleDatasetError(f"{info.name} holds keyword inputs, not an image")
        return render_image_png(arrays.inputs[index], size=size)


def _token_text(info: DatasetInfo, arrays: DatasetArrays, index: int) -> str:
    """A token instance as text: its entry up to the token it predicts (or that token)."""
    if "entry" in arrays.attributes:
        return entry_text(arrays.labels, arrays.attributes["entry"], info.class_names, index)
    return info.class_names[int(arrays.labels[index])]


def _guess_modality(inputs: Inputs) -> str:
    """[N, H, W] or [N, C, H, W] floats or bytes look like images; token ids like text."""
    if isinstance(inputs, TensorFields):
        return "text" if "input_ids" in inputs else "tabular"
    is_pixels = inputs.dtype.is_floating_point or inputs.dtype == torch.uint8
    return "image" if inputs.ndim in (3, 4) and is_pixels else "tabular"


def _instance_shape(inputs: Inputs) -> list[int]:
    """One instance's shape (for keyword inputs, that of the first field, e.g. input_ids)."""
    first = inputs.field(next(iter(inputs))) if isinstance(inputs, TensorFields) else inputs
    return [int(s) for s in first.shape[1:]]


def _input_dtype(inputs: Inputs) -> str:
    if isinstance(inputs, TensorFields):
        return ",".join(f"{n}:{str(inputs.field(n).dtype).removeprefix('torch.')}" for n in inputs)
    return str(inputs.dtype).removeprefix("torch.")
