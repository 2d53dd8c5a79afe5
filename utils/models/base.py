"""The one forward contract every zoo model follows.

``model(x)`` takes (N, 3, T, H, W) float32 normalised by ``model.spec.preset`` and returns
logits (N, 400) in the order of ``model.spec.categories``; ``model.features(x)`` returns the
pooled embedding (N, ``spec.embed_dim``) that the classifier reads (lab 2 trains its own head on
it). ``pretrained`` says whether a checkpoint was loaded: results of a model with
``pretrained=False`` come from random weights and must be labelled so.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from utils.errors import InputError
from utils.models.spec import ModelSpec


class VideoClassifier(nn.Module):
    """Base of the zoo's wrappers; ``checkpoint_module`` is what the official state dict fits."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        self.pretrained = False
        self.weights_path: Path | None = None  # the checkpoint file loaded, if any

    @property
    def checkpoint_module(self) -> nn.Module:
        """The module whose ``state_dict`` keys are the checkpoint's (after its format's
        own key mapping, see :mod:`utils.models.checkpoints`)."""
        return self

    def check_input(self, x: torch.Tensor) -> None:
        """Reject what is not (N, 3, T, H, W): a (N, T, 3, H, W) clip would run silently wrong."""
        if x.ndim != 5 or x.shape[1] != 3:
            raise InputError(
                f"{self.spec.name}: expected x of shape (N, 3, T, H, W), got {tuple(x.shape)}"
            )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled embedding (N, embed_dim) before the classifier."""
        raise NotImplementedError

    @property
    def weights_label(self) -> str:
        """What a result made with this model must say about its weights."""
        if self.weights_path is None:
            return "random initialisation (no checkpoint): predictions are meaningless"
        return f"checkpoint {self.weights_path.name}"

    def extra_repr(self) -> str:
        return f"name={self.spec.name}, weights={self.weights_label}"
