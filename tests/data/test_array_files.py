"""Inputs and labels read from .npz and .safetensors files; never a pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from compresslens.data.array_files import read_array_file
from compresslens.errors import DataFormatError

INPUTS = np.arange(24, dtype=np.float32).reshape(3, 2, 4)
LABELS = np.array([2, 0, 1])


def test_an_npz_gives_its_inputs_and_labels_and_ignores_other_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", inputs=INPUTS, labels=LABELS, notes=np.zeros(7))
    inputs, labels = read_array_file(tmp_path / "d.npz")
    assert torch.equal(inputs, torch.from_numpy(INPUTS))
    assert labels.tolist() == [2, 0, 1]


def test_a_safetensors_file_gives_its_inputs_and_labels(tmp_path: Path) -> None:
    save_file(
        {"inputs": torch.from_numpy(INPUTS), "labels": torch.from_numpy(LABELS)},
        tmp_path / "d.safetensors",
    )
    inputs, labels = read_array_file(tmp_path / "d.safetensors")
    assert torch.equal(inputs, torch.from_numpy(INPUTS)) and labels.tolist() == [2, 0, 1]


def test_float64_inputs_become_float32_and_integer_inputs_stay(tmp_path: Path) -> None:
    np.savez(tmp_path / "f.npz", inputs=INPUTS.astype(np.float64), labels=LABELS)
    np.savez(tmp_path / "i.npz", inputs=INPUTS.astype(np.uint8), labels=LABELS)
    assert read_array_file(tmp_path / "f.npz")[0].dtype == torch.float32
    assert read_array_file(tmp_path / "i.npz")[0].dtype == torch.uint8


def test_an_array_of_python_objects_is_refused_not_unpickled(tmp_path: Path) -> None:
    np.savez(tmp_path / "o.npz", inputs=np.array([{"a": 1}, None, 3]), labels=LABELS)
    with pytest.raises(DataFormatError, match="never loads a pickle"):
        read_array_file(tmp_path / "o.npz")


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda f: np.save(f, INPUTS), "holds a single array"),
        (lambda f: f.write(b"PK\x03\x04 broken"), "is not an .npz archive"),
        (lambda f: np.savez(f, inputs=np.array(["a", "b", "c"]), labels=LABELS), "dtype <U1"),
        (lambda f: np.savez(f, inputs=INPUTS, labels=LABELS[:, None]), r"labels \[N\]"),
    ],
)
def test_an_unreadable_npz_says_what_is_wrong(tmp_path: Path, write, message: str) -> None:
    path = tmp_path / "bad.npz"
    with path.open("wb") as handle:
        write(handle)
    with pytest.raises(DataFormatError, match=message):
        read_array_file(path)


def test_an_unknown_suffix_names_the_ones_it_reads(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"must end in \.npz or \.safetensors"):
        read_array_file(tmp_path / "d.csv")
