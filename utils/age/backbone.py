"""The image backbone: torchvision's ImageNet ResNet-50 (or ResNet-18), or a tiny random CNN for
tests. Each module's forward returns the pooled embedding (N, D) (ResNet's ``fc`` is replaced by
an identity); ``last_stage`` is the block fine-tuning unfreezes.

Weights follow the project's convention: ``"default"`` is the published checkpoint (torchvision's
``Weights`` enum, downloaded once into the torch hub folder), ``"none"`` is a seeded random
initialisation (every result then says so), ``"auto"`` is the checkpoint when it can be had and
random weights otherwise, with the reason.
"""

from __future__ import annotations

import urllib.error
from dataclasses import dataclass
from typing import Any

from utils.errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BACKBONES = ("resnet50", "resnet18", "tiny")


@dataclass(frozen=True)
class Backbone:
    name: str
    model: Any  # torch.nn.Module: photos (N, 3, S, S) -> embeddings (N, dim)
    pretrained: bool
    why: str
    dim: int

    @property
    def last_stage(self) -> Any:
        """The block fine-tuning trains (ResNet's ``layer4``)."""
        return self.model.layer4


def _tiny() -> Any:
    """Three strided convolutions averaged over a 2 x 2 grid (128-d; a global pool of a random
    network keeps little more than colours): for tests only."""
    from torch import nn

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU())
            self.layer4 = nn.Sequential(nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU())
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten())

        def forward(self, x: Any) -> Any:
            return self.pool(self.layer4(self.stem(x)))

    return Tiny()



def build_backbone(name: str = "resnet50", weights: str = "auto", *, seed: int = 0,
                   device: str = "cpu") -> Backbone:
    """The backbone ``name`` with ``weights`` ("auto" | "default" | "none"), frozen, in eval
    mode on ``device``. Random initialisation is seeded."""
    import torch
    from torchvision import models

    if name not in BACKBONES:
        raise InputError(f"backbone must be one of {BACKBONES}, got {name!r}")
    if weights not in ("auto", "default", "none"):
        raise InputError(f"weights must be auto, default or none, got {weights!r}")
    enum = {"resnet50": models.ResNet50_Weights.IMAGENET1K_V2,
            "resnet18": models.ResNet18_Weights.IMAGENET1K_V1}.get(name)
    chosen, why = None, f"RANDOM WEIGHTS: weights={weights!r}"
    if enum is None:
        why = "RANDOM WEIGHTS: the tiny test backbone has no checkpoint"
    elif weights != "none":
        try:
            enum.get_state_dict(progress=True)  # fills the torch hub cache once
            chosen, why = enum, f"ImageNet weights {enum} (torchvision)"
        except (urllib.error.URLError, OSError, RuntimeError) as exc:
            if weights == "default":
                raise InputError(f"cannot get the {name} ImageNet weights ({exc}); fetch "
                                 f"{enum.url} into {torch.hub.get_dir()}/checkpoints/ or use "
                                 "weights='none'") from exc
            why = f"RANDOM WEIGHTS: the {name} checkpoint is not available ({exc})"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name == "tiny":
            net, dim = _tiny(), 128
        else:
            net = getattr(models, name)(weights=chosen)
            dim = net.fc.in_features
            net.fc = torch.nn.Identity()
    for p in net.parameters():
        p.requires_grad_(False)
    return Backbone(name, net.to(device).eval(), chosen is not None, why, dim)


def preprocess(image_size: int, *, train: bool = False) -> Any:
    """uint8 (3, H, W) -> normalised float (3, S, S): the whole face resized to a square (no
    centre crop: a face photo is already cropped). ``train`` adds the augmentation used when
    fine-tuning (random resized crop, flip, colour jitter; torchvision transforms v2)."""
    import torch
    from torchvision.transforms import v2

    if image_size < 32:
        raise InputError(f"image size must be at least 32, got {image_size}")
    head = ([v2.RandomResizedCrop(image_size, scale=(0.8, 1.0), antialias=True),
             v2.RandomHorizontalFlip(), v2.ColorJitter(0.2, 0.2)] if train
            else [v2.Resize((image_size, image_size), antialias=True)])
    return v2.Compose([*head, v2.ToDtype(torch.float32, scale=True),
                       v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
