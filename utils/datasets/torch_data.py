"""A PyTorch Dataset of labelled clips decoded with a model's preset, and reproducible loaders.

Training randomness (clip start, crop, flip) is drawn from a generator seeded by
``(seed, epoch, index)``, so a sample's augmentation does not depend on which worker loads it
or on how many workers there are; the shuffling order comes from the loader's seeded
``torch.Generator``. Same seed, same epoch -> the same batches, with 0 or N workers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from utils.datasets.clips import probe_failures
from utils.errors import InputError
from utils.video.presets import Preset, get_preset, load_clip


class ClipDataset(Dataset):
    """(clip, label) pairs: clip is (C, T, H, W) float32 for one view, (V, C, T, H, W) for
    ``num_clips * num_crops`` > 1; label an int (class index, or 0/1 for DCSASS).

    A clip that cannot be decoded raises :class:`utils.video.io.VideoDecodeError` naming its
    path. With ``skip_unreadable=True`` every clip is probed first and those that fail are left
    out and listed in ``skipped`` ({path: reason}).
    """

    def __init__(
        self,
        samples: Iterable[tuple[str | Path, int]],
        preset: Preset | str,
        *,
        train: bool = False,
        num_clips: int = 1,
        num_crops: int = 1,
        seed: int = 0,
        skip_unreadable: bool = False,
        progress: bool = False,
    ) -> None:
        self.preset = get_preset(preset) if isinstance(preset, str) else preset
        pairs = [(Path(path), int(label)) for path, label in samples]
        self.skipped: dict[str, str] = {}
        if skip_unreadable:
            self.skipped = probe_failures({str(p): p for p, _ in pairs}, progress=progress)
            pairs = [(p, y) for p, y in pairs if str(p) not in self.skipped]
        if not pairs:
            raise InputError("ClipDataset: no clips to load"
                             + (f" ({len(self.skipped)} unreadable)" if self.skipped else ""))
        self.samples = pairs
        self.train, self.num_clips, self.num_crops = train, num_clips, num_crops
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Draw new training augmentations for the next epoch (call before iterating)."""
        self.epoch = epoch

    @property
    def labels(self) -> list[int]:
        return [label for _, label in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        clip = load_clip(path, self.preset, train=self.train, num_clips=self.num_clips,
                         num_crops=self.num_crops, rng=rng)
        return (clip[0] if len(clip) == 1 else clip), label


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: seed numpy and ``random`` in each worker from torch's per-worker
    seed, so any other randomness in user transforms is reproducible too."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int = 8,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    **kwargs,
) -> DataLoader:
    """A DataLoader whose order and worker seeds follow ``seed`` (pinned memory on CUDA).

    The shuffling generator advances every epoch, so epochs differ but a rerun repeats them.
    Leave ``persistent_workers`` off when using ``ClipDataset.set_epoch``: workers then get a
    fresh copy of the dataset, with its new epoch, at the start of each epoch.
    """
    generator = torch.Generator()
    generator.manual_seed(seed)
    kwargs.setdefault("pin_memory", torch.cuda.is_available())
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        worker_init_fn=seed_worker,
        generator=generator,
        **kwargs,
    )
