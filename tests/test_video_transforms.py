"""Transforms on small tensors whose pixel values say where they came from."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as tvf

from utils.errors import InputError
from utils.video import transforms as vt


def position_clip(t: int = 2, h: int = 6, w: int = 8) -> torch.Tensor:
    """(T, C, H, W) uint8 with value 10*row + col, so a crop reveals its offset."""
    grid = (torch.arange(h)[:, None] * 10 + torch.arange(w)[None, :]).to(torch.uint8)
    return grid.expand(t, 3, h, w).clone()


def test_layout_conversions() -> None:
    frames = np.zeros((4, 5, 6, 3), np.uint8)
    frames[..., 0] = 255  # red
    x = vt.to_tchw(frames)
    assert x.shape == (4, 3, 5, 6) and x[:, 0].eq(255).all() and x[:, 1:].eq(0).all()
    y = vt.to_float_cthw(x)
    assert y.shape == (3, 4, 5, 6) and y.dtype == torch.float32
    assert y[0].eq(1.0).all() and y[1:].eq(0.0).all()


def test_short_side_resize_keeps_aspect_and_floors_the_long_side() -> None:
    x = torch.zeros(2, 3, 240, 320, dtype=torch.uint8)
    assert vt.short_side_resize(x, 256).shape[-2:] == (256, 341)  # 320 * 256 / 240 = 341.3
    assert vt.short_side_resize(x.transpose(-1, -2), 182).shape[-2:] == (242, 182)
    assert vt.short_side_resize(x, 240) is x


def test_center_crop_offsets() -> None:
    crop = vt.center_crop(position_clip(), 4)  # (6 - 4) / 2 = 1 row, (8 - 4) / 2 = 2 cols
    assert crop[0, 0, 0, 0].item() == 12 and crop.shape[-2:] == (4, 4)
    assert torch.equal(
        vt.center_crop(position_clip(), (3, 5)), tvf.center_crop(position_clip(), [3, 5])
    )


def test_three_crop_runs_along_the_long_side() -> None:
    crops = vt.three_crop(position_clip(), 6)  # 6x8: left, centre, right
    assert crops.shape == (3, 2, 3, 6, 6)
    assert [c[0, 0, 0, 0].item() for c in crops] == [0, 1, 2]
    tall = vt.three_crop(position_clip(h=8, w=6), 6)  # 8x6: top, centre, bottom
    assert [c[0, 0, 0, 0].item() for c in tall] == [0, 10, 20]


def test_ten_crop_matches_torchvision_order() -> None:
    x = position_clip()
    crops = vt.ten_crop(x, 4)
    assert crops.shape == (10, 2, 3, 4, 4)
    for ours, theirs in zip(crops, tvf.ten_crop(x, [4, 4]), strict=True):
        assert torch.equal(ours, theirs)
    assert [c[0, 0, 0, 0].item() for c in crops[:5]] == [0, 4, 20, 24, 12]
    assert torch.equal(crops[5], crops[1].flip(-1))  # flipped top-left = mirrored top-right


@pytest.mark.parametrize("n", [1, 3, 10])
def test_multi_crop_counts(n: int) -> None:
    assert vt.multi_crop(position_clip(), 4, n).shape == (n, 2, 3, 4, 4)


def test_multi_crop_rejects_other_counts() -> None:
    with pytest.raises(InputError, match="num_crops"):
        vt.multi_crop(position_clip(), 4, 5)
    with pytest.raises(InputError, match="does not fit"):
        vt.center_crop(position_clip(), 7)


def test_normalize_per_channel_on_batches() -> None:
    x = torch.ones(2, 3, 4, 5, 5) * torch.tensor([0.5, 0.25, 1.0]).view(3, 1, 1, 1)
    y = vt.normalize(x, (0.5, 0.5, 0.5), (0.5, 0.25, 0.5))
    assert y[:, 0].eq(0).all() and y[:, 1].eq(-1).all() and y[:, 2].eq(1).all()
    z = vt.normalize(x, (0.5, 0.5, 0.5), (0.5, 0.25, 0.5), inplace=True)
    assert z is x and torch.equal(z, y)


def test_random_crop_flip_is_seeded_and_consistent_across_frames() -> None:
    x = position_clip(t=3)
    a = vt.random_crop_flip(x, 4, np.random.default_rng(5))
    b = vt.random_crop_flip(x, 4, np.random.default_rng(5))
    assert torch.equal(a, b) and a.shape == (3, 3, 4, 4)
    assert torch.equal(a[0], a[2])  # same geometry for every frame
    seen = {
        vt.random_crop_flip(x, 4, np.random.default_rng(s))[0, 0, 0, 0].item() for s in range(40)
    }
    assert len(seen) > 5  # offsets and flips vary with the seed


def test_random_short_side_resize_range() -> None:
    x = torch.zeros(1, 3, 240, 320, dtype=torch.uint8)
    sides = {
        vt.random_short_side_resize(x, (256, 260), np.random.default_rng(s)).shape[-2]
        for s in range(30)
    }
    assert sides == {256, 257, 258, 259, 260}
