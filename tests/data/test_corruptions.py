"""Corruption suite: shape, range, determinism, monotone severity, errors, sweep conditions."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from compresslens.data.corruptions import (
    CORRUPTIONS,
    SEVERITIES,
    SEVERITY_PARAMETERS,
    CorruptionError,
    condition_images,
    corrupt,
    corruption_conditions,
    jpeg,
)

RANDOM_CORRUPTIONS = ("gaussian_noise", "shot_noise", "impulse_noise", "motion_blur")


def natural_like(n: int, channels: int, side: int, seed: int = 0) -> torch.Tensor:
    """Smooth blobs plus fine texture in [0, 1], closer to photographs than white noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = F.avg_pool2d(torch.rand(n, channels, side + 4, side + 4, generator=g), 5, stride=1)
    texture = torch.rand(n, channels, side, side, generator=g)
    return (0.8 * coarse + 0.2 * texture).clamp(0.0, 1.0)


@pytest.fixture(scope="module")
def images() -> dict[str, torch.Tensor]:
    return {"rgb": natural_like(6, 3, 32, seed=1), "gray": natural_like(6, 1, 28, seed=2)}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corruption_keeps_shape_dtype_and_range(name: str, images: dict[str, torch.Tensor]) -> None:
    for x in (*images.values(), torch.rand(2, 2, 9, 13, dtype=torch.float64)):
        for severity in (1, 5):
            out = corrupt(x, name, severity, seed=3)
            assert out.shape == x.shape and out.dtype == x.dtype
            assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corruption_is_deterministic_given_the_seed(
    name: str, images: dict[str, torch.Tensor]
) -> None:
    x = images["rgb"]
    assert torch.equal(corrupt(x, name, 3, seed=7), corrupt(x, name, 3, seed=7))
    if name in RANDOM_CORRUPTIONS:
        assert not torch.equal(corrupt(x, name, 3, seed=7), corrupt(x, name, 3, seed=8))


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_higher_severity_moves_further_from_the_clean_image(
    name: str, images: dict[str, torch.Tensor]
) -> None:
    for x in images.values():
        distances = [
            float((corrupt(x, name, s, seed=0) - x).pow(2).mean().sqrt()) for s in SEVERITIES
        ]
        assert distances[0] > 0
        assert all(a < b for a, b in itertools.pairwise(distances)), distances


def test_every_corruption_has_five_parameters() -> None:
    assert set(SEVERITY_PARAMETERS) == set(CORRUPTIONS)
    assert all(len(values) == len(SEVERITIES) for values in SEVERITY_PARAMETERS.values())


@pytest.mark.parametrize("severity", [0, 6, 2.5, True])
def test_severity_outside_one_to_five_is_refused(severity: object) -> None:
    with pytest.raises(CorruptionError, match="severity must be an integer from 1 to 5"):
        corrupt(torch.rand(1, 1, 8, 8), "contrast", severity)  # type: ignore[arg-type]


def test_unknown_corruption_and_bad_images_are_refused() -> None:
    with pytest.raises(CorruptionError, match="unknown corruption 'fog'; choose one of"):
        corrupt(torch.rand(1, 1, 8, 8), "fog", 1)
    with pytest.raises(CorruptionError, match=r"values in \[0, 1\]"):
        corrupt(torch.rand(1, 1, 8, 8) * 255, "contrast", 1)
    with pytest.raises(CorruptionError, match=r"\[N, C, H, W\]"):
        corrupt(torch.rand(8, 8), "contrast", 1)


def test_jpeg_is_close_to_pillows_encoder_on_grayscale(images: dict[str, torch.Tensor]) -> None:
    x = (images["gray"] * 255).round() / 255
    pillow = []
    for array in (x[:, 0] * 255).round().to(torch.uint8).numpy():
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, "JPEG", quality=50)
        pillow.append(np.asarray(Image.open(io.BytesIO(buffer.getvalue()))))
    reference = torch.tensor(np.stack(pillow), dtype=torch.float32)[:, None] / 255
    ours = jpeg(x, 50)
    assert float((ours - reference).pow(2).mean().sqrt()) < 0.2 * float(
        (reference - x).pow(2).mean().sqrt()
    )


def test_corruption_conditions_list_clean_first_and_check_before_any_run() -> None:
    x, labels = torch.rand(3, 1, 4, 4), torch.zeros(3, dtype=torch.long)
    conditions = corruption_conditions(x, labels, ["jpeg", "contrast"], [2, 1])
    assert conditions == [("clean", 0), ("jpeg", 2), ("jpeg", 1), ("contrast", 2), ("contrast", 1)]
    assert corruption_conditions(x, labels, ["jpeg"], [3], clean=False) == [("jpeg", 3)]
    with pytest.raises(CorruptionError, match="labels must have shape"):
        corruption_conditions(x, labels[:2], ["jpeg"], [1])
    with pytest.raises(CorruptionError, match="values in"):
        corruption_conditions(x * 2 + 1, labels, ["jpeg"], [1])


def test_condition_images_are_the_clean_images_or_their_corruption() -> None:
    x = torch.rand(2, 1, 8, 8)
    assert condition_images(x, "clean", 0) is x
    assert torch.equal(condition_images(x, "contrast", 5, seed=1), corrupt(x, "contrast", 5, 1))
