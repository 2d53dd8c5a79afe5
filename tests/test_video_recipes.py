"""load_clip against each family's official test pipeline, re-implemented here independently.

Temporal rules (which frames): on videos whose frames encode their own index as a flat colour,
for n = 75, 128, 256, 300, 320 frames (and one 25 fps video), every preset and protocol.
Spatial rules (resize, crops, normalisation): on real H.264 mp4 files of textured moving
content at 1280x720 and 320x240; the official pipeline runs on ALL frames decoded sequentially
with PyAV, and every view of every protocol must agree with ``load_clip`` within 2 grey levels.

References (facts from the official code, re-written here):
- TSN/TSM: mit-han-lab/temporal-shift-module ``ops/dataset.py`` ``_get_test_indices`` and
  ``ops/transforms.py`` ``GroupScale`` (torchvision ``Resize`` on PIL images),
  ``GroupCenterCrop``, ``GroupFullResSample``, ``GroupOverSample``.
- SlowFast/X3D: facebookresearch/SlowFast ``slowfast/datasets/decoder.py`` ``decode``,
  ``get_start_end_idx``, ``temporal_sampling``; ``utils.py`` ``tensor_normalize``,
  ``spatial_sampling``; ``transform.py`` ``random_short_side_scale_jitter``, ``uniform_crop``.
- torchvision: ``Weights.transforms()`` itself, and torchvision's own
  ``VideoClips.compute_clips_for_video`` and ``UniformClipSampler``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torchvision.datasets.samplers import UniformClipSampler
from torchvision.datasets.video_utils import VideoClips

from utils.errors import InputError
from utils.video.io import write_video
from utils.video.presets import PRESETS, Preset, get_preset, load_clip

# ---------------------------------------------------------------- official temporal rules


def official_tsm(n: int, t: int, mode: str) -> list[list[int]]:
    """``TSNDataSet._get_test_indices`` with new_length 1, minus the 1-based offset."""
    if mode == "dense":
        sample_pos = max(1, 1 + n - 64)
        t_stride = 64 // t
        starts = np.linspace(0, sample_pos - 1, num=10, dtype=int)
        return [[(i * t_stride + int(s)) % n for i in range(t)] for s in starts]
    tick = (n - 1 + 1) / float(t)
    centres = [int(tick / 2.0 + tick * x) for x in range(t)]
    if mode == "twice":
        return [centres, [int(tick * x) for x in range(t)]]
    return [centres]


def official_pyslowfast(
    n: int, t: int, rate: int, fps: float, clips: int, target_fps: float = 30.0
) -> list[list[int]]:
    """``decode`` on a fully decoded video: clip size ``max(1, rate * t / target * fps)``,
    ``get_start_end_idx`` (no offset), then ``temporal_sampling``'s float32 linspace."""
    clip_size = max(1.0, rate * t / target_fps * fps)
    delta = max(n - clip_size, 0)
    out = []
    for i in range(clips):
        start = delta * i / clips
        end = start + clip_size - 1
        index = torch.linspace(start, end, t)
        out.append(torch.clamp(index, 0, n - 1).long().tolist())
    return out


def official_torchvision(n: int, t: int, fps: float, frame_rate: float, clips: int
                         ) -> list[list[int]]:
    """torchvision's own code: frame indices as pts, clips of ``t`` resampled frames with step
    1, then the clips ``UniformClipSampler`` picks."""
    pts = torch.arange(n)
    windows, _ = VideoClips.compute_clips_for_video(pts, t, 1, fps, frame_rate)
    if not len(windows):  # torchvision skips such a video; load_clip repeats the last frame
        total = math.floor(n * frame_rate / fps)
        kept = pts[VideoClips._resample_video_idx(total, fps, frame_rate)]
        return [kept[torch.clamp(torch.arange(t), max=len(kept) - 1)].tolist()] * clips
    fake = VideoClips.__new__(VideoClips)
    fake.clips = [windows]
    picked = list(UniformClipSampler(fake, clips))
    return [windows[c].tolist() for c in picked]


def official_indices(preset: Preset, n: int, fps: float, clips: int, mode: str
                     ) -> list[list[int]]:
    if preset.family == "tsm":
        return official_tsm(n, preset.num_frames, mode)
    assert preset.fps is not None
    if preset.family == "torchvision":
        return official_torchvision(n, preset.num_frames, fps, preset.fps, clips)
    return official_pyslowfast(n, preset.num_frames, preset.sampling_rate, fps, clips)


