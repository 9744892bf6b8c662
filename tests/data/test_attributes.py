"""Tercile attributes of images: three roughly equal groups ordered by the statistic."""

from __future__ import annotations

import numpy as np

from compresslens.data.attributes import (
    brightness_tercile,
    ink_brightness,
    ink_coverage,
    ink_coverage_tercile,
)
from compresslens.data.fashion_mnist import load_fashion_mnist


def test_ink_brightness_ignores_background() -> None:
    images = np.zeros((2, 2, 2), np.uint8)
    images[0, 0, 0] = 200
    images[0, 1, 1] = 100
    np.testing.assert_allclose(ink_brightness(images), [150.0, 0.0])


def test_ink_coverage_is_the_share_of_nonzero_pixels() -> None:
    images = np.zeros((2, 2, 2), np.float32)
    images[1, 0] = 0.5
    np.testing.assert_allclose(ink_coverage(images), [0.0, 0.5])


def test_brightness_terciles_follow_ink_intensity() -> None:
    images = np.zeros((6, 4, 4), np.uint8)
    for i, level in enumerate([10, 250, 130, 20, 240, 120]):
        images[i, :2] = level
    labels = brightness_tercile(images)
    assert labels.tolist() == ["dark", "bright", "medium", "dark", "bright", "medium"]


def test_coverage_terciles_follow_ink_area() -> None:
    images = np.zeros((3, 3, 3), np.uint8)
    images[0, :1] = 9
    images[1, :3] = 9
    images[2, :2] = 9
    assert ink_coverage_tercile(images).tolist() == ["sparse", "dense", "medium"]


def test_real_images_give_three_roughly_equal_groups() -> None:
    images, _ = load_fashion_mnist("test", limit=3000)
    for labels, names in [
        (brightness_tercile(images), ["bright", "dark", "medium"]),
        (ink_coverage_tercile(images), ["dense", "medium", "sparse"]),
    ]:
        values, counts = np.unique(labels, return_counts=True)
        assert values.tolist() == names
        assert counts.min() >= 900 and counts.max() <= 1100


def test_empty_set_gives_empty_labels() -> None:
    assert brightness_tercile(np.zeros((0, 28, 28), np.uint8)).shape == (0,)
