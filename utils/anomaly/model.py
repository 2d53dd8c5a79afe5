"""A compact next-frame predictor: a small 2D U-Net that reads the last ``context`` frames,
stacked as channels, and predicts the next one.

Why this shape: it is the generator of Liu et al. (CVPR 2018, "Future Frame Prediction for
Anomaly Detection -- A New Baseline"; a U-Net over 4 stacked past frames) shrunk to three
levels and tens of thousands of weights, without their GAN and optical-flow losses. Stacking
frames as channels lets the first convolution see motion directly, the skip connections carry
the static background through unchanged (only what moves has to be predicted), and every frame
of a video is predicted in one batched pass, which a ConvLSTM (sequential by construction)
cannot do. A 3D-conv encoder-decoder would cost several times more for 4 input frames.
"""

from __future__ import annotations

import torch
from torch import nn

from utils.errors import InputError


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True), nn.Conv2d(c_out, c_out, 3, padding=1),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class NextFramePredictor(nn.Module):
    """(N, context, H, W) grey frames in [0, 1] -> (N, 1, H, W) predicted next frame.

    H and W must be multiples of 4 (two poolings).
    """

    def __init__(self, context: int = 4, width: int = 16) -> None:
        super().__init__()
        if context < 1 or width < 1:
            raise InputError(f"need context >= 1 and width >= 1, got {context}, {width}")
        self.context = context
        self.width = width
        self.enc1 = _block(context, width)
        self.enc2 = _block(width, 2 * width)
        self.mid = _block(2 * width, 4 * width)
        self.up2 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec2 = _block(4 * width, 2 * width)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec1 = _block(2 * width, width)
        self.out = nn.Conv2d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.context or x.shape[2] % 4 or x.shape[3] % 4:
            raise InputError(f"expected (N, {self.context}, H, W) with H, W multiples of 4, "
                             f"got {tuple(x.shape)}")
        e1 = self.enc1(x)
        e2 = self.enc2(nn.functional.max_pool2d(e1, 2))
        m = self.mid(nn.functional.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        # Predict the change from the last frame: a still scene costs nothing to predict.
        return (x[:, -1:] + self.out(d1)).clamp(0, 1)


def windows(video: torch.Tensor, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All (past ``context`` frames, next frame) pairs of a (T, H, W) video, as
    ((T - context, context, H, W), (T - context, 1, H, W)); views, no copy."""
    if video.shape[0] <= context:
        raise InputError(f"a video of {video.shape[0]} frames has no frame after a context of "
                         f"{context}")
    past = video.unfold(0, context, 1)[:-1].permute(0, 3, 1, 2)
    return past, video[context:, None]
