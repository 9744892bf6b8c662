"""Render one image (array or tensor) as PNG bytes for the web UI or as text for a terminal."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from compresslens.errors import DataFormatError

# Dark to bright; each pixel is drawn twice side by side so images keep their aspect ratio.
TEXT_RAMP = " .:-=+*#%@"


def render_image_png(x: np.ndarray | torch.Tensor, size: int = 56) -> bytes:
    """Encode an image as PNG, upscaled with nearest neighbour so its long side is `size`.

    Accepts [H, W], [1, H, W] or [3, H, W]; uint8 as is, values in [0, 1] times 255,
    anything else min-max scaled.
    """
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    pixels = to_uint8_image(x)
    image = Image.fromarray(pixels)  # uint8 [H, W] -> "L", [H, W, 3] -> "RGB"
    image = image.resize(_scaled_size(image.size, size), resample=Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def render_image_ascii(x: np.ndarray | torch.Tensor) -> str:
    """Draw an image as lines of characters, so a CLI can show an instance without a browser.

    Colour images are shown by their grey level; brighter pixels use denser characters.
    """
    pixels = to_uint8_image(x)
    if pixels.ndim == 3:
        pixels = pixels.mean(axis=2)
    levels = (pixels.astype(np.int64) * len(TEXT_RAMP)) // 256
    return "\n".join("".join(TEXT_RAMP[level] * 2 for level in row) for row in levels)


def to_uint8_image(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Return the image as uint8 [H, W] (grey) or [H, W, 3] (colour), the layout Pillow takes."""
    array = _as_numpy(x)
    array = _channels_last(array)
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    return _scale_to_uint8(array.astype(np.float64))


def _as_numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Detach a tensor to a CPU numpy array; pass arrays through."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu").numpy()
    return np.asarray(x)


def _channels_last(array: np.ndarray) -> np.ndarray:
    """Check the layout is [H, W], [1, H, W] or [3, H, W] and return [H, W] or [H, W, 3]."""
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    elif array.ndim == 3 and array.shape[0] == 3:
        array = np.moveaxis(array, 0, -1)
    elif array.ndim != 2:
        raise DataFormatError(
            f"cannot render an image of shape {list(array.shape)}: "
            "expected [H, W], [1, H, W] or [3, H, W]"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataFormatError(f"cannot render an empty image of shape {list(array.shape)}")
    return array


def _scale_to_uint8(array: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] times 255, any other range min-max onto 0..255 (NaN shown as 0)."""
    array = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(array.min()), float(array.max())
    if not (low >= 0.0 and high <= 1.0):
        span = high - low
        array = (array - low) / span if span > 0 else np.zeros_like(array)
    return np.rint(array * 255.0).astype(np.uint8)


def _scaled_size(shape: tuple[int, int], long_side: int) -> tuple[int, int]:
    """Return (width, height) with the long side `long_side` and the aspect ratio kept."""
    width, height = shape
    factor = long_side / max(width, height)
    return max(1, round(width * factor)), max(1, round(height * factor))
