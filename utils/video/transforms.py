"""Frame and clip transforms on uint8 frames and torch tensors, without pytorchvideo.transforms.

Resizing treats each (H, W, 3) uint8 frame on its own (as every official pipeline does), on
batches of frames with torch's bilinear kernel for channels-last uint8 (``align_corners=False``):
without antialiasing for the torchvision and PySlowFast recipes, with it for TSN/TSM, whose
official code resizes PIL images (Pillow's bilinear filter widens with the scale factor, which
torch's antialias mode reproduces). Against
the official float (PySlowFast) and Pillow (TSM) resizes this is at most 1 grey level apart, all
rounding (``tests/test_video_transforms.py``), and several times cheaper per frame
(``benchmarks/bench_video.py`` prints both costs).

Crops are boxes ``(top, left, height, width, flip)`` so one function applies any family's
multi-crop layout; the layouts themselves (where the centre falls, which crops, which order)
follow each official source, see ``crop_boxes``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from utils.errors import InputError

CROP_COUNTS = (1, 3, 10)
CropStyle = Literal["torchvision", "pyslowfast", "tsm"]
Box = tuple[int, int, int, int, bool]


def short_side_size(height: int, width: int, side: int) -> tuple[int, int]:
    """(h, w) with the short side ``side``, long side ``int(side * long / short)``: torchvision's
    ``Resize(int)`` rule (also TSM's ``GroupScale``, which calls it on PIL images)."""
    if width <= height:
        return int(side * height / width), side
    return side, int(side * width / height)


def short_side_size_pyslowfast(height: int, width: int, side: int) -> tuple[int, int]:
    """The same size by PySlowFast's rule (``transform.random_short_side_scale_jitter``, and
    pytorchvideo's ``short_side_scale``): long side ``floor(long / short * side)``; the two
    rules differ when the exact value is an integer (120x104 at 182: 209 here, 210 above)."""
    if width < height:
        return math.floor(float(height) / width * side), side
    return side, math.floor(float(width) / height * side)


def resize_frames(
    frames: Sequence[np.ndarray] | np.ndarray, size: Sequence[int], *, antialias: bool
) -> list[np.ndarray]:
    """(H, W, 3) uint8 frames of one size -> (h, w, 3) uint8 frames, bilinear,
    ``align_corners=False``, in one call: torch's vectorised uint8 kernel runs on batches of
    two or more channels-last images (a single image takes a generic path, 2-3x slower here,
    with the same result), so a lone frame is resized as a pair."""
    h, w = int(size[0]), int(size[1])
    if not len(frames) or frames[0].shape[:2] == (h, w):
        return list(frames)
    batch = frames if isinstance(frames, np.ndarray) else np.stack(frames)
    if len(batch) == 1:
        batch = np.concatenate([batch, batch])
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2)
    y = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=antialias)
    return list(y.permute(0, 2, 3, 1).numpy()[: len(frames)])


