"""Common corruptions generated on the fly, in the spirit of CIFAR-10-C (Hendrycks & Dietterich).

Every corruption maps images [N, C, H, W] in [0, 1] to images of the same shape, dtype and
range, deterministically given a seed, at severities 1–5 (`SEVERITY_PARAMETERS`). Where the
operation is the same as CIFAR-10-C's its numbers are CIFAR-10-C's; blurs use their own kernels
and pixelate integer blocks, sized for 28–32 px images. Generating rather than storing the data
lets any dataset be corrupted, but accuracies are comparable within compresslens, not with
published CIFAR-10-C.

| corruption     | parameter (severity 1 → 5)            | operation                               |
|----------------|---------------------------------------|-----------------------------------------|
| gaussian_noise | σ 0.04 0.06 0.08 0.09 0.10            | x + N(0, σ²)                            |
| shot_noise     | λ 500 250 100 75 50                   | Poisson(λx) / λ                         |
| impulse_noise  | fraction 0.01 0.02 0.03 0.05 0.07     | that fraction of values set to 0 or 1   |
| defocus_blur   | radius 1.0 1.25 1.5 2.0 2.5 px        | anti-aliased disk kernel                |
| motion_blur    | length 3 4 5 7 9 px                   | centred line kernel, angle U(−45°, 45°) |
| contrast       | factor 0.75 0.5 0.4 0.3 0.15          | mean + factor·(x − mean), per image     |
| brightness     | shift 0.05 0.1 0.15 0.2 0.3           | HSV value + shift (hue, saturation kept)|
| pixelate       | block 2 3 4 5 6 px                    | mean of each block (see `pixelate`)     |
| jpeg           | quality 80 65 58 50 40                | 8×8 block DCT quantization (see `jpeg`) |

Nothing here runs a model: `corruption_conditions` checks a sweep and `condition_images`
builds each condition's images; `compresslens.evaluate.corruption_runs.predict_classes`
predicts on them, `compresslens.analysis.robustness` scores and compares the predictions, and
`compresslens.workspace.comparison.evaluate_corruptions` runs a whole sweep.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F

from compresslens.errors import CompressLensError

SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)
SEVERITY_PARAMETERS: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    "shot_noise": (500, 250, 100, 75, 50),
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
    "defocus_blur": (1.0, 1.25, 1.5, 2.0, 2.5),
    "motion_blur": (3, 4, 5, 7, 9),
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
    "pixelate": (2, 3, 4, 5, 6),
    "jpeg": (80, 65, 58, 50, 40),
}
CORRUPTIONS: tuple[str, ...] = tuple(SEVERITY_PARAMETERS)
MOTION_MAX_ANGLE_DEG = 45.0

# JPEG's standard quantization tables (ITU-T T.81 Annex K), luminance and chrominance.
_LUMA_TABLE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
_CHROMA_TABLE = (
    (17, 18, 24, 47, 99, 99, 99, 99),
    (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99),
    (47, 66, 99, 99, 99, 99, 99, 99),
    *((99,) * 8,) * 4,
)
# JFIF RGB → YCbCr (offsets 0, 128, 128 on the 0..255 scale).
_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)


class CorruptionError(CompressLensError, ValueError):
    """An unknown corruption, a severity outside 1..5, or images not [N, C, H, W] in [0, 1]."""


# ---------------------------------------------------------------- noise


def gaussian_noise(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Additive white noise N(0, σ²): sensor noise in low light."""
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return (x + sigma * noise).clamp(0.0, 1.0)


def shot_noise(x: torch.Tensor, photons: float, generator: torch.Generator) -> torch.Tensor:
    """Poisson(λx)/λ: photon-counting noise, stronger on bright pixels (λ = photons per unit)."""
    return (torch.poisson(x * photons, generator=generator) / photons).clamp(0.0, 1.0)


