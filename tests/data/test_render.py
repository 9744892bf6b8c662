"""Rendering single images to PNG bytes and to text."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from compresslens.data.render import render_image_ascii, render_image_png, to_uint8_image
from compresslens.errors import DataFormatError


def _decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_grey_image_is_upscaled_by_nearest_neighbour() -> None:
    x = np.zeros((28, 28), np.uint8)
    x[0, 0] = 255
    image = _decode(render_image_png(x))
    assert image.format == "PNG"
    assert image.mode == "L"
    assert image.size == (56, 56)
    pixels = np.asarray(image)
    assert pixels[:2, :2].tolist() == [[255, 255], [255, 255]]
    assert pixels[2, 2] == 0


def test_long_side_gets_the_size_and_aspect_ratio_is_kept() -> None:
    image = _decode(render_image_png(np.zeros((10, 20), np.uint8), size=40))
    assert image.size == (40, 20)  # (width, height)


def test_colour_tensor_becomes_rgb() -> None:
    x = torch.zeros(3, 4, 4)
    x[0] = 1.0
    image = _decode(render_image_png(x, size=8))
    assert image.mode == "RGB"
    assert np.asarray(image)[0, 0].tolist() == [255, 0, 0]


def test_single_channel_tensor_with_grad_is_accepted() -> None:
    x = torch.full((1, 28, 28), 0.5, requires_grad=True)
    assert _decode(render_image_png(x)).size == (56, 56)


def test_unit_range_floats_are_scaled_by_255() -> None:
    assert to_uint8_image(np.array([[0.0, 0.5, 1.0]])).tolist() == [[0, 128, 255]]


def test_other_ranges_are_min_max_scaled() -> None:
    assert to_uint8_image(np.array([[-2.0, 0.0, 2.0]])).tolist() == [[0, 128, 255]]
    assert to_uint8_image(np.full((2, 2), 7.0)).tolist() == [[0, 0], [0, 0]]


def test_unsupported_shapes_are_refused() -> None:
    with pytest.raises(DataFormatError, match=r"shape \[2, 4, 4\]"):
        render_image_png(np.zeros((2, 4, 4)))


def test_text_has_one_line_per_row_and_two_characters_per_pixel() -> None:
    x = np.array([[0, 255], [255, 0]], np.uint8)
    assert render_image_ascii(x) == "  @@\n@@  "