def normalized_views(
    frames: Sequence[np.ndarray] | np.ndarray,
    boxes: Sequence[Box],
    mean: Sequence[float],
    std: Sequence[float],
) -> torch.Tensor:
    """(H, W, 3) uint8 frames of one size -> (len(boxes), 3, T, h, w) float32, contiguous: each
    box's crop (mirrored when its flip is set: the official code crops, then mirrors),
    ``(x / 255 - mean) / std`` per channel, computed as ``x * (1 / (255 std)) - mean / std``.

    Frame by frame, so each crop is converted and normalised while it is in cache and the
    frames are never stacked (``benchmarks/bench_video.py`` times it against stacking the clip
    and normalising it whole).
    """
    if not len(frames) or not boxes:
        raise InputError("normalized_views needs at least one frame and one box")
    height, width = frames[0].shape[:2]
    _, _, h, w, _ = boxes[0]
    if any(b[2:4] != (h, w) for b in boxes):
        raise InputError(f"all boxes must have one size, got {[b[2:4] for b in boxes]}")
    if any(top + bh > height or left + bw > width for top, left, bh, bw, _ in boxes):
        raise InputError(f"a crop box {list(boxes)} does not fit a {height}x{width} frame")
    m = torch.as_tensor(mean, dtype=torch.float64).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=torch.float64).view(-1, 1, 1)
    scale, shift = (1 / (255 * s)).float(), (-m / s).float()
    out = torch.empty((len(boxes), 3, len(frames), h, w), dtype=torch.float32)
    for t, frame in enumerate(frames):
        frame = np.asarray(frame)
        if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
            raise InputError(f"frames must share one (H, W, 3) uint8 shape: frame {t} is "
                             f"{frame.shape} {frame.dtype}, frame 0 {(height, width, 3)}")
        # torch wraps only writable arrays (nothing is written here)
        x = torch.from_numpy(frame if frame.flags.writeable else frame.copy())
        for v, (top, left, _, _, flip) in enumerate(boxes):
            crop = x[top : top + h, left : left + w].permute(2, 0, 1)
            view = out[v, :, t]
            view.copy_(crop.flip(-1) if flip else crop)
            view.mul_(scale).add_(shift)
    return out


def _centre(length: int, size: int, style: CropStyle) -> int:
    # torchvision's CenterCrop rounds (Python's round: half to even); PySlowFast's uniform_crop
    # takes the ceiling. On 341 -> 256 they differ by one column.
    if style == "pyslowfast":
        return math.ceil((length - size) / 2)
    return round((length - size) / 2.0)


def crop_boxes(
    height: int, width: int, size: int, num_crops: int, style: CropStyle
) -> list[Box]:
    """Where the test crops of a (height, width) frame lie, in each family's order.

    1 crop: the centre (torchvision/TSM ``CenterCrop`` rounding, PySlowFast ceiling).
    3 crops: PySlowFast ``uniform_crop`` spatial_idx 0, 1, 2 = start, centre, end of the long
    side (also used for the torchvision presets, which publish one crop); TSM
    ``GroupFullResSample``: x offsets 0, 4s, 2s (left, right, centre) with s = (W - size) // 4,
    y offset 2 * ((H - size) // 4).
    10 crops: TSM ``GroupOverSample``: corners and centre on the same quarter grid
    (``GroupMultiScaleCrop.fill_fix_offset``), each followed by its mirror; otherwise
    torchvision's ``ten_crop`` order (the five crops, then the five mirrored).
    """
    if num_crops not in CROP_COUNTS:
        raise InputError(f"num_crops must be one of {CROP_COUNTS}, got {num_crops}")
    if size > height or size > width:
        raise InputError(f"crop {size}x{size} does not fit a {height}x{width} frame")
    top, left = _centre(height, size, style), _centre(width, size, style)
    if num_crops == 1:
        return [(top, left, size, size, False)]
    if style == "tsm":
        ws, hs = (width - size) // 4, (height - size) // 4
        if num_crops == 3:
            return [(2 * hs, x * ws, size, size, False) for x in (0, 4, 2)]
        grid = [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2)]
        return [(y * hs, x * ws, size, size, flip) for y, x in grid for flip in (False, True)]
    if num_crops == 3:
        if height > width:
            return [(y, left, size, size, False) for y in (0, top, height - size)]
        return [(top, x, size, size, False) for x in (0, left, width - size)]
    corners = [(0, 0), (0, width - size), (height - size, 0), (height - size, width - size)]
    five = [*corners, (top, left)]
    return [(y, x, size, size, flip) for flip in (False, True) for y, x in five]


def random_box(
    height: int, width: int, size: int, rng: np.random.Generator, *, flip_p: float = 0.5
) -> Box:
    """A random ``size`` x ``size`` crop box, mirrored with probability ``flip_p``. One draw for
    the whole clip, so every frame gets the same geometry and the motion stays coherent."""
    if size > height or size > width:
        raise InputError(f"crop {size}x{size} does not fit a {height}x{width} frame")
    top, left = int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))
    return top, left, size, size, bool(rng.random() < flip_p)