def impulse_noise(x: torch.Tensor, amount: float, generator: torch.Generator) -> torch.Tensor:
    """Salt and pepper: a fraction `amount` of values, half set to 0 and half to 1."""
    draw = torch.rand(x.shape, generator=generator, dtype=x.dtype)
    x = torch.where(draw < amount / 2, 0.0, x)
    return torch.where((draw >= amount / 2) & (draw < amount), 1.0, x)


# ---------------------------------------------------------------- blur


def disk_kernel(radius: float) -> torch.Tensor:
    """Anti-aliased disk [k, k] summing to 1: a pixel's weight is its coverage clip(r + ½ − d)."""
    half = math.ceil(radius)
    offsets = torch.arange(-half, half + 1, dtype=torch.float64)
    distance = torch.sqrt(offsets[:, None] ** 2 + offsets[None, :] ** 2)
    weight = (radius + 0.5 - distance).clamp(0.0, 1.0)
    return weight / weight.sum()


def line_kernels(length: float, angles: torch.Tensor) -> torch.Tensor:
    """Centred line kernels [A, k, k] of the given length, one per angle (radians), sum 1.

    Points sampled densely along the segment are splatted bilinearly onto the pixel grid.
    """
    half = math.ceil((length - 1) / 2) + 1
    size = 2 * half + 1
    t = torch.linspace(
        -(length - 1) / 2, (length - 1) / 2, 8 * int(length) + 1, dtype=torch.float64
    )
    px = half + t[None, :] * torch.cos(angles)[:, None]
    py = half - t[None, :] * torch.sin(angles)[:, None]
    kernels = torch.zeros(angles.shape[0], size * size, dtype=torch.float64)
    x0, y0 = px.floor(), py.floor()
    for dx in (0, 1):
        for dy in (0, 1):
            weight = (1 - (px - x0 - dx).abs()) * (1 - (py - y0 - dy).abs())
            index = ((y0 + dy) * size + (x0 + dx)).long()
            kernels.scatter_add_(1, index, weight)
    kernels = kernels.reshape(-1, size, size)
    return kernels / kernels.sum(dim=(1, 2), keepdim=True)