# ---------------------------------------------------------------- videos that say which frame


def coded_frames(n: int, size: int = 32) -> np.ndarray:
    """Frame k is flat: red = 8 * (k % 32), green = 20 * (k // 32), blue 128 (n <= 320)."""
    k = np.arange(n)
    colour = np.stack([8 * (k % 32), 20 * (k // 32), np.full(n, 128)], 1).astype(np.uint8)
    return np.broadcast_to(colour[:, None, None, :], (n, size, size, 3)).copy()


def frame_numbers(views: torch.Tensor, preset: Preset) -> list[list[int]]:
    """Frame index of every (view, frame) of a (V, C, T, H, W) clip of flat frames."""
    mean = torch.tensor(preset.mean).view(1, 3, 1)
    std = torch.tensor(preset.std).view(1, 3, 1)
    rgb = (views.mean(dim=(-1, -2)) * std + mean) * 255  # (V, 3, T)
    red, green = torch.round(rgb[:, 0] / 8), torch.round(rgb[:, 1] / 20)
    return (red + 32 * green).long().tolist()


CODED = [(75, 30), (128, 30), (256, 30), (300, 30), (320, 30), (300, 25)]


@pytest.fixture(scope="module")
def coded_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, int], Path]:
    folder = tmp_path_factory.mktemp("coded")
    return {
        (n, fps): write_video(folder / f"n{n}_{fps}.mp4", coded_frames(n), fps, preset="veryfast")
        for n, fps in CODED
    }


def small(preset: Preset) -> Preset:
    """The same temporal recipe with tiny frames (the index test does not need 256 pixels)."""
    resize = (16, 16) if isinstance(preset.resize, tuple) else 16
    return dataclasses.replace(preset, resize=resize, crop=16)


def protocols(preset: Preset) -> list[tuple[int, str]]:
    if preset.family == "tsm":
        return [(1, "uniform"), (2, "twice"), (10, "dense")]
    return [(1, "uniform"), (10, "uniform")]


@pytest.mark.filterwarnings("ignore:There aren't enough frames")
@pytest.mark.parametrize("name", list(PRESETS))
def test_frame_indices_follow_the_official_rule(
    coded_videos: dict[tuple[int, int], Path], name: str
) -> None:
    preset = small(get_preset(name))
    for (n, fps), path in coded_videos.items():
        for clips, mode in protocols(preset):
            views = load_clip(
                path, preset, num_clips=clips, protocol="dense" if mode == "dense" else "uniform"
            )
            expected = official_indices(preset, n, fps, clips, mode)
            assert frame_numbers(views, preset) == expected, (name, n, fps, clips, mode)


def test_hand_computed_indices(coded_videos: dict[tuple[int, int], Path]) -> None:
    """A few rules worked out by hand, so the references above are checked too."""
    path = coded_videos[(300, 30)]
    x3d = small(get_preset("x3d_xs"))  # 4 frames over 48: linspace(0, 47, 4) = 0, 15.7, 31.3, 47
    assert frame_numbers(load_clip(path, x3d), x3d) == [[0, 15, 31, 47]]
    tsm = small(get_preset("tsm_r50"))  # tick 37.5: centres 18, 56, ...; starts 0, 37, 75, ...
    assert frame_numbers(load_clip(path, tsm, num_clips=2), tsm) == [
        [18, 56, 93, 131, 168, 206, 243, 281],
        [0, 37, 75, 112, 150, 187, 225, 262],
    ]
    r2 = small(get_preset("r2plus1d_18"))  # 15 of 30 fps: every 2nd frame, first window
    assert frame_numbers(load_clip(path, r2), r2) == [list(range(0, 32, 2))]
    n128 = coded_videos[(128, 30)]  # the old duration-based rule read 127 / 8 segments 1 early
    assert frame_numbers(load_clip(n128, tsm), tsm) == [[8, 24, 40, 56, 72, 88, 104, 120]]


def test_protocol_names_are_checked() -> None:
    with pytest.raises(InputError, match="protocol must be one of"):
        get_preset("tsm_r50").indices(300, 30.0, protocol="twice_sample")
    with pytest.raises(InputError, match=r"dense.*TSN/TSM"):
        get_preset("slowfast_r50").indices(300, 30.0, protocol="dense")


# ---------------------------------------------------------------- official spatial pipelines
# Each official pipeline treats frames one by one up to the crop (PySlowFast interpolates a
# (C, T, H, W) clip with T as channels, TSM maps over PIL images, torchvision resizes a batch of
# frames), so every frame is resized once here and the clips are assembled from the cache.


def pyslowfast_resize(frame: np.ndarray, preset: Preset) -> torch.Tensor:
    """``tensor_normalize`` (float, /255, mean/std), then the short side scaled to the test
    size with bilinear ``interpolate`` (no antialias; long side ``floor(long / short *
    size)``, ``random_short_side_scale_jitter`` with min = max). (C, H, W)."""
    x = torch.from_numpy(frame).float() / 255.0
    x = ((x - torch.tensor(preset.mean)) / torch.tensor(preset.std)).permute(2, 0, 1)
    side = preset.resize
    assert isinstance(side, int)
    h, w = x.shape[-2:]
    if min(h, w) == side:
        return x
    new = (side, math.floor(w / h * side)) if h <= w else (math.floor(h / w * side), side)
    return torch.nn.functional.interpolate(
        x[None], size=new, mode="bilinear", align_corners=False
    )[0]


def pyslowfast_crops(clip: torch.Tensor, preset: Preset, num_crops: int) -> torch.Tensor:
    """``uniform_crop`` of a (C, T, H, W) clip: ceil centre; spatial_idx 0 / 2 = start / end
    of the long side; 1 crop = spatial_idx 1. (V, C, T, crop, crop)."""
    size = preset.crop
    h, w = clip.shape[-2:]
    views = []
    for spatial in [1] if num_crops == 1 else [0, 1, 2]:
        top, left = math.ceil((h - size) / 2), math.ceil((w - size) / 2)
        if spatial != 1:
            if h > w:
                top = 0 if spatial == 0 else h - size
            else:
                left = 0 if spatial == 0 else w - size
        views.append(clip[..., top : top + size, left : left + size])
    return torch.stack(views)


def tsm_resize(frame: np.ndarray, preset: Preset) -> Image.Image:
    """``GroupScale(256)``: torchvision ``Resize(256)`` on a PIL image (Pillow bilinear)."""
    return torchvision.transforms.Resize(256)(Image.fromarray(frame))


def tsm_crops(images: list[Image.Image], preset: Preset, num_crops: int) -> torch.Tensor:
    """``GroupCenterCrop(224)`` (1), ``GroupFullResSample(256, 256, flip=False)`` (3, with
    ``--full_res``) or ``GroupOverSample(224, 256)`` (10: the 5 fixed offsets, each followed by
    its mirror), then ``ToTorchFormatTensor`` and ``GroupNormalize``. (V, C, T, h, w)."""
    width, height = images[0].size
    groups: list[list[Image.Image]]
    if num_crops == 1:
        centre = torchvision.transforms.CenterCrop(224)
        groups = [[centre(im) for im in images]]
    else:
        size = 256 if num_crops == 3 else 224
        ws, hs = (width - size) // 4, (height - size) // 4
        if num_crops == 3:
            offsets = [(0, 2 * hs), (4 * ws, 2 * hs), (2 * ws, 2 * hs)]
        else:
            offsets = [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs)]
        groups = []
        for x, y in offsets:
            crops = [im.crop((x, y, x + size, y + size)) for im in images]
            groups.append(crops)
            if num_crops == 10:
                groups.append([c.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for c in crops])
    mean = torch.tensor(preset.mean).view(3, 1, 1, 1)
    std = torch.tensor(preset.std).view(3, 1, 1, 1)
    views = []
    for group in groups:
        x = torch.from_numpy(np.stack([np.asarray(im) for im in group])).permute(3, 0, 1, 2)
        views.append((x.float() / 255 - mean) / std)
    return torch.stack(views)


