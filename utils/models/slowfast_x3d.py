"""SlowFast R50 and X3D XS/S/M: pytorchvideo's hub architectures, loading its model zoo ``.pyth``.

The networks are ``pytorchvideo.models.hub.slowfast_r50`` / ``x3d_xs`` / ``x3d_s`` / ``x3d_m``
built with ``pretrained=False``; the checkpoint's ``model_state`` fits them as it is. The wrappers
only adapt the contract: SlowFast builds its [slow, fast] pathways inside
(:func:`utils.video.sampling.pack_slowfast`, as pytorchvideo's ``PackPathway``), and X3D returns
logits instead of probabilities (below).
Published numbers: pytorchvideo ``docs/source/model_zoo.md``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, cast

import torch
from torch import nn

from utils.models.base import VideoClassifier
from utils.models.kinetics import sorted_kinetics
from utils.models.spec import ModelSpec
from utils.video.presets import get_preset
from utils.video.sampling import pack_slowfast

with warnings.catch_warnings():
    # fvcore, imported by pytorchvideo, calls torch.jit.script at import (a FutureWarning of
    # recent torch that students can do nothing about).
    warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", FutureWarning)
    from pytorchvideo.models import hub

_ROOT = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/"
_SOURCE = "facebookresearch/pytorchvideo, docs/source/model_zoo.md (Kinetics-400)"
_LICENCE = "Apache-2.0 (facebookresearch/pytorchvideo)"
_PROTOCOL = "10 clips x 3 crops"


def _positions_mean(x: torch.Tensor) -> torch.Tensor:
    """(N, D, t, h, w) -> (N, D): the global average the heads apply at test time."""
    return x.mean(dim=(2, 3, 4))


class _HubModel(VideoClassifier):
    """A pytorchvideo hub network (``net``, whose ``state_dict`` is the checkpoint's
    ``model_state``), made of ``net.blocks``: stem, stages, then the head."""

    def __init__(self, spec: ModelSpec, net: nn.Module) -> None:
        super().__init__(spec)
        self.net = net

    @property
    def checkpoint_module(self) -> nn.Module:
        return self.net

    @property
    def blocks(self) -> nn.ModuleList:
        return cast(nn.ModuleList, self.net.blocks)

    @property
    def head(self) -> Any:
        """The hub's ``ResNetBasicHead`` (pool, dropout, proj, activation, output_pool)."""
        return self.blocks[-1]


class SlowFast(_HubModel):
    """SlowFast R50 8x8 taking the 32-frame fast clip; the slow pathway is made inside."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec, hub.slowfast_r50(pretrained=False))
        assert spec.preset.alpha is not None
        self.alpha = spec.preset.alpha

    def _pathways(self, x: torch.Tensor) -> list[torch.Tensor]:
        self.check_input(x)
        return pack_slowfast(x, self.alpha)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Both pathways pooled and concatenated (2048 slow + 256 fast = 2304)."""
        h: torch.Tensor | list[torch.Tensor] = self._pathways(x)
        for block in self.blocks[:-1]:
            h = block(h)
        assert isinstance(h, torch.Tensor)
        return _positions_mean(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The hub head has no activation: its output already is the logits averaged over the
        # positions of the pooled map.
        return self.net(self._pathways(x))


class X3D(_HubModel):
    """X3D with logits out.

    The hub head ends with a softmax per position of its pooled map, then the average over
    positions (one position at the training crop, 2x2 at the larger test crops of the presets).
    ``forward`` returns ``log`` of that averaged probability vector, so ``softmax(model(x))`` is
    exactly the official output at every input size; at one position these logits are the
    official pre-softmax logits minus their logsumexp.
    """

    def _pooled_map(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 2048, t, h, w): the head's projected pool (conv 432, pool, conv 2048, ReLU)."""
        self.check_input(x)
        for block in self.blocks[:-1]:
            x = block(x)
        return self.head.dropout(self.head.pool(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 2048-d output of the head's post-conv, averaged over positions."""
        return _positions_mean(self._pooled_map(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        positions = self._pooled_map(x).flatten(2).transpose(1, 2)  # (N, positions, 2048)
        logits = self.head.proj(positions)
        log_probs = torch.log_softmax(logits, dim=-1)
        return torch.logsumexp(log_probs, dim=1) - math.log(log_probs.shape[1])


def _spec(
    name: str,
    filename: str,
    top1: float,
    top5: float,
    gflops: float,
    params_m: float,
    embed_dim: int,
) -> ModelSpec:
    return ModelSpec(
        name=name,
        url=_ROOT + filename,
        filename=filename,
        format="pytorchvideo",
        sha256=None,
        preset=get_preset(name),
        categories=sorted_kinetics(),
        metrics={"top1": top1, "top5": top5, "protocol": _PROTOCOL},
        params_m=params_m,
        gflops=gflops,
        embed_dim=embed_dim,
        source=_SOURCE,
        licence=_LICENCE,
    )


SLOWFAST_R50 = _spec("slowfast_r50", "SLOWFAST_8x8_R50.pyth", 76.94, 92.69, 65.71, 34.57, 2304)
X3D_XS = _spec("x3d_xs", "X3D_XS.pyth", 69.12, 88.63, 0.91, 3.79, 2048)
X3D_S = _spec("x3d_s", "X3D_S.pyth", 73.33, 91.27, 2.96, 3.79, 2048)
X3D_M = _spec("x3d_m", "X3D_M.pyth", 75.94, 92.72, 6.72, 3.79, 2048)


def slowfast_r50() -> SlowFast:
    """SlowFast R50 8x8 (pytorchvideo hub ``slowfast_r50``)."""
    return SlowFast(SLOWFAST_R50)


def x3d_xs() -> X3D:
    """X3D-XS (hub ``x3d_xs``: head pool sized for 4 frames at 160)."""
    return X3D(X3D_XS, hub.x3d_xs(pretrained=False))


def x3d_s() -> X3D:
    """X3D-S (hub ``x3d_s``: head pool sized for 13 frames at 160)."""
    return X3D(X3D_S, hub.x3d_s(pretrained=False))


def x3d_m() -> X3D:
    """X3D-M (hub ``x3d_m``: head pool sized for 16 frames at 224)."""
    return X3D(X3D_M, hub.x3d_m(pretrained=False))
