"""torchvision's Kinetics-400 video models: r2plus1d_18, r3d_18, mc3_18, s3d, mvit_v2_s.

The network is torchvision's own builder (``weights=None``); the checkpoint is the plain state
dict behind ``Weights.KINETICS400_V1.url``. Categories, metrics, params and GFLOPs are read from
that ``Weights.meta``, so they cannot drift from torchvision. ``forward`` is torchvision's forward
unchanged; ``features`` is the input of the classifier, averaged over positions where the
classifier is a 1x1x1 conv (s3d).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torchvision.models import video as tvv
from torchvision.models._api import Weights

from utils.models.base import VideoClassifier
from utils.models.spec import ModelSpec
from utils.video.presets import get_preset

_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")  # torch.hub's convention: name-<sha256 prefix>.pth


class TorchvisionVideo(VideoClassifier):
    """A torchvision video classifier; ``classifier`` names its last layer (``fc``, ``head``,
    ``classifier``) whose input is the embedding."""

    def __init__(self, spec: ModelSpec, net: nn.Module, classifier: str) -> None:
        super().__init__(spec)
        self.net = net
        self.classifier = classifier

    @property
    def checkpoint_module(self) -> nn.Module:
        return self.net

    def features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        seen: list[torch.Tensor] = []

        def grab(_module: nn.Module, args: tuple[Any, ...]) -> None:
            seen.append(args[0])

        handle = getattr(self.net, self.classifier).register_forward_pre_hook(grab)
        try:
            self.net(x)
        finally:
            handle.remove()
        emb = seen[0]
        return emb.mean(dim=(2, 3, 4)) if emb.ndim == 5 else emb.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.net(x)


def _spec(name: str, weights: Weights, protocol: str, embed_dim: int,
          gflops: float | None = None) -> ModelSpec:
    meta = weights.meta
    filename = weights.url.rsplit("/", 1)[-1]
    match = _HASH_IN_NAME.search(filename)
    kinetics = meta["_metrics"]["Kinetics-400"]
    return ModelSpec(
        name=name,
        url=weights.url,
        filename=filename,
        format="torchvision",
        sha256=match.group(1) if match else None,
        preset=get_preset(name),
        categories=tuple(meta["categories"]),
        metrics={"top1": kinetics["acc@1"], "top5": kinetics["acc@5"], "protocol": protocol},
        params_m=round(meta["num_params"] / 1e6, 2),
        gflops=meta["_ops"] if gflops is None else gflops,
        embed_dim=embed_dim,
        source=f"torchvision {type(weights).__name__}.KINETICS400_V1 ({meta['recipe']})",
        licence="BSD-3-Clause (pytorch/vision); weights under torchvision's terms",
    )


_VIDEO_5 = "video-level: 5 clips x 1 centre crop per video (torchvision meta)"
_CLIP_1 = "clip-level: 1 clip x 1 centre crop (torchvision meta)"

R2PLUS1D_18 = _spec("r2plus1d_18", tvv.R2Plus1D_18_Weights.KINETICS400_V1, _VIDEO_5, 512)
R3D_18 = _spec("r3d_18", tvv.R3D_18_Weights.KINETICS400_V1, _VIDEO_5, 512)
MC3_18 = _spec("mc3_18", tvv.MC3_18_Weights.KINETICS400_V1, _VIDEO_5, 512)
# torchvision's s3d ``_ops`` (17.979) is counted on 16 frames; the published recipe, and so the
# preset, feeds 128, which FlopCounterMode counts at 143.83 GMACs per view
# (tests/test_bench_published.py checks both).
S3D = _spec("s3d", tvv.S3D_Weights.KINETICS400_V1, _CLIP_1, 1024, gflops=143.83)
MVIT_V2_S = _spec("mvit_v2_s", tvv.MViT_V2_S_Weights.KINETICS400_V1, _VIDEO_5, 768)


def _builder(spec: ModelSpec, build: Callable[..., nn.Module], classifier: str) -> Callable[
    [], TorchvisionVideo
]:
    def make() -> TorchvisionVideo:
        return TorchvisionVideo(spec, build(weights=None), classifier)

    make.__doc__ = f"torchvision ``{spec.name}`` (random init; Kinetics-400 head)."
    return make


r2plus1d_18 = _builder(R2PLUS1D_18, tvv.r2plus1d_18, "fc")
r3d_18 = _builder(R3D_18, tvv.r3d_18, "fc")
mc3_18 = _builder(MC3_18, tvv.mc3_18, "fc")
s3d = _builder(S3D, tvv.s3d, "classifier")
mvit_v2_s = _builder(MVIT_V2_S, tvv.mvit_v2_s, "head")
