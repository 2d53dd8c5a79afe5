"""The published input recipe of each model family, and ``load_clip`` that applies one.

Every preset produces what the project's one forward contract wants: a float32 tensor
(V, C, T, H, W) normalised with the checkpoint's own mean/std, RGB. Sources: pytorchvideo's model
zoo (SlowFast, X3D), the official TSM code (TSN, TSM) and torchvision's ``Weights.transforms()``
and docs metadata (r2plus1d_18, r3d_18, mc3_18, s3d, mvit_v2_s).

Test-time input of one view (``Preset.layout`` says the same per preset):

| preset | frames | sampling | resize -> crop | mean / std |
|---|---|---|---|---|
| slowfast_r50 | 32 | every 2nd at 30 fps (2.13 s) | short 256 -> 256 | 0.45 / 0.225 |
| x3d_xs, x3d_s, x3d_m | 4, 13, 16 | every 12, 6, 5 at 30 fps | 182, 182, 256 | 0.45 / 0.225 |
| tsn_r50, tsm_r50 | 8 | segment centres | short 256 -> 224 | ImageNet |
| r2plus1d_18, r3d_18, mc3_18 | 16 | consecutive at 15 fps | 128x171 -> 112 | Kinetics (tv) |
| s3d | 128 | consecutive at 15 fps | 256x256 -> 224 | Kinetics (tv) |
| mvit_v2_s | 16 | consecutive at 7.5 fps | short 256 -> 224 | 0.45 / 0.225 |

All are (N, 3, T, H, W); SlowFast builds its slow pathway (``pack_slowfast``) inside the model,
TSN/TSM reshape frame-major (N*T, 3, H, W) inside and average the logits over T.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from utils.errors import InputError
from utils.video.io import probe, read_frames
from utils.video.sampling import clip_times, multi_segment_times, segment_times

if TYPE_CHECKING:
    import torch

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TORCHVISION_VIDEO_MEAN = (0.43216, 0.394666, 0.37645)
TORCHVISION_VIDEO_STD = (0.22803, 0.22145, 0.216989)


@dataclass(frozen=True)
class Preset:
    """How one model family turns a video file into its input tensor.

    ``sampling``: "dense" = ``num_frames`` frames ``sampling_rate`` apart at ``fps``;
    "segments" = one frame in each of ``num_frames`` equal segments (TSN/TSM).
    ``resize``: int = short side (aspect kept); (H, W) = exact size. ``antialias`` follows the
    recipe (torchvision's video transforms and pytorchvideo's ShortSideScale use none; TSM's PIL
    resize does). Training: short side jittered in ``train_short_side`` (None: the test resize),
    then a random ``train_crop`` crop and a horizontal flip (p = 0.5).
    ``layout`` says what the model expects and what its wrapper does with it.
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

    @property
    def window_seconds(self) -> float | None:
        """Length of a dense clip in seconds (None for segment sampling)."""
        if self.sampling == "segments" or self.fps is None:
            return None
        return self.num_frames * self.sampling_rate / self.fps

    def times(
        self,
        duration: float,
        *,
        train: bool = False,
        num_clips: int = 1,
        rng: np.random.Generator | int | None = None,
    ) -> np.ndarray:
        """(num_clips, T) times in seconds: random clips when training, else spread evenly."""
        if self.sampling == "segments":
            if train:
                gen = np.random.default_rng(rng)
                rows = [
                    segment_times(duration, self.num_frames, train=True, rng=gen)
                    for _ in range(num_clips)
                ]
                return np.stack(rows)
            return multi_segment_times(duration, self.num_frames, num_clips)
        start = "random" if train else ("center" if num_clips == 1 else "uniform")
        assert self.fps is not None  # dense presets always set it
        return clip_times(
            duration,
            self.num_frames,
            self.sampling_rate,
            self.fps,
            start=start,
            num_clips=num_clips,
            rng=rng,
        )

    def decode_size(self, *, train: bool = False) -> dict[str, object]:
        """``read_frames`` resize arguments: decode straight to the size the transform needs
        (the largest jitter size when training, so jitter only ever shrinks)."""
        if train and self.train_short_side is not None:
            return {"short_side": self.train_short_side[1]}
        if isinstance(self.resize, int):
            return {"short_side": self.resize}
        return {"size": self.resize}

    def transform(
        self,
        frames: np.ndarray,
        *,
        train: bool = False,
        num_crops: int = 1,
        rng: np.random.Generator | int | None = None,
    ) -> torch.Tensor:
        """(T, H, W, 3) uint8 RGB frames -> (num_crops, 3, T, crop, crop) float32, normalised."""
        from utils.video import transforms as vt

        x = vt.to_tchw(frames)
        if train:
            if num_crops != 1:
                raise InputError(f"training takes one random crop, got num_crops={num_crops}")
            gen = np.random.default_rng(rng)
            if self.train_short_side is not None:
                x = vt.random_short_side_resize(
                    x, self.train_short_side, gen, antialias=self.antialias
                )
            else:
                x = self._resize(x)
            x = vt.random_crop_flip(x, self.train_crop or self.crop, gen).unsqueeze(0)
        else:
            x = vt.multi_crop(self._resize(x), self.crop, num_crops)
        return vt.normalize(vt.to_float_cthw(x), self.mean, self.std, inplace=True)

    def _resize(self, x: torch.Tensor) -> torch.Tensor:
        from utils.video import transforms as vt

        if isinstance(self.resize, int):
            return vt.short_side_resize(x, self.resize, antialias=self.antialias)
        return vt.resize(x, self.resize, antialias=self.antialias)


