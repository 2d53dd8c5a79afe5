"""The published test-time recipe of each model family, and ``load_clip`` that applies one.

Every preset produces what the project's one forward contract wants: a float32 tensor
(V, C, T, H, W) normalised with the checkpoint's own mean/std, RGB, V = clips x crops. Each
family follows its official evaluation code (``Preset.source`` names the files and functions;
the tests compare ``load_clip`` with independent re-implementations of them on real videos):

| preset | frames | sampling (30 fps video) | resize -> crop | mean / std | views |
|---|---|---|---|---|---|
| slowfast_r50 | 32 | linspace over 64 frames | short 256 -> 256 | 0.45 / 0.225 | 10 x 3 |
| x3d_xs, x3d_s, x3d_m | 4, 13, 16 | linspace over 48, 78, 80 | 182, 182, 256 | as above | 10 x 3 |
| tsn_r50, tsm_r50 | 8 | segment centres | short 256 -> 224 | ImageNet | 1 x 1 |
| r2plus1d_18, r3d_18, mc3_18 | 16 | consecutive at 15 fps | 128x171 -> 112 | torchvision | 5 x 1 |
| s3d | 128 | consecutive at 15 fps | 256x256 -> 224 | torchvision | 1 x 1 |
| mvit_v2_s | 16 | consecutive at 7.5 fps | short 256 -> 224 | 0.45 / 0.225 | 5 x 1 |

(views = clips x crops of the published accuracy, ``published_views``.)

Clips (``num_clips``): PySlowFast spreads K windows with starts ``max(n - window, 0) * i / K``
(one clip starts at frame 0, as the pytorchvideo hub tutorial's ``start_sec = 0``); TSN/TSM take
segment centres, two clips = the official ``twice_sample``, ``protocol="dense"`` = the dense
sampling of the non-local protocol (10 clips); torchvision takes ``UniformClipSampler``'s K
windows of consecutive frames. Crops (``num_crops``): 1 = centre; 3 = PySlowFast's three crops
along the long side, TSN/TSM's three full-resolution 256x256 crops (``GroupFullResSample``);
10 = TSN/TSM's ``GroupOverSample`` (other families: torchvision's ten-crop, not published).

All are (N, 3, T, H, W); SlowFast builds its slow pathway (``pack_slowfast``) inside the model,
TSN/TSM reshape frame-major (N*T, 3, H, W) inside and average the logits over T. Training
(``train=True``) draws the official temporal sampling at random, then the common spatial
augmentation: short side jittered in ``train_short_side``, a random ``train_crop`` crop and a
horizontal flip (p = 0.5); TSM's own multi-scale crop is not reproduced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from utils.errors import InputError
from utils.video import sampling
from utils.video.io import VideoReader

if TYPE_CHECKING:
    import torch

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TORCHVISION_VIDEO_MEAN = (0.43216, 0.394666, 0.37645)
TORCHVISION_VIDEO_STD = (0.22803, 0.22145, 0.216989)

Recipe = Literal["pyslowfast", "tsm", "torchvision"]
PROTOCOLS = ("uniform", "dense")

PYSLOWFAST_SOURCE = (
    "facebookresearch/SlowFast: slowfast/datasets/decoder.py (decode, get_start_end_idx, "
    "temporal_sampling), slowfast/datasets/utils.py (spatial_sampling), "
    "slowfast/datasets/transform.py (random_short_side_scale_jitter, uniform_crop); "
    "checkpoints and configurations from the pytorchvideo model zoo"
)
TSM_SOURCE = (
    "mit-han-lab/temporal-shift-module: ops/dataset.py (TSNDataSet._get_test_indices, "
    "_sample_indices), ops/transforms.py (GroupScale, GroupCenterCrop, GroupFullResSample, "
    "GroupOverSample), test_models.py (--test_crops, --twice_sample, --dense_sample, --full_res)"
)
TORCHVISION_SOURCE = (
    "pytorch/vision: torchvision/transforms/_presets.py (VideoClassification = "
    "Weights.transforms()), torchvision/datasets/video_utils.py (VideoClips), "
    "torchvision/datasets/samplers/clip_sampler.py (UniformClipSampler), "
    "references/video_classification/train.py (frame_rate, clips_per_video)"
)


@dataclass(frozen=True)
class Preset:
    """How one model family turns a video file into its input tensor.

    ``sampling``: "dense" = ``num_frames`` frames over a window of ``num_frames x
    sampling_rate`` frames at ``fps``; "segments" = one frame in each of ``num_frames`` equal
    segments (TSN/TSM). ``resize``: int = short side (aspect kept); (H, W) = exact size.
    ``antialias`` follows the recipe (torchvision's video transforms and PySlowFast use none;
    TSM's PIL resize does). ``recipe`` picks the official rules (None: "tsm" for segments,
    "pyslowfast" for dense); ``source`` cites them; ``published_views`` = (clips, crops) of the
    published accuracy. ``layout`` says what the model expects and what its wrapper does.
    """

    name: str
    sampling: Literal["dense", "segments"]
    num_frames: int
    resize: int | tuple[int, int]
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    layout: str
    sampling_rate: int = 1
    fps: float | None = None
    antialias: bool = False
    alpha: int | None = None
    train_short_side: tuple[int, int] | None = None
    train_crop: int | None = None
    recipe: Recipe | None = None
    source: str = ""
    published_views: tuple[int, int] = (1, 1)

    @property
    def family(self) -> Recipe:
        """The official recipe this preset follows."""
        if self.recipe is not None:
            return self.recipe
        return "tsm" if self.sampling == "segments" else "pyslowfast"

    @property
    def protocol(self) -> str:
        """One line: the published test protocol and where it comes from."""
        clips, crops = self.published_views
        return (
            f"{self.name}: {self.family} recipe, published with {clips} clip(s) x {crops} "
            f"crop(s); source: {self.source or 'not given'}"
        )

    @property
    def window_seconds(self) -> float | None:
        """Length of a dense clip in seconds (None for segment sampling)."""
        if self.sampling == "segments" or self.fps is None:
            return None
        return self.num_frames * self.sampling_rate / self.fps

    def indices(
        self,
        n: int,
        video_fps: float,
        *,
        num_clips: int = 1,
        protocol: str = "uniform",
        train: bool = False,
        rng: np.random.Generator | int | None = None,
    ) -> np.ndarray:
        """(num_clips, T) presentation indices into a video of ``n`` frames at ``video_fps``:
        the official test rule of the family, or its random training rule."""
        if protocol not in PROTOCOLS:
            raise InputError(f"protocol must be one of {', '.join(PROTOCOLS)}; got {protocol!r}")
        family = self.family
        if protocol == "dense" and family != "tsm":
            raise InputError(f"protocol='dense' is TSN/TSM's; {self.name} has only 'uniform'")
        gen = np.random.default_rng(rng)
        t = self.num_frames
        if family == "tsm":
            if train:
                rows = [
                    sampling.segment_train_indices(n, t, gen, dense=protocol == "dense")
                    for _ in range(num_clips)
                ]
                return np.concatenate(rows)
            if protocol == "dense":
                return sampling.dense_segment_indices(n, t, num_clips)
            return sampling.segment_indices(n, t, num_clips)
        if self.fps is None:
            raise InputError(f"preset {self.name}: dense sampling needs fps")
        if family == "torchvision":
            if train:
                rows = [
                    sampling.torchvision_train_indices(n, t, video_fps, self.fps, gen)
                    for _ in range(num_clips)
                ]
                return np.concatenate(rows)
            return sampling.torchvision_indices(n, t, video_fps, self.fps, num_clips=num_clips)
        rate = self.sampling_rate
        if train:
            rows = [
                sampling.pyslowfast_train_indices(n, t, rate, video_fps, gen, target_fps=self.fps)
                for _ in range(num_clips)
            ]
            return np.concatenate(rows)
        return sampling.pyslowfast_indices(
            n, t, rate, video_fps, target_fps=self.fps, num_clips=num_clips
        )

    def resize_size(
        self, height: int, width: int, short_side: int | None = None
    ) -> tuple[int, int]:
        """Output (h, w) of the recipe's resize for a (height, width) frame; ``short_side``
        overrides the test size (training jitter)."""
        from utils.video import transforms as vt

        if short_side is None and not isinstance(self.resize, int):
            return self.resize
        side = short_side if short_side is not None else self.resize
        assert isinstance(side, int)
        if self.family == "pyslowfast":
            return vt.short_side_size_pyslowfast(height, width, side)
        return vt.short_side_size(height, width, side)

    def resize_frames(
        self, frames: list[np.ndarray] | np.ndarray, short_side: int | None = None
    ) -> list[np.ndarray]:
        """(H, W, 3) uint8 frames of one size resized as the recipe does (bilinear; antialiased
        for TSN/TSM's PIL resize), still uint8."""
        from utils.video import transforms as vt

        if not len(frames):
            return []
        h, w = frames[0].shape[:2]
        size = self.resize_size(h, w, short_side)
        return vt.resize_frames(frames, size, antialias=self.antialias)

    def train_side(self, rng: np.random.Generator) -> int | None:
        """The training short side, drawn once per clip as PySlowFast's scale jitter does
        (``int(round(uniform(min, max)))``); None when the preset does not jitter."""
        if self.train_short_side is None:
            return None
        lo, hi = self.train_short_side
        return round(rng.uniform(lo, hi))

    def views(
        self,
        frames: Sequence[np.ndarray] | np.ndarray,
        *,
        train: bool = False,
        num_crops: int = 1,
        rng: np.random.Generator | None = None,
    ) -> torch.Tensor:
        """Already resized (h, w, 3) uint8 frames of one clip -> (num_crops, 3, T, c, c)
        float32, normalised: the recipe's test crops, or one random crop (and flip) when
        training."""
        from utils.video import transforms as vt

        if not len(frames):
            raise InputError(f"{self.name}: no frames to crop")
        h, w = frames[0].shape[:2]
        if train:
            if num_crops != 1:
                raise InputError(f"training takes one random crop, got num_crops={num_crops}")
            gen = np.random.default_rng(rng)
            boxes = [vt.random_box(h, w, self.train_crop or self.crop, gen)]
        else:
            size = self.crop
            if self.family == "tsm" and num_crops == 3:  # full resolution: the short side
                size = min(h, w)
            boxes = vt.crop_boxes(h, w, size, num_crops, self.family)
        return vt.normalized_views(frames, boxes, self.mean, self.std)

    def transform(
        self,
        frames: np.ndarray,
        *,
        train: bool = False,
        num_crops: int = 1,
        rng: np.random.Generator | int | None = None,
    ) -> torch.Tensor:
        """(T, H, W, 3) uint8 RGB frames -> (num_crops, 3, T, crop, crop) float32, normalised
        (frames resized in batches of ``BATCH``, then cropped, as ``load_clip`` does while
        decoding)."""
        from utils.video.io import BATCH

        gen = np.random.default_rng(rng)
        side = self.train_side(gen) if train else None
        frames = np.asarray(frames)
        resized = [
            f for i in range(0, len(frames), BATCH)
            for f in self.resize_frames(frames[i : i + BATCH], side)
        ]
        return self.views(resized, train=train, num_crops=num_crops, rng=gen)


def _pyslowfast(
    name: str,
    frames: int,
    rate: int,
    side: int,
    train: tuple[int, int],
    train_crop: int,
    note: str,
    alpha: int | None = None,
) -> Preset:
    return Preset(
        name=name,
        sampling="dense",
        num_frames=frames,
        sampling_rate=rate,
        fps=30.0,
        resize=side,
        crop=side,
        mean=KINETICS_MEAN,
        std=KINETICS_STD,
        alpha=alpha,
        train_short_side=train,
        train_crop=train_crop,
        recipe="pyslowfast",
        source=PYSLOWFAST_SOURCE,
        published_views=(10, 3),
        layout=f"(N, 3, {frames}, {side}, {side}) float32 RGB; {note}",
    )


def _segments(name: str, note: str) -> Preset:
    return Preset(
        name=name,
        sampling="segments",
        num_frames=8,
        resize=256,
        crop=224,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        antialias=True,
        train_short_side=(256, 320),
        recipe="tsm",
        source=TSM_SOURCE,
        published_views=(1, 1),
        layout=f"(N, 3, 8, 224, 224) float32 RGB (256 x 256 with 3 crops); {note}",
    )


def _torchvision(
    name: str,
    frames: int,
    fps: float,
    resize: int | tuple[int, int],
    crop: int,
    clips: int,
    mean: tuple[float, float, float] = TORCHVISION_VIDEO_MEAN,
    std: tuple[float, float, float] = TORCHVISION_VIDEO_STD,
) -> Preset:
    return Preset(
        name=name,
        sampling="dense",
        num_frames=frames,
        sampling_rate=1,
        fps=fps,
        resize=resize,
        crop=crop,
        mean=mean,
        std=std,
        recipe="torchvision",
        source=TORCHVISION_SOURCE,
        published_views=(clips, 1),
        layout=f"(N, 3, {frames}, {crop}, {crop}) float32 RGB, as torchvision's video models",
    )


_FRAME_MAJOR = (
    "the wrapper reshapes frame-major to (N*8, 3, H, W) and averages the logits over the 8 frames"
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _pyslowfast(
            "slowfast_r50",
            32,
            2,
            256,
            (256, 320),
            224,
            "the model builds the slow pathway (8 frames, pack_slowfast alpha=4)",
            alpha=4,
        ),
        _pyslowfast("x3d_xs", 4, 12, 182, (182, 228), 160, "single pathway"),
        _pyslowfast("x3d_s", 13, 6, 182, (182, 228), 160, "single pathway"),
        _pyslowfast("x3d_m", 16, 5, 256, (256, 320), 224, "single pathway"),
        _segments("tsn_r50", _FRAME_MAJOR),
        _segments("tsm_r50", _FRAME_MAJOR + "; the temporal shift needs exactly 8 frames"),
        _torchvision("r2plus1d_18", 16, 15.0, (128, 171), 112, 5),
        _torchvision("r3d_18", 16, 15.0, (128, 171), 112, 5),
        _torchvision("mc3_18", 16, 15.0, (128, 171), 112, 5),
        _torchvision("s3d", 128, 15.0, (256, 256), 224, 1),
        _torchvision("mvit_v2_s", 16, 7.5, 256, 224, 5, KINETICS_MEAN, KINETICS_STD),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an InputError lists the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown preset {name!r}; valid: {', '.join(PRESETS)}") from None


def load_clip(
    path: str | Path,
    preset: Preset,
    *,
    train: bool = False,
    num_clips: int = 1,
    num_crops: int = 1,
    rng: np.random.Generator | int | None = None,
    protocol: str = "uniform",
) -> torch.Tensor:
    """Decode and prepare one video for ``preset``: (V, C, T, H, W) float32, V = clips x crops,
    clip-major (view ``v`` is clip ``v // num_crops``, crop ``v % num_crops``).

    Indices come from the true frame count (``VideoReader``); only the frames they name are
    decoded, each resized right after its RGB conversion, so full-size frames are never kept.
    ``protocol="dense"`` selects TSN/TSM's dense sampling. ``rng`` seeds the training
    randomness.
    """
    import torch

    gen = np.random.default_rng(rng)
    with VideoReader(path) as video:
        fps = video.info.fps or preset.fps or 30.0
        index = preset.indices(
            video.num_frames, fps, num_clips=num_clips, protocol=protocol, train=train, rng=gen
        )
        side = preset.train_side(gen) if train else None
        frames = video.read(index.ravel(), lambda batch: preset.resize_frames(batch, side))
    t = preset.num_frames
    views = [
        preset.views(frames[i * t : (i + 1) * t], train=train, num_crops=num_crops, rng=gen)
        for i in range(num_clips)
    ]
    return views[0] if len(views) == 1 else torch.cat(views)