def _convolve_per_image(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolve image n's channels with kernels[n] ([N or 1, k, k]), edges replicated."""
    n, c, h, w = x.shape
    k = kernels.shape[-1]
    weight = kernels.to(x.dtype).expand(n, k, k).repeat_interleave(c, dim=0)[:, None]
    padded = F.pad(x.reshape(1, n * c, h, w), (k // 2,) * 4, mode="replicate")
    return F.conv2d(padded, weight, groups=n * c).reshape(n, c, h, w)


def defocus_blur(x: torch.Tensor, radius: float) -> torch.Tensor:
    """Out-of-focus lens: convolution with a disk of `radius` pixels."""
    return _convolve_per_image(x, disk_kernel(radius)[None]).clamp(0.0, 1.0)


def motion_blur(x: torch.Tensor, length: float, generator: torch.Generator) -> torch.Tensor:
    """Camera shake: a line kernel of `length` px at a random angle in ±45° per image."""
    limit = math.radians(MOTION_MAX_ANGLE_DEG)
    angles = (torch.rand(x.shape[0], generator=generator, dtype=torch.float64) * 2 - 1) * limit
    return _convolve_per_image(x, line_kernels(length, angles)).clamp(0.0, 1.0)


# ---------------------------------------------------------------- photometric and digital


def contrast(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Pull every value towards its image's mean (over channels and pixels) by `factor`."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * factor + mean).clamp(0.0, 1.0)


def brightness(x: torch.Tensor, shift: float) -> torch.Tensor:
    """Add `shift` to the HSV value V = max over channels, keeping hue and saturation.

    In HSV every channel is V times a hue/saturation factor, so the shift is a per-pixel
    rescaling by V'/V (black pixels, V = 0, become grey V'); with one channel it is x + shift.
    """
    value = x.amax(dim=1, keepdim=True)
    shifted = (value + shift).clamp(0.0, 1.0)
    scale = torch.where(value > 0, shifted / value.clamp_min(1e-12), 0.0)
    return torch.where(value > 0, x * scale, shifted).clamp(0.0, 1.0)


def pixelate(x: torch.Tensor, block: int) -> torch.Tensor:
    """Replace each block×block square (partial at the edges) by its mean: coarse digitisation.

    CIFAR-10-C resizes by 0.95…0.65 instead; at 28–32 px those non-integer ratios shift pixels
    more than they coarsen, so the distance to the clean image does not grow with severity.
    """
    h, w = x.shape[2:]
    means = F.avg_pool2d(x, int(block), stride=int(block), ceil_mode=True)
    blocks = means.repeat_interleave(int(block), dim=2).repeat_interleave(int(block), dim=3)
    return blocks[:, :, :h, :w].clamp(0.0, 1.0)


def _quantization_table(base: Sequence[Sequence[int]], quality: float) -> torch.Tensor:
    """IJG scaling of a standard table to `quality` (1..100), entries in 1..255."""
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    table = torch.tensor(base, dtype=torch.float64)
    return torch.floor((table * scale + 50.0) / 100.0).clamp(1.0, 255.0)


def _dct_matrix() -> torch.Tensor:
    """Orthonormal 8-point DCT-II; D·B·Dᵀ equals JPEG's forward DCT of a block B."""
    u = torch.arange(8, dtype=torch.float64)[:, None]
    pixel = torch.arange(8, dtype=torch.float64)[None, :]
    matrix = torch.cos((2 * pixel + 1) * u * math.pi / 16) * math.sqrt(2 / 8)
    matrix[0] /= math.sqrt(2)
    return matrix


def _to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """RGB [N, 3, H, W] on 0..255 to JFIF YCbCr on 0..255."""
    matrix = torch.tensor(_YCBCR, dtype=x.dtype)
    offset = torch.tensor([0.0, 128.0, 128.0], dtype=x.dtype)[:, None, None]
    return torch.einsum("ij,njhw->nihw", matrix, x) + offset


def _from_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """JFIF YCbCr on 0..255 back to RGB on 0..255."""
    inverse = torch.linalg.inv(torch.tensor(_YCBCR, dtype=x.dtype))
    offset = torch.tensor([0.0, 128.0, 128.0], dtype=x.dtype)[:, None, None]
    return torch.einsum("ij,njhw->nihw", inverse, x - offset)


def jpeg(x: torch.Tensor, quality: float) -> torch.Tensor:
    """JPEG-like compression: 8×8 block DCT, coefficients rounded to the standard tables.

    Implemented in torch (not Pillow's encoder: ≈0.5 ms per image there, vectorized here).
    Three channels go through YCbCr with the chroma table on Cb/Cr; any other channel count
    is coded channel by channel with the luma table. No chroma subsampling, no entropy coding
    (lossless anyway); edges are padded by replication to whole blocks.
    """
    n, c, h, w = x.shape
    data = x.float() * 255.0
    data = (_to_ycbcr(data) if c == 3 else data) - 128.0
    tables = [_LUMA_TABLE, _CHROMA_TABLE, _CHROMA_TABLE] if c == 3 else [_LUMA_TABLE] * c
    q = torch.stack([_quantization_table(t, quality) for t in tables]).float()
    pad_h, pad_w = -h % 8, -w % 8
    if pad_h or pad_w:
        data = F.pad(data, (0, pad_w, 0, pad_h), mode="replicate")
    bh, bw = (h + pad_h) // 8, (w + pad_w) // 8
    blocks = data.reshape(n, c, bh, 8, bw, 8).transpose(3, 4).reshape(n, c, bh, bw, 64)
    transform = torch.kron(_dct_matrix(), _dct_matrix()).float()  # D·B·Dᵀ on flat blocks
    coefficients = (blocks @ transform.T).div_(q.reshape(1, c, 1, 1, 64)).round_()
    coefficients.mul_(q.reshape(1, c, 1, 1, 64))
    restored = (coefficients @ transform).reshape(n, c, bh, bw, 8, 8).transpose(3, 4)
    restored = restored.reshape(n, c, h + pad_h, w + pad_w)[:, :, :h, :w] + 128.0
    restored = _from_ycbcr(restored) if c == 3 else restored
    return (restored / 255.0).clamp(0.0, 1.0).to(x.dtype)


# ---------------------------------------------------------------- the suite

_APPLY: dict[str, Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]] = {
    "gaussian_noise": gaussian_noise,
    "shot_noise": shot_noise,
    "impulse_noise": impulse_noise,
    "defocus_blur": lambda x, p, _g: defocus_blur(x, p),
    "motion_blur": motion_blur,
    "contrast": lambda x, p, _g: contrast(x, p),
    "brightness": lambda x, p, _g: brightness(x, p),
    "pixelate": lambda x, p, _g: pixelate(x, p),
    "jpeg": lambda x, p, _g: jpeg(x, p),
}


def _check_choice(name: str, severity: int) -> None:
    """A known corruption name and an integer severity in 1..5."""
    if name not in SEVERITY_PARAMETERS:
        raise CorruptionError(
            f"unknown corruption {name!r}; choose one of: {', '.join(CORRUPTIONS)}"
        )
    if isinstance(severity, bool) or not isinstance(severity, int) or severity not in SEVERITIES:
        raise CorruptionError(f"severity must be an integer from 1 to 5, got {severity!r}")


def _check_images(x: torch.Tensor) -> None:
    """Floating-point images [N, C, H, W] with values in [0, 1]."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise CorruptionError(f"images must be a float tensor [N, C, H, W], got {shape}")
    if x.numel() and (x.min() < 0.0 or x.max() > 1.0):
        raise CorruptionError(
            f"images must have values in [0, 1], got {float(x.min()):.3g}..{float(x.max()):.3g}; "
            "corrupt before any mean/std normalisation"
        )


def corrupt(x: torch.Tensor, name: str, severity: int, seed: int = 0) -> torch.Tensor:
    """Apply corruption `name` at `severity` (1..5) to images in [0, 1]; same seed, same output."""
    _check_choice(name, severity)
    _check_images(x)
    generator = torch.Generator().manual_seed(seed)
    parameter = SEVERITY_PARAMETERS[name][severity - 1]
    out = _APPLY[name](x.detach().cpu(), parameter, generator)
    return out.clamp(0.0, 1.0).to(device=x.device, dtype=x.dtype)


# ---------------------------------------------------------------- corruption sweeps


def corruption_conditions(
    inputs: torch.Tensor,
    labels: torch.Tensor,
    corruptions: Iterable[str] = CORRUPTIONS,
    severities: Iterable[int] = SEVERITIES,
    clean: bool = True,
) -> list[tuple[str, int]]:
    """The (corruption, severity) conditions of a sweep, ("clean", 0) first when `clean`.

    Checks everything before any model runs: known corruptions, severities 1..5, images
    [N, C, H, W] in [0, 1] and one label per image.
    """
    corruptions, severities = list(corruptions), list(severities)
    for name in corruptions:
        for severity in severities:
            _check_choice(name, severity)
    _check_images(inputs)
    if labels.shape != (inputs.shape[0],):
        raise CorruptionError(
            f"labels must have shape ({inputs.shape[0]},), got {tuple(labels.shape)}"
        )
    return ([("clean", 0)] if clean else []) + [(c, s) for c in corruptions for s in severities]


def condition_images(x: torch.Tensor, name: str, severity: int, seed: int = 0) -> torch.Tensor:
    """The images of one condition: `x` itself for ("clean", 0), else `corrupt(x, ...)`.

    The whole input is corrupted at once, so the noise does not depend on any batch size.
    """
    return x if name == "clean" else corrupt(x, name, severity, seed)
