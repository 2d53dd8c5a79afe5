"""Transforms on small tensors whose pixel values say where they came from, and resizing
against the float / PIL pipelines the official code uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from utils.errors import InputError
from utils.video import transforms as vt


def position_frames(t: int = 2, h: int = 6, w: int = 8) -> np.ndarray:
    """(T, H, W, 3) uint8 with value 10*row + col + 100*frame in every channel, so a crop
    reveals its offset and a view its frame."""
    grid = np.arange(h)[:, None] * 10 + np.arange(w)[None, :]
    values = grid[None] + 100 * np.arange(t)[:, None, None]
    return np.repeat(values[..., None], 3, axis=-1).astype(np.uint8)


IDENTITY = ((0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255))  # mean, std that keep 0..255


def test_views_layout_is_boxes_channels_time() -> None:
    frames = np.zeros((4, 5, 6, 3), np.uint8)
    frames[..., 0] = 255  # red
    y = vt.normalized_views(frames, [(0, 0, 5, 6, False)], (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    assert y.shape == (1, 3, 4, 5, 6) and y.dtype == torch.float32 and y.is_contiguous()
    assert y[0, 0].eq(1.0).all() and y[0, 1:].eq(0.0).all()


def test_short_side_rules_of_torchvision_and_pyslowfast() -> None:
    assert vt.short_side_size(240, 320, 256) == (256, 341)  # 320 * 256 / 240 = 341.3
    assert vt.short_side_size(320, 240, 182) == (242, 182)
    assert vt.short_side_size_pyslowfast(240, 320, 256) == (256, 341)
    # the rules part where the exact value is an integer: 120 / 104 * 182 = 209.99999999999997
    assert vt.short_side_size(104, 120, 182) == (182, 210)
    assert vt.short_side_size_pyslowfast(104, 120, 182) == (182, 209)


def textured(h: int = 60, w: int = 80, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("size", [(64, 85), (24, 32), (128, 171)])
def test_resize_frame_matches_float_bilinear_and_pil(size: tuple[int, int]) -> None:
    frame = textured()
    x = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
    exact = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
    (plain,) = vt.resize_frames([frame], size, antialias=False)
    assert plain.shape == (*size, 3) and plain.dtype == np.uint8
    assert np.abs(plain - exact[0].permute(1, 2, 0).numpy()).max() <= 1.0
    pil = np.asarray(Image.fromarray(frame).resize(size[::-1], Image.Resampling.BILINEAR))
    (smooth,) = vt.resize_frames([frame], size, antialias=True)
    assert np.abs(smooth.astype(int) - pil).max() <= 1
    assert vt.resize_frames([frame], frame.shape[:2], antialias=True)[0] is frame
    # a batch gives each frame exactly what it gets alone
    other = textured(seed=1)
    pair = vt.resize_frames(np.stack([frame, other]), size, antialias=True)
    assert np.array_equal(pair[0], smooth)
    assert np.array_equal(pair[1], vt.resize_frames([other], size, antialias=True)[0])


def test_centre_crops_round_or_ceil() -> None:
    # 256 x 341 -> 256: (341 - 256) / 2 = 42.5: torchvision/TSM round to 42, PySlowFast 43
    assert vt.crop_boxes(256, 341, 256, 1, "torchvision") == [(0, 42, 256, 256, False)]
    assert vt.crop_boxes(256, 341, 256, 1, "tsm") == [(0, 42, 256, 256, False)]
    assert vt.crop_boxes(256, 341, 256, 1, "pyslowfast") == [(0, 43, 256, 256, False)]


def test_three_crops_per_family() -> None:
    assert [b[:2] for b in vt.crop_boxes(256, 341, 256, 3, "pyslowfast")] == [
        (0, 0),
        (0, 43),
        (0, 85),
    ]
    assert [b[:2] for b in vt.crop_boxes(341, 256, 256, 3, "pyslowfast")] == [
        (0, 0),
        (43, 0),
        (85, 0),
    ]
    # TSM full resolution: s = (341 - 256) // 4 = 21: left 0, right 84, centre 42
    assert [b[:2] for b in vt.crop_boxes(256, 341, 256, 3, "tsm")] == [(0, 0), (0, 84), (0, 42)]


def test_ten_crops_per_family() -> None:
    tsm = vt.crop_boxes(256, 341, 224, 10, "tsm")  # steps (341-224)//4 = 29, (256-224)//4 = 8
    assert [b[:2] for b in tsm[::2]] == [(0, 0), (0, 116), (32, 0), (32, 116), (16, 58)]
    assert [b[4] for b in tsm] == [False, True] * 5  # each crop followed by its mirror
    tv = vt.crop_boxes(6, 8, 4, 10, "torchvision")
    assert [b[:2] for b in tv[:5]] == [(0, 0), (0, 4), (2, 0), (2, 4), (1, 2)]
    assert [b[4] for b in tv] == [False] * 5 + [True] * 5


def test_views_crop_and_mirror_every_frame() -> None:
    frames = position_frames(t=3)
    views = vt.normalized_views(frames, [(1, 2, 4, 4, False), (0, 0, 4, 4, True)], *IDENTITY)
    assert views.shape == (2, 3, 3, 4, 4)
    assert views[0, 0, 0, 0, 0].item() == pytest.approx(12, abs=1e-4)  # row 1, column 2
    assert views[0, 1, 2, 3, 3].item() == pytest.approx(245, abs=1e-4)  # frame 2, row 4, col 5
    mirrored = np.flip(frames[:, :4, :4], axis=2).transpose(3, 0, 1, 2).astype(np.float32)
    np.testing.assert_allclose(views[1].numpy(), mirrored, atol=1e-4)
    # a list of frames gives the same as their stack
    assert torch.equal(vt.normalized_views(list(frames), [(1, 2, 4, 4, False)], *IDENTITY),
                       views[:1])


def test_views_reject_bad_input() -> None:
    frames = position_frames()
    with pytest.raises(InputError, match="one size"):
        vt.normalized_views(frames, [(0, 0, 4, 4, False), (0, 0, 3, 3, False)], *IDENTITY)
    with pytest.raises(InputError, match="does not fit"):
        vt.normalized_views(frames, [(4, 0, 4, 4, False)], *IDENTITY)
    with pytest.raises(InputError, match="share one"):
        vt.normalized_views([frames[0], frames[1, :5]], [(0, 0, 4, 4, False)], *IDENTITY)
    with pytest.raises(InputError, match="at least one frame"):
        vt.normalized_views([], [(0, 0, 4, 4, False)], *IDENTITY)


def test_crop_boxes_reject_bad_requests() -> None:
    with pytest.raises(InputError, match="num_crops"):
        vt.crop_boxes(6, 8, 4, 5, "tsm")
    with pytest.raises(InputError, match="does not fit"):
        vt.crop_boxes(6, 8, 7, 1, "torchvision")


def test_normalize_per_channel() -> None:
    frames = np.broadcast_to(np.array([51, 255, 0], np.uint8), (4, 5, 5, 3))
    mean, std = (0.2, 0.5, 0.45), (0.1, 0.25, 0.225)
    y = vt.normalized_views(frames, [(0, 0, 5, 5, False), (0, 0, 5, 5, True)], mean, std)
    assert y.shape == (2, 3, 4, 5, 5)
    expected = [(51 / 255 - 0.2) / 0.1, (1 - 0.5) / 0.25, -0.45 / 0.225]  # 0, 2, -2
    for c in range(3):
        torch.testing.assert_close(y[:, c], torch.full((2, 4, 5, 5), expected[c]), atol=1e-6,
                                   rtol=0)


def test_random_box_is_seeded() -> None:
    a = vt.random_box(6, 8, 4, np.random.default_rng(5))
    assert a == vt.random_box(6, 8, 4, np.random.default_rng(5))
    top, left, h, w, _ = a
    assert (h, w) == (4, 4) and 0 <= top <= 2 and 0 <= left <= 4
    seen = {vt.random_box(6, 8, 4, np.random.default_rng(s)) for s in range(40)}
    assert len(seen) > 5 and {b[4] for b in seen} == {False, True}  # offsets and flips vary
    assert not vt.random_box(6, 8, 4, np.random.default_rng(0), flip_p=0.0)[4]
    with pytest.raises(InputError, match="does not fit"):
        vt.random_box(6, 8, 7, np.random.default_rng(0))
