"""The image backbone: torchvision's ImageNet ResNet-50 (or ResNet-18), or a tiny random CNN for
tests. Each module's forward returns the pooled embedding (N, D) (ResNet's ``fc`` is replaced by
an identity); ``last_stage`` is the block fine-tuning unfreezes.

Weights follow the project's convention: ``"default"`` is the published checkpoint (torchvision's
``Weights`` enum, downloaded once into the torch hub folder), ``"none"`` is a seeded random
initialisation (every result then says so), ``"auto"`` is the checkpoint when it can be had and
random weights otherwise, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
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



def _imagenet_file(url: str) -> Path:
    """torchvision's ImageNet checkpoint through the project's download layer (mirrors,
    resume, ``ACTIONLAB_MIRROR``), into the torch hub cache where torchvision then finds it;
    the hash prefix in its file name is checked."""
    import torch

    from utils.download import fetch

    name = url.rsplit("/", 1)[-1]
    prefix = name.rsplit("-", 1)[-1].split(".")[0]
    return fetch(url, Path(torch.hub.get_dir()) / "checkpoints" / name, sha256=prefix)


def build_backbone(name: str = "resnet50", weights: str | None = "auto", *, seed: int = 0,
                   device: str = "cpu") -> Backbone:
    """The backbone ``name`` with ``weights``, frozen, in eval mode on ``device``: "auto"
    (ImageNet when it can be had, else random with the reason), "default" (ImageNet, or the
    download's error), "none"/None (random, seeded) or a path to a state dict of the network
    (``weights_only`` load). The ImageNet file comes through :mod:`utils.download`."""
    import torch
    from torchvision import models

    from utils.models.checkpoints import read_checkpoint

    if name not in BACKBONES:
        raise InputError(f"backbone must be one of {BACKBONES}, got {name!r}")
    weights = "none" if weights is None else str(weights)
    path = None if weights in ("auto", "default", "none") else Path(weights)
    enum = {"resnet50": models.ResNet50_Weights.IMAGENET1K_V2,
            "resnet18": models.ResNet18_Weights.IMAGENET1K_V1}.get(name)
    chosen, why = None, f"RANDOM WEIGHTS: weights={weights!r}"
    state = None
    if path is not None:
        state = read_checkpoint(path)
        why = f"weights from {path}"
    elif enum is None:
        why = "RANDOM WEIGHTS: the tiny test backbone has no checkpoint"
    elif weights != "none":
        try:
            _imagenet_file(enum.url)
            chosen, why = enum, f"ImageNet weights {enum} (torchvision)"
        except InputError as exc:
            if weights == "default":
                raise InputError(f"cannot get the {name} ImageNet weights ({exc}); or use "
                                 "weights='none'") from None
            why = f"RANDOM WEIGHTS: the {name} checkpoint is not available ({exc})"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name == "tiny":
            net, dim = _tiny(), 128
        else:
            net = getattr(models, name)(weights=chosen)
            dim = net.fc.in_features
            net.fc = torch.nn.Identity()
    if state is not None:
        _load_state(net, state, path)
    for p in net.parameters():
        p.requires_grad_(False)
    return Backbone(name, net.to(device).eval(), chosen is not None or state is not None, why,
                    dim)


def _load_state(net: Any, state: Any, path: Path | None) -> None:
    """A state dict saved from the same network (its ``fc`` may be left out or present)."""
    if not isinstance(state, dict):
        raise InputError(f"{path}: not a state dict of the backbone")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"{path}: does not fit this backbone ({str(exc).splitlines()[0]})"
                         ) from None


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
