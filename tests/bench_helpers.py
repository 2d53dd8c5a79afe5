"""Small models, presets and clips shared by the benchmark tests (no zoo model needed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from utils.datasets.synth import ClipSize, write_synthetic_kinetics
from utils.video.presets import get_preset

# A dense preset at a tiny size: 4 frames, every 2nd at 30 fps, short side 32, crop 32.
TINY_PRESET = dataclasses.replace(get_preset("x3d_xs"), name="tiny", num_frames=4,
                                  sampling_rate=2, resize=32, crop=32)
TINY_CLIPS = ClipSize(height=48, width=64, frames=16)


class TwoConv3d(nn.Module):
    """Conv3d 3->4 (3x3x3, pad 1), ReLU, grouped strided Conv3d 4->8 (1x3x3, stride (1,2,2),
    pad (0,1,1), 2 groups), global average pool, Linear 8 -> classes."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv3d(4, 8, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), groups=2)
        self.fc = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(torch.relu(self.conv1(x)))
        return self.fc(x.mean(dim=(2, 3, 4)))


def hand_macs(t: int, h: int, w: int, classes: int = 5) -> int:
    """Multiply-accumulates of TwoConv3d on one (3, t, h, w) clip, counted by hand: each output
    element of a conv costs (in_channels / groups) x kernel volume; the linear layer 8 x classes.
    Biases, ReLU and pooling are not multiply-accumulates."""
    conv1 = (4 * t * h * w) * (3 * 3 * 3 * 3)
    conv2 = (8 * t * (h // 2) * (w // 2)) * ((4 // 2) * 1 * 3 * 3)
    return conv1 + conv2 + 8 * classes


def tiny_kinetics(folder: Path, classes: int = 2, per_class: int = 2) -> Path:
    return write_synthetic_kinetics(folder, classes=classes, clips_per_class=per_class,
                                    size=TINY_CLIPS, progress=False)
