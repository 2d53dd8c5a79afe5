"""What the zoo knows about one checkpoint: ``ModelSpec``, one frozen literal per model.

Modelled on torchvision's ``Weights`` (url, transforms, meta with categories, metrics and ops):
everything about a checkpoint sits in one place, and documentation, the benchmark and the
loaders read the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from utils.video.presets import Preset

CheckpointFormat = Literal["tsm", "pytorchvideo", "torchvision", "mmaction2"]


@dataclass(frozen=True)
class ModelSpec:
    """One model of the zoo and the checkpoint it loads.

    ``categories``: the 400 class names in the checkpoint's own output index order.
    ``metrics``: the published numbers, ``{"top1", "top5", "protocol", ...}`` (percent).
    ``sha256``: the full hex digest, or the leading digits published in the file name (the
    torchvision convention ``name-<prefix>.pth``); None when no hash is published.
    ``gflops``: per view, multiply-accumulates (the convention the zoos publish).
    ``url``/``filename``/``format`` are None only for models without a checkpoint (``tiny3d``).
    ``mirrors``: further URLs of the same file, tried in order after ``url``.
    ``fallback``: another published checkpoint of the same network (its own file, format and
    numbers), loaded when no URL of this one answers.
    """

    name: str
    url: str | None
    filename: str | None
    format: CheckpointFormat | None
    sha256: str | None
    preset: Preset
    categories: tuple[str, ...]
    metrics: dict[str, float | str | None] = field(hash=False)
    params_m: float
    gflops: float
    embed_dim: int
    source: str
    licence: str
    mirrors: tuple[str, ...] = ()
    fallback: ModelSpec | None = field(default=None, hash=False)

    @property
    def urls(self) -> tuple[str, ...]:
        """Every address of the checkpoint, in the order they are tried."""
        return () if self.url is None else (self.url, *self.mirrors)
    @property
    def has_checkpoint(self) -> bool:
        """False for models that only exist with random weights (``tiny3d``)."""
        return self.url is not None
