"""TSN and TSM on torchvision's ResNet-50, loading the mit-han-lab Kinetics checkpoints.

Reproduces ``ops/models.py`` ``TSN`` (``base_model='resnet50'``, ``consensus_type='avg'``,
``dropout`` then ``new_fc``) and ``ops/temporal_shift.py`` ``TemporalShift.shift`` /
``make_temporal_shift(place='blockres')`` of github.com/mit-han-lab/temporal-shift-module, with
module names chosen so that the official ``state_dict`` keys (``base_model.<resnet50 keys>``,
``base_model.layerX.Y.conv1.net.weight`` for shifted convs, ``new_fc.weight/bias``) fit as they
are. Differences from the official class: the input is (N, 3, T, H, W) and the frame-major
reshape happens here; the shift takes T from the input instead of a fixed ``num_segments``.
Checked against that official ``TSN`` class (``is_shift=True/False``, ``shift_div=8``,
``shift_place='blockres'``) on one checkpoint file in the official layout and 2 clips of
8 x 224 x 224: identical logits for TSM and TSN. The tests keep the layout and the shift.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet50

from utils.models.base import VideoClassifier
from utils.models.kinetics import sorted_kinetics
from utils.models.spec import ModelSpec
from utils.video.presets import get_preset

# The hosts the upstream README has linked, newest first (its git history: hanlab.mit.edu
# until 2020-05, file.lzhu.me until 2021-08, hanlab.mit.edu until 2023-10, hanlab18.mit.edu
# since); the same path on each. No hash is published.
_TSM_ROOTS = tuple(f"https://{host}/projects/tsm/models/"
                   for host in ("hanlab18.mit.edu", "hanlab.mit.edu", "file.lzhu.me"))
_MMACTION2_ROOT = "https://download.openmmlab.com/mmaction/v1.0/recognition/"
_SOURCE = "mit-han-lab/temporal-shift-module (README, Kinetics-400 uniform sampling table)"
_LICENCE = "MIT (mit-han-lab/temporal-shift-module)"
_PROTOCOL = "1 clip x 1 centre crop (8 frames, 224)"


def temporal_shift(x: torch.Tensor, num_segments: int, fold_div: int = 8) -> torch.Tensor:
    """Shift part of the channels of frame-major (N*T, C, H, W) features along time.

    With fold = C // fold_div: channels [0, fold) take the next frame's values, [fold, 2*fold)
    the previous frame's, the rest stay; the missing ends are zero (TSM paper, Fig. 1b).
    """
    nt, c, h, w = x.shape
    x = x.view(nt // num_segments, num_segments, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]
    out[:, :, 2 * fold :] = x[:, :, 2 * fold :]
    return out.view(nt, c, h, w)


class TemporalShift(nn.Module):
    """Shift, then the wrapped conv (stored as ``.net``, as the official checkpoints name it).

    ``num_segments`` is set by :class:`TSN` before every forward pass from the input's T.
    """

    def __init__(self, net: nn.Module, fold_div: int = 8) -> None:
        super().__init__()
        self.net = net
        self.fold_div = fold_div
        self.num_segments = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(temporal_shift(x, self.num_segments, self.fold_div))


class TSN(VideoClassifier):
    """TSN (``shift=False``) or TSM (``shift=True``): a 2D ResNet-50 per frame, logits averaged
    over the T frames; TSM adds the zero-parameter temporal shift in every bottleneck."""

    def __init__(self, spec: ModelSpec, *, shift: bool, dropout: float = 0.8) -> None:
        super().__init__(spec)
        base = resnet50(weights=None)
        if shift:
            for layer in (base.layer1, base.layer2, base.layer3, base.layer4):
                for block in layer:
                    block.conv1 = TemporalShift(block.conv1)
        base.fc = nn.Dropout(p=dropout)  # the official head: dropout, then new_fc
        self.base_model = base
        self.new_fc = nn.Linear(2048, len(spec.categories))
        self._shifts = [m for m in base.modules() if isinstance(m, TemporalShift)]

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) -> per-frame pooled features (N, T, 2048), frames batched frame-major."""
        self.check_input(x)
        n, c, t, h, w = x.shape
        for shift in self._shifts:
            shift.num_segments = t
        frames = x.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)
        return self.base_model(frames).view(n, t, -1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.frame_features(x).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Consensus as the official code: the classifier on every frame, then the mean.
        return self.new_fc(self.frame_features(x)).mean(dim=1)


def _spec(name: str, filename: str, top1: float, top1_10crop: float, source_note: str,
          fallback: ModelSpec) -> ModelSpec:
    return ModelSpec(
        name=name,
        url=_TSM_ROOTS[0] + filename,
        mirrors=tuple(root + filename for root in _TSM_ROOTS[1:]),
        filename=filename,
        format="tsm",
        sha256=None,
        preset=get_preset(name),
        categories=sorted_kinetics(),
        metrics={
            "top1": top1,
            "top5": None,
            "protocol": _PROTOCOL,
            "top1_10crop": top1_10crop,
            "protocol_10crop": "1 clip x 10 crops (4 corners + centre, flipped)",
            "note": source_note,
        },
        params_m=24.33,
        gflops=33.0,
        embed_dim=2048,
        source=_SOURCE,
        licence=_LICENCE,
        fallback=fallback,
    )


def _mmaction2(name: str, config: str, stamp: str, top1: float, top5: float,
               protocol: str) -> ModelSpec:
    """mmaction2's checkpoint of the same network (configs/recognition/tsn|tsm/README.md, model
    zoo of mmaction2 1.x): ``{"state_dict": {"backbone.<mmaction2 ResNet keys>",
    "cls_head.fc_cls.*"}}``, converted on load; the hash prefix is in the file name."""
    family = name.split("_")[0]
    filename = f"{config}_{stamp}.pth"
    return ModelSpec(
        name=name,
        url=f"{_MMACTION2_ROOT}{family}/{config}/{filename}",
        filename=filename,
        format="mmaction2",
        sha256=stamp.rsplit("-", 1)[1],
        preset=get_preset(name.removesuffix("_mmaction2")),
        categories=sorted_kinetics(),  # tools/data/kinetics/label_map_k400.txt: the same order
        metrics={"top1": top1, "top5": top5, "protocol": protocol,
                 "note": "trained and tested with 8 segments"},
        params_m=24.33,
        gflops=33.0,
        embed_dim=2048,
        source=f"open-mmlab/mmaction2 (configs/recognition/{family}/README.md, Kinetics-400)",
        licence="Apache-2.0 (open-mmlab/mmaction2)",
    )


TSN_R50 = _spec(
    "tsn_r50",
    "TSM_kinetics_RGB_resnet50_avg_segment5_e50.pth",
    68.8,
    69.9,
    "trained with 5 segments, tested with 8",
    _mmaction2("tsn_r50_mmaction2", "tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb",
               "20220906-2692d16c", 74.12, 91.34, "25 clips x 10 crops"),
)
TSM_R50 = _spec(
    "tsm_r50",
    "TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e50.pth",
    71.2,
    72.8,
    "shift_div 8, blockres, 8 segments",
    _mmaction2("tsm_r50_mmaction2", "tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb",
               "20220831-64d69186", 73.18, 90.56, "8 clips x 10 crops"),
)


def tsn_r50() -> TSN:
    """TSN ResNet-50 (no shift), mit-han-lab Kinetics-400 checkpoint layout."""
    return TSN(TSN_R50, shift=False)


def tsm_r50() -> TSN:
    """TSM ResNet-50 (shift 1/8 + 1/8 of the channels, residual branch), same layout."""
    return TSN(TSM_R50, shift=True)
