"""Inputs and labels from an .npz or .safetensors file, with errors that name what is wrong.

Neither format needs a pickle: an .npz array of Python objects is refused, never unpickled.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open

from compresslens.errors import DataFormatError

EXPECTED = ("inputs", "labels")
_EXPECTED_TEXT = "expected 'inputs' and 'labels'"


def _tensor(path: Path, key: str, array: np.ndarray) -> torch.Tensor:
    try:
        return torch.from_numpy(np.ascontiguousarray(array))
    except TypeError:
        raise DataFormatError(
            f"{path}: array {key!r} has dtype {array.dtype}; expected numbers"
        ) from None


def _read_npz(path: Path) -> dict[str, torch.Tensor]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFormatError(f"{path} is not an .npz archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataFormatError(
            f"{path} holds a single array, not an .npz archive ({_EXPECTED_TEXT}: "
            "np.savez(path, inputs=…, labels=…))"
        )
    with archive:
        _check_names(path, archive.files)
        tensors = {}
        for key in EXPECTED:
            try:
                tensors[key] = _tensor(path, key, archive[key])
            except ValueError:
                raise DataFormatError(
                    f"{path}: array {key!r} holds Python objects, which only a pickle can "
                    "load, and compresslens never loads a pickle; save numbers instead"
                ) from None
        return tensors


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        with safe_open(str(path), framework="pt") as tensors:
            _check_names(path, list(tensors.keys()))
            return {key: tensors.get_tensor(key) for key in EXPECTED}
    except SafetensorError as exc:
        raise DataFormatError(f"{path} is not a valid safetensors file ({exc})") from None


def _check_names(path: Path, names: list[str]) -> None:
    if any(key not in names for key in EXPECTED):
        found = ", ".join(sorted(names)) or "nothing"
        raise DataFormatError(f"{path}: {_EXPECTED_TEXT}; it has {found}")


READERS: dict[str, Callable[[Path], dict[str, torch.Tensor]]] = {
    ".npz": _read_npz,
    ".safetensors": _read_safetensors,
}


def read_array_file(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs [N, ...], labels [N]) from a file named by its suffix (see READERS).

    float64 inputs become float32, the dtype models take (numpy makes float64 by default).
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataFormatError(f"{path}: the file must end in {' or '.join(READERS)}")
    if not path.is_file():
        raise DataFormatError(f"no file {path}")
    tensors = reader(path)
    inputs, labels = tensors["inputs"], tensors["labels"]
    if inputs.ndim == 0 or labels.ndim != 1:
        raise DataFormatError(
            f"{path}: inputs must be [N, ...] and labels [N], got shapes "
            f"{tuple(inputs.shape)} and {tuple(labels.shape)}"
        )
    if len(inputs) != len(labels):
        raise DataFormatError(f"{path}: {len(inputs)} inputs but {len(labels)} labels")
    if inputs.dtype == torch.float64:
        inputs = inputs.to(torch.float32)
    return inputs, labels