def torchvision_frame(frame: np.ndarray, preset: Preset) -> torch.Tensor:
    """``Weights.transforms()`` itself on one frame: (C, 1, crop, crop)."""
    transform = torchvision.models.get_model_weights(preset.name).DEFAULT.transforms()
    return transform(torch.from_numpy(frame).permute(2, 0, 1)[None])


class Official:
    """The official pipeline of ``preset`` on decoded frames, each frame resized once."""

    def __init__(self, preset: Preset, frames: dict[int, np.ndarray]) -> None:
        self.preset, self.frames, self.cache = preset, frames, {}

    def _resized(self, k: int) -> object:
        if k not in self.cache:
            step = {"tsm": tsm_resize, "torchvision": torchvision_frame}.get(
                self.preset.family, pyslowfast_resize
            )
            self.cache[k] = step(self.frames[k], self.preset)
        return self.cache[k]

    def views(self, row: list[int], num_crops: int) -> torch.Tensor:
        resized = [self._resized(k) for k in row]
        if self.preset.family == "tsm":
            return tsm_crops(resized, self.preset, num_crops)
        if self.preset.family == "torchvision":
            return torch.cat(resized, dim=1)[None]
        return pyslowfast_crops(torch.stack(resized, dim=1), self.preset, num_crops)


