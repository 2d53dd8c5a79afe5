"""``tiny3d``: a small randomly initialised 3D conv net for tests, smoke runs and CPU demos.

It has no checkpoint and no published numbers; anything it predicts is noise. It follows the
same contract as the real models (400 Kinetics logits, a pooled embedding), so code written
against the zoo can be exercised in a second on a laptop.
"""

from __future__ import annotations

import torch
from torch import nn

from utils.models.base import VideoClassifier
from utils.models.kinetics import sorted_kinetics
from utils.models.spec import ModelSpec
from utils.video.presets import KINETICS_MEAN, KINETICS_STD, Preset

TINY3D_PRESET = Preset(
    name="tiny3d",
    sampling="dense",
    num_frames=8,
    sampling_rate=4,
    fps=30.0,
    resize=64,
    crop=56,
    mean=KINETICS_MEAN,
    std=KINETICS_STD,
    layout="(N, 3, 8, 56, 56) float32 RGB; random weights, for tests and demos only",
)

_WIDTHS = (16, 32, 64)


def _block(c_in: int, c_out: int, stride: tuple[int, int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


_STRIDES = ((1, 2, 2), (2, 2, 2), (2, 2, 2))


def _param_count() -> float:
    convs = sum(27 * a * b + 2 * b for a, b in zip((3, *_WIDTHS[:-1]), _WIDTHS, strict=True))
    return round((convs + _WIDTHS[-1] * 400 + 400) / 1e6, 3)


def _gmacs(t: int, h: int, w: int) -> float:
    """Multiply-accumulates of one (3, t, h, w) view (convs with padding 1, then the linear)."""
    macs, c_in = 0, 3
    for c_out, stride in zip(_WIDTHS, _STRIDES, strict=True):
        t, h, w = ((n - 1) // s + 1 for n, s in zip((t, h, w), stride, strict=True))
        macs += 27 * c_in * c_out * t * h * w
        c_in = c_out
    return (macs + c_in * 400) / 1e9


TINY3D = ModelSpec(
    name="tiny3d",
    url=None,
    filename=None,
    format=None,
    sha256=None,
    preset=TINY3D_PRESET,
    categories=sorted_kinetics(),
    metrics={"top1": None, "top5": None, "protocol": "none: random weights, never trained"},
    params_m=_param_count(),
    gflops=round(_gmacs(TINY3D_PRESET.num_frames, TINY3D_PRESET.crop, TINY3D_PRESET.crop), 4),
    embed_dim=_WIDTHS[-1],
    source="actionlab (this project): random initialisation, no checkpoint",
    licence="MIT (actionlab)",
)


class Tiny3D(VideoClassifier):
    """Three strided 3x3x3 conv blocks (16, 32, 64 channels), global average pool, linear."""

    def __init__(self, spec: ModelSpec = TINY3D) -> None:
        super().__init__(spec)
        c_in = (3, *_WIDTHS[:-1])
        self.blocks = nn.Sequential(*map(_block, c_in, _WIDTHS, _STRIDES))
        self.fc = nn.Linear(_WIDTHS[-1], len(spec.categories))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.blocks(x).mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def tiny3d() -> Tiny3D:
    """The tiny random 3D conv net (no checkpoint)."""
    return Tiny3D()