def _pytorchvideo(
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
        layout=f"(N, 3, 8, 224, 224) float32 RGB; {note}",
    )


def _torchvision(
    name: str,
    frames: int,
    fps: float,
    resize: int | tuple[int, int],
    crop: int,
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
        layout=f"(N, 3, {frames}, {crop}, {crop}) float32 RGB, as torchvision's video models",
    )


_FRAME_MAJOR = (
    "the wrapper reshapes frame-major to (N*8, 3, 224, 224) and averages the logits "
    "over the 8 frames"
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _pytorchvideo(
            "slowfast_r50",
            32,
            2,
            256,
            (256, 320),
            224,
            "the model builds the slow pathway (8 frames, pack_slowfast alpha=4)",
            alpha=4,
        ),
        _pytorchvideo("x3d_xs", 4, 12, 182, (182, 228), 160, "single pathway"),
        _pytorchvideo("x3d_s", 13, 6, 182, (182, 228), 160, "single pathway"),
        _pytorchvideo("x3d_m", 16, 5, 256, (256, 320), 224, "single pathway"),
        _segments("tsn_r50", _FRAME_MAJOR),
        _segments("tsm_r50", _FRAME_MAJOR + "; the temporal shift needs exactly 8 frames"),
        _torchvision("r2plus1d_18", 16, 15.0, (128, 171), 112),
        _torchvision("r3d_18", 16, 15.0, (128, 171), 112),
        _torchvision("mc3_18", 16, 15.0, (128, 171), 112),
        _torchvision("s3d", 128, 15.0, (256, 256), 224),
        _torchvision("mvit_v2_s", 16, 7.5, 256, 224, KINETICS_MEAN, KINETICS_STD),
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
) -> torch.Tensor:
    """Decode and prepare one video for ``preset``: (V, C, T, H, W) float32, V = clips x crops,
    clip-major (view ``v`` is clip ``v // num_crops``, crop ``v % num_crops``).

    All views come from one decoding pass that decodes only the frames they need, resized to
    the preset's size right after the RGB conversion (OpenCV: linear when enlarging, area when
    shrinking; within a few grey levels of resizing the full frames in torch, see the tests).
    ``rng`` seeds the training randomness.
    """
    import torch

    gen = np.random.default_rng(rng)
    info = probe(path)
    times = preset.times(info.duration, train=train, num_clips=num_clips, rng=gen)
    frames = read_frames(path, times.ravel(), **preset.decode_size(train=train))
    frames = frames.reshape(num_clips, preset.num_frames, *frames.shape[1:])
    views = [preset.transform(clip, train=train, num_crops=num_crops, rng=gen) for clip in frames]
    return views[0] if len(views) == 1 else torch.cat(views)