def textured_frames(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth random texture (bicubic-enlarged noise) sliding 3 px right and 1 px down per
    frame: detail at every scale, so a one-pixel crop shift or a wrong filter shows."""
    import cv2

    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, (height // 6 + n, width // 6 + n, 3), dtype=np.uint8)
    big = cv2.resize(cells, None, fx=6, fy=6, interpolation=cv2.INTER_CUBIC)
    return np.stack([big[i : i + height, 3 * i : 3 * i + width] for i in range(n)])


# 130 frames at 15 fps: s3d's 128-frame clip fits without resampling (the resampling rules at
# 25 and 30 fps are covered by the index tests above).
VIDEOS = {"320x240": (240, 320, 130, 15), "1280x720": (720, 1280, 130, 15)}


@pytest.fixture(scope="module")
def textured_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("textured")
    paths = {}
    for label, (h, w, n, fps) in VIDEOS.items():
        frames = textured_frames(n, h, w)
        paths[label] = write_video(folder / f"{label}.mp4", frames, fps, preset="veryfast")
        del frames
    return paths


def decode_all(path: Path, keep: set[int]) -> tuple[int, dict[int, np.ndarray]]:
    """Every frame, sequentially, with PyAV (as PySlowFast's decoder and torchvision's
    ``read_video`` do); only the frames in ``keep`` are stored. Returns (n, frames)."""
    kept = {}
    with av.open(str(path)) as container:
        decoded = sorted(container.decode(video=0), key=lambda f: f.pts)
        n = len(decoded)
        for k, frame in enumerate(decoded):
            if k in keep:
                kept[k] = frame.to_ndarray(format="rgb24")
    return n, kept


def spatial_protocols(preset: Preset) -> list[tuple[int, int, str]]:
    """(clips, crops, protocol) of every test protocol of the family."""
    if preset.family == "tsm":
        return [(1, 1, "uniform"), (1, 10, "uniform"), (2, 3, "uniform"), (10, 3, "dense")]
    if preset.family == "torchvision":
        return [(1, 1, "uniform"), (max(preset.published_views[0], 3), 1, "uniform")]
    return [(1, 1, "uniform"), (10, 3, "uniform")]


@pytest.mark.slow
@pytest.mark.parametrize("video", list(VIDEOS))
@pytest.mark.parametrize("name", list(PRESETS))
def test_load_clip_equals_the_official_pipeline(
    textured_videos: dict[str, Path], name: str, video: str
) -> None:
    preset = get_preset(name)
    path = textured_videos[video]
    _, _, n, fps = VIDEOS[video]
    plans = []
    for clips, crops, protocol in spatial_protocols(preset):
        mode = "dense" if protocol == "dense" else ("twice" if clips == 2 else "uniform")
        plans.append((clips, crops, protocol, official_indices(preset, n, fps, clips, mode)))
    decoded_n, frames = decode_all(path, {k for *_, rows in plans for row in rows for k in row})
    assert decoded_n == n
    official = Official(preset, frames)
    std = torch.tensor(preset.std).view(3, 1, 1, 1) * 255
    for clips, crops, protocol, rows in plans:
        ours = load_clip(path, preset, num_clips=clips, num_crops=crops, protocol=protocol)
        assert ours.shape[0] == clips * crops
        for c, row in enumerate(rows):
            theirs = official.views(row, crops)
            mine = ours[c * crops : (c + 1) * crops]
            assert mine.shape == theirs.shape, (protocol, clips, crops)
            grey = ((mine - theirs).abs() * std).amax(dim=(0, 2, 3, 4))
            assert grey.max() <= 2.0, (name, video, clips, crops, protocol, c, grey.tolist())
        del ours
