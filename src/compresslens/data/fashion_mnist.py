"""Fashion-MNIST from the files of Debian's `dataset-fashion-mnist` package (no downloads)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch

from compresslens.data.idx import read_idx
from compresslens.errors import CompressLensError, DataFormatError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IMAGE_SIDE = 28

Split = Literal["train", "test"]
_FILE_PREFIX: dict[str, str] = {"train": "train", "test": "t10k"}


class DatasetNotInstalledError(CompressLensError, FileNotFoundError):
    """A dataset whose files are not on this machine; the message says how to install them."""


def load_fashion_mnist(
    split: Split, root: Path | None = None, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load one split as (uint8 images [N, 28, 28], int64 labels [N]), the first `limit` only.

    Reads the IDX files installed by `apt-get install dataset-fashion-mnist` (or `make data`).
    """
    if split not in _FILE_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be a non-negative number of images, got {limit}")
    root = FASHION_MNIST_DIR if root is None else Path(root)
    images_path = _find_split_file(root, f"{_FILE_PREFIX[split]}-images-idx3-ubyte")
    labels_path = _find_split_file(root, f"{_FILE_PREFIX[split]}-labels-idx1-ubyte")
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    _check_images(images_path, images)
    _check_labels(labels_path, labels)
    _check_counts_agree(images_path, len(images), labels_path, len(labels))
    end = len(images) if limit is None else min(limit, len(images))
    return images[:end], labels[:end].astype(np.int64)


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """Turn uint8 images [N, H, W] into float32 [N, 1, H, W] in [0, 1], the models' input.

    No mean/std normalisation: the models start with BatchNorm, which learns it.
    """
    if images.dtype != np.uint8:
        raise DataFormatError(f"images must be uint8 (0..255), got dtype {images.dtype}")
    if images.ndim != 3:
        raise DataFormatError(f"images must have shape [N, H, W], got {images.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32)
    return tensor.div_(255.0).unsqueeze(1)


def _find_split_file(root: Path, stem: str) -> Path:
    """Return the gzip-compressed file, or the uncompressed one, or say how to install it."""
    for candidate in (root / f"{stem}.gz", root / stem):
        if candidate.is_file():
            return candidate
    raise DatasetNotInstalledError(
        f"Fashion-MNIST file {root / f'{stem}.gz'} not found. Install the dataset with "
        "`sudo apt-get install dataset-fashion-mnist` (or run `make data`), "
        "or pass root= a folder holding the original IDX files."
    )


def _check_images(path: Path, images: np.ndarray) -> None:
    """Refuse image files that are not uint8 [N, 28, 28]."""
    expected_tail = (IMAGE_SIDE, IMAGE_SIDE)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != expected_tail:
        raise DataFormatError(
            f"Fashion-MNIST images {path} should be uint8 [N, 28, 28], "
            f"got {images.dtype} {list(images.shape)}"
        )


def _check_labels(path: Path, labels: np.ndarray) -> None:
    """Refuse label files that are not uint8 [N] with values in 0..9."""
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataFormatError(
            f"Fashion-MNIST labels {path} should be uint8 [N], "
            f"got {labels.dtype} {list(labels.shape)}"
        )
    if labels.size and int(labels.max()) >= len(FASHION_MNIST_CLASSES):
        raise DataFormatError(
            f"Fashion-MNIST labels {path} hold class {int(labels.max())}, "
            f"but there are only {len(FASHION_MNIST_CLASSES)} classes"
        )


def _check_counts_agree(images_path: Path, n_images: int, labels_path: Path, n_labels: int) -> None:
    """Refuse a split whose image and label files disagree on the number of instances."""
    if n_images != n_labels:
        raise DataFormatError(
            f"Fashion-MNIST {images_path} holds {n_images} images but "
            f"{labels_path} holds {n_labels} labels"
        )
