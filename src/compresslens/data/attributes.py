"""Per-instance image attributes that stand in for subgroup labels (Fashion-MNIST has none).

Each attribute splits the given set into terciles of a simple pixel statistic, so subgroup
analyses have three groups of roughly equal size. Background pixels are those equal to 0
(Fashion-MNIST draws garments on a black background). Pure numpy.
"""

from __future__ import annotations

import numpy as np

BRIGHTNESS_GROUPS: tuple[str, str, str] = ("dark", "medium", "bright")
INK_COVERAGE_GROUPS: tuple[str, str, str] = ("sparse", "medium", "dense")


def brightness_tercile(images: np.ndarray) -> np.ndarray:
    """Label each image dark/medium/bright by the mean intensity of its ink pixels.

    Terciles are taken over the given set; an image without ink counts as darkest.
    """
    return _tercile_labels(ink_brightness(images), BRIGHTNESS_GROUPS)


def ink_coverage_tercile(images: np.ndarray) -> np.ndarray:
    """Label each image sparse/medium/dense by its share of non-background pixels.

    Terciles are taken over the given set, so the three groups are roughly equal in size.
    """
    return _tercile_labels(ink_coverage(images), INK_COVERAGE_GROUPS)


def ink_brightness(images: np.ndarray) -> np.ndarray:
    """Mean value of the non-background pixels of each image (0 for an empty image)."""
    pixels = _flatten_images(images)
    ink = pixels > 0
    ink_count = ink.sum(axis=1)
    ink_sum = np.where(ink, pixels, 0).sum(axis=1, dtype=np.float64)
    return np.divide(ink_sum, ink_count, out=np.zeros(len(pixels)), where=ink_count > 0)


def ink_coverage(images: np.ndarray) -> np.ndarray:
    """Share of non-background pixels in each image, in [0, 1]."""
    pixels = _flatten_images(images)
    if pixels.shape[1] == 0:
        return np.zeros(len(pixels))
    return (pixels > 0).mean(axis=1)


def _flatten_images(images: np.ndarray) -> np.ndarray:
    """View images [N, ...] as rows of pixels [N, P]."""
    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(f"images must have shape [N, ...pixels], got {images.shape}")
    return images.reshape(len(images), int(np.prod(images.shape[1:])))


def _tercile_labels(scores: np.ndarray, names: tuple[str, str, str]) -> np.ndarray:
    """Name each score by the tercile of the scores it falls in (low, middle, high)."""
    if scores.size == 0:
        return np.array([], dtype=f"<U{max(map(len, names))}")
    low_cut, high_cut = np.quantile(scores, [1 / 3, 2 / 3])
    group = np.where(scores <= low_cut, 0, np.where(scores <= high_cut, 1, 2))
    return np.asarray(names)[group]
