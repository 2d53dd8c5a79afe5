"""Every setting of a fine-tuning run, in one frozen dataclass checked once when it is made.

:class:`TrainConfig` adds to the loop's :class:`utils.finetune.loop.LoopSettings` (what the
head's and the end-to-end training need) what a whole run needs (data, backbone, split, threshold
rule, bootstrap, cache). A value out of range or of the wrong type is an :class:`InputError`
naming the ``actionlab finetune`` flag, before anything is computed. A run saves its config as
``config.json`` (with the facts it measured beside the settings); :meth:`TrainConfig.load` reads
it back, and :meth:`TrainConfig.same_results` tells from the fields alone whether a saved run is
what a config would compute (every field but those marked as not changing the results).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from utils.errors import InputError, first_line
from utils.finetune.cache import CACHE_DIR
from utils.finetune.head import HEADS
from utils.finetune.loop import LoopSettings
from utils.finetune.thresholds import RULES
from utils.io import write_json

# metadata of a field that says where or on what a run computes, not what it computes
NOT_A_RESULT = {"result": False}


@dataclass(frozen=True, kw_only=True)
class TrainConfig(LoopSettings):
    """One run: ``data`` (a DCSASS folder, or ``synthetic``) and ``backbone`` (a zoo name)
    are required; ``weights`` is ``default``, ``none`` (random, seeded) or a checkpoint path."""

    data: str
    backbone: str
    weights: str = "default"
    category: str = "Shoplifting"
    split_file: str | None = None
    extra_negatives: str | None = None
    head: str = field(default="course", metadata={"choices": HEADS})
    augment: int = field(default=0, metadata={"low": 0})
    rule: str = field(default="max_f1", metadata={"choices": RULES})
    target_recall: float = field(default=0.8, metadata={"low": 0, "above": True, "high": 1})
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    n_boot: int = field(default=1000, metadata={"low": 1})
    e2e: bool = False
    cache_dir: str | None = field(default=str(CACHE_DIR), metadata=NOT_A_RESULT)
    device: str = field(default="auto", metadata=NOT_A_RESULT)

    def __post_init__(self) -> None:
        if self.weights is None:  # None means random weights, as "none"
            object.__setattr__(self, "weights", "none")
        super().__post_init__()

    def same_results(self, other: TrainConfig) -> bool:
        """Whether a run made with ``other`` computed what this config would: every field
        equal except those marked :data:`NOT_A_RESULT` (the feature cache, the device)."""
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(self)
                   if f.metadata.get("result", True))

    def save(self, path: str | Path, **facts: Any) -> Path:
        """``path`` (a run's ``config.json``): every field, then ``facts`` the run measured."""
        return write_json({**asdict(self), **facts}, path)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """The config saved by :meth:`save` (the facts beside it are ignored)."""
        try:
            saved = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a run's config ({first_line(exc)})") from None
        if not isinstance(saved, dict) or not {"data", "backbone"} <= set(saved):
            raise InputError(f"{path}: not a run's config (no data and backbone)")
        return cls(**{f.name: saved[f.name] for f in fields(cls) if f.name in saved})


def train_config(config: TrainConfig | str | Path, settings: dict[str, Any]) -> TrainConfig:
    """``config`` itself, or the config of data folder ``config`` with these ``settings``
    (the fields of :class:`TrainConfig` as keywords): the two ways to call a run."""
    if isinstance(config, TrainConfig):
        if settings:
            raise TypeError(f"settings {sorted(settings)} given beside a TrainConfig")
        return config
    return TrainConfig(data=str(config), **settings)
