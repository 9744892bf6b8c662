"""Fashion-MNIST loading from the Debian package's files, and the errors around it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from compresslens.data.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    DatasetNotInstalledError,
    images_to_tensor,
    load_fashion_mnist,
)
from compresslens.data.idx import write_idx
from compresslens.errors import CompressLensError, DataFormatError


def _fake_split(root: Path, n_images: int, n_labels: int, prefix: str = "t10k") -> None:
    write_idx(root / f"{prefix}-images-idx3-ubyte.gz", np.zeros((n_images, 28, 28), np.uint8))
    write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n_labels, dtype=np.uint8) % 10)


def test_real_test_split_has_1000_images_per_class() -> None:
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10_000, 28, 28)
    assert images.dtype == np.uint8
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels), [1000] * 10)


def test_class_names_are_the_official_ten() -> None:
    assert len(FASHION_MNIST_CLASSES) == 10
    assert FASHION_MNIST_CLASSES[0] == "T-shirt/top"
    assert FASHION_MNIST_CLASSES[6] == "Shirt"
    assert FASHION_MNIST_CLASSES[9] == "Ankle boot"


def test_limit_keeps_the_first_images(tmp_path: Path) -> None:
    _fake_split(tmp_path, 30, 30)
    images, labels = load_fashion_mnist("test", root=tmp_path, limit=12)
    assert images.shape == (12, 28, 28)
    np.testing.assert_array_equal(labels, np.arange(12) % 10)


def test_limit_above_size_returns_everything(tmp_path: Path) -> None:
    _fake_split(tmp_path, 5, 5, prefix="train")
    images, _ = load_fashion_mnist("train", root=tmp_path, limit=100)
    assert len(images) == 5


def test_missing_files_say_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotInstalledError, match=r"apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", root=tmp_path)
    assert issubclass(DatasetNotInstalledError, CompressLensError)


def test_uncompressed_files_are_found(tmp_path: Path) -> None:
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([3, 4], np.uint8))
    _, labels = load_fashion_mnist("test", root=tmp_path)
    np.testing.assert_array_equal(labels, [3, 4])


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    _fake_split(tmp_path, 4, 3)
    with pytest.raises(DataFormatError, match=r"holds 4 images but .* holds 3 labels"):
        load_fashion_mnist("test", root=tmp_path)


def test_images_of_the_wrong_size_are_refused(tmp_path: Path) -> None:
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 8, 8), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    with pytest.raises(DataFormatError, match=r"uint8 \[N, 28, 28\]"):
        load_fashion_mnist("test", root=tmp_path)


def test_labels_beyond_ten_classes_are_refused(tmp_path: Path) -> None:
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([1, 10], np.uint8))
    with pytest.raises(DataFormatError, match=r"class 10"):
        load_fashion_mnist("test", root=tmp_path)


def test_images_to_tensor_scales_to_unit_range_with_a_channel() -> None:
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    tensor = images_to_tensor(images)
    assert tensor.dtype == torch.float32
    assert tensor.shape == (1, 1, 2, 2)
    torch.testing.assert_close(tensor[0, 0], torch.tensor([[0.0, 1.0], [0.2, 0.4]]))


def test_images_to_tensor_refuses_floats() -> None:
    with pytest.raises(DataFormatError, match=r"uint8"):
        images_to_tensor(np.zeros((1, 28, 28), np.float32))
