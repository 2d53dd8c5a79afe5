"""Clip transforms on torch tensors, without pytorchvideo.transforms.

Layouts: decoded frames are (T, H, W, C) uint8; ``to_tchw`` views them as (T, C, H, W), the layout
every spatial function here takes (any leading dims, last two = H, W), so resizing and cropping
run on uint8 (4x less memory than float). Resizing uses torchvision's (v1) functional resize,
which rounds back to uint8 exactly as torchvision's video ``Weights.transforms()`` do, so the
torchvision presets reproduce them bit for bit (the v2 native uint8 kernel differs by one level).
``to_float_cthw`` then gives the models' (..., C, T, H, W) float32 in [0, 1] for ``normalize``.
Random transforms take a numpy Generator so one seed drives sampling and augmentation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torchvision.transforms import functional as tvf

from utils.errors import InputError

CROP_COUNTS = (1, 3, 10)


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    h, w = size
    return int(h), int(w)


def to_tchw(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(T, H, W, C) frames -> a (T, C, H, W) view (no copy)."""
    x = torch.as_tensor(frames)
    if x.ndim != 4:
        raise InputError(f"expected (T, H, W, C) frames, got shape {tuple(x.shape)}")
    return x.permute(0, 3, 1, 2)


def to_float_cthw(x: torch.Tensor) -> torch.Tensor:
    """(..., T, C, H, W) uint8 -> contiguous (..., C, T, H, W) float32 in [0, 1]."""
    out = torch.empty(x.transpose(-4, -3).shape, dtype=torch.float32, device=x.device)
    return out.copy_(x.transpose(-4, -3)).div_(255)


def short_side_resize(x: torch.Tensor, size: int, *, antialias: bool = True) -> torch.Tensor:
    """Resize (..., H, W) so the short side is ``size``, keeping the aspect ratio (long side
    floored, as torchvision and pytorchvideo do). Bilinear; ``antialias`` matters only when
    shrinking. Returns ``x`` itself when the short side already has that size."""
    if min(x.shape[-2:]) == size:
        return x
    return tvf.resize(x, [size], antialias=antialias)


def resize(x: torch.Tensor, size: tuple[int, int], *, antialias: bool = True) -> torch.Tensor:
    """Resize (..., H, W) to exactly ``size`` = (height, width), bilinear."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return tvf.resize(x, list(size), antialias=antialias)


def crop(x: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """The (..., height, width) window of (..., H, W) at (top, left); a view."""
    h, w = x.shape[-2:]
    if height > h or width > w or top < 0 or left < 0:
        raise InputError(f"crop {height}x{width} at ({top}, {left}) does not fit a {h}x{w} frame")
    return x[..., top : top + height, left : left + width]


def _center_offsets(h: int, w: int, ch: int, cw: int) -> tuple[int, int]:
    # torchvision's rounding, so center crops match its transforms exactly.
    return round((h - ch) / 2.0), round((w - cw) / 2.0)


def center_crop(x: torch.Tensor, size: int | Sequence[int]) -> torch.Tensor:
    """The centred (..., ch, cw) crop."""
    ch, cw = _pair(size)
    top, left = _center_offsets(*x.shape[-2:], ch, cw)
    return crop(x, top, left, ch, cw)


def three_crop(x: torch.Tensor, size: int | Sequence[int]) -> torch.Tensor:
    """Three crops along the long side (start, centre, end), stacked: (3, ..., ch, cw).

    This is SlowFast's multi-view test: with a crop as large as the short side, the three crops
    together cover the whole frame."""
    ch, cw = _pair(size)
    h, w = x.shape[-2:]
    top, left = _center_offsets(h, w, ch, cw)
    if h > w:
        boxes = [(0, left), (top, left), (h - ch, left)]
    else:
        boxes = [(top, 0), (top, left), (top, w - cw)]
    return torch.stack([crop(x, top, left, ch, cw) for top, left in boxes])


def _five_crop(x: torch.Tensor, ch: int, cw: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = _center_offsets(h, w, ch, cw)
    boxes = [(0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw), (top, left)]
    return torch.stack([crop(x, top, left, ch, cw) for top, left in boxes])


def ten_crop(x: torch.Tensor, size: int | Sequence[int]) -> torch.Tensor:
    """Top-left, top-right, bottom-left, bottom-right and centre crops of the clip, then the same
    five of the horizontally flipped clip: (10, ..., ch, cw), torchvision's ten_crop order."""
    ch, cw = _pair(size)
    return torch.cat([_five_crop(x, ch, cw), _five_crop(x.flip(-1), ch, cw)])


def multi_crop(x: torch.Tensor, size: int | Sequence[int], num_crops: int) -> torch.Tensor:
    """1, 3 or 10 crops stacked on a new first dimension: (num_crops, ..., ch, cw)."""
    if num_crops == 1:
        return center_crop(x, size).unsqueeze(0)
    if num_crops == 3:
        return three_crop(x, size)
    if num_crops == 10:
        return ten_crop(x, size)
    raise InputError(f"num_crops must be one of {CROP_COUNTS}, got {num_crops}")


def normalize(
    x: torch.Tensor, mean: Sequence[float], std: Sequence[float], *, inplace: bool = False
) -> torch.Tensor:
    """(x - mean) / std per channel of a (..., C, T, H, W) float tensor, computed as
    x * (1 / std) + (-mean / std); ``inplace`` saves allocating a second clip-sized tensor."""
    shape = (-1, 1, 1, 1)
    m = torch.as_tensor(mean, dtype=torch.float64).view(shape)
    s = torch.as_tensor(std, dtype=torch.float64).view(shape)
    scale, shift = (1 / s).to(x), (-m / s).to(x)
    return (x.mul_(scale) if inplace else x * scale).add_(shift)


def random_short_side_resize(
    x: torch.Tensor,
    short_side_range: tuple[int, int],
    rng: np.random.Generator,
    *,
    antialias: bool = True,
) -> torch.Tensor:
    """Scale jitter: resize the short side to a random integer in ``short_side_range``
    (inclusive), one draw for the whole clip."""
    lo, hi = short_side_range
    return short_side_resize(x, int(rng.integers(lo, hi + 1)), antialias=antialias)


def random_crop_flip(
    x: torch.Tensor,
    size: int | Sequence[int],
    rng: np.random.Generator,
    *,
    flip_p: float = 0.5,
) -> torch.Tensor:
    """A random (..., ch, cw) crop, flipped horizontally with probability ``flip_p``. One draw
    for the whole clip, so every frame gets the same geometry and the motion stays coherent."""
    ch, cw = _pair(size)
    h, w = x.shape[-2:]
    if ch > h or cw > w:
        raise InputError(f"crop {ch}x{cw} does not fit a {h}x{w} frame")
    x = crop(x, int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw)
    return x.flip(-1) if rng.random() < flip_p else x
