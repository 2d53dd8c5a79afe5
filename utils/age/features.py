"""Embeddings of face photos, computed once per backbone and kept in lab 2's feature cache.

The backbone is frozen while the head trains, so running it over every photo at every epoch
repeats the same computation; ``benchmarks/bench_age.py`` measures the difference. Rows live
in ``<cache_dir>/<backbone>.safetensors`` (:class:`utils.finetune.cache.FeatureCache`), keyed by
the weights hash, the preprocessing and the photo file (absolute path, size and modification
time, so a regenerated photo is a new row). Photos are read one batch at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from utils.age.backbone import preprocess
from utils.age.data import read_face
from utils.errors import InputError
from utils.finetune.cache import CACHE_DIR, FeatureCache, Key, weights_hash


@dataclass
class PhotoFeatures:
    """``matrix[i]`` embeds ``names[i]``; ``failed`` maps every unreadable photo to the reason."""

    names: list[str]
    matrix: np.ndarray
    failed: dict[str, str] = field(default_factory=dict)
    computed: int = 0
    reused: int = 0

    def rows(self, names: list[str]) -> np.ndarray:
        index = {n: i for i, n in enumerate(self.names)}
        return self.matrix[[index[n] for n in names]]


def photo_key(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def embed_batch(model: Any, images: list[Any], transform: Any, device: str) -> np.ndarray:
    """(len(images), D) float32 embeddings of uint8 (H, W, 3) photos."""
    import torch

    x = torch.stack([transform(torch.from_numpy(im.copy()).permute(2, 0, 1)) for im in images])
    with torch.inference_mode(), torch.autocast("cuda", enabled=device.startswith("cuda")):
        return model(x.to(device)).float().cpu().numpy()


def embed_photos(model: Any, photos: Mapping[str, str | Path], *, backbone: str,
                 image_size: int = 224, cache_dir: str | Path | None = CACHE_DIR,
                 batch_size: int = 32, device: str = "cpu", flush_every: int = 512,
                 progress: bool = True) -> PhotoFeatures:
    """Embeddings of every photo ({name: path}) through the cache (``cache_dir=None`` keeps
    nothing). Rows already cached are reused; an unreadable photo is listed, not dropped."""
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise InputError(f"batch size must be >= 1, got {batch_size}")
    cache = FeatureCache(cache_dir, backbone)
    transform = preprocess(image_size)
    weights, preset = weights_hash(model), f"faces-{image_size}px-imagenet"
    keys = {name: Key(weights, preset, photo_key(Path(p)), 0) for name, p in photos.items()
            if Path(p).is_file()}
    failed = {name: f"{p} does not exist" for name, p in photos.items() if name not in keys}
    todo = [name for name, key in keys.items() if key not in cache]
    batch: list[tuple[str, np.ndarray]] = []
    model.eval()
    try:
        for i, name in enumerate(tqdm(todo, desc=f"features {backbone}", unit="photo",
                                      disable=not progress)):
            try:
                batch.append((name, read_face(photos[name])))
            except InputError as exc:
                failed[name] = str(exc)
            if len(batch) == batch_size or (i == len(todo) - 1 and batch):
                rows = embed_batch(model, [im for _, im in batch], transform, device)
                for (done, _), row in zip(batch, rows, strict=True):
                    cache.put(keys[done], row)
                batch.clear()
            if (i + 1) % flush_every == 0:
                cache.flush()
    finally:
        cache.flush()
    names = [n for n in photos if n not in failed]
    if not names:
        raise InputError(f"no photo could be read ({len(failed)} failed)")
    matrix = np.stack([cache[keys[n]] for n in names])
    return PhotoFeatures(names, matrix, failed, computed=len(todo) - len(
        [n for n in todo if n in failed]), reused=len(keys) - len(todo))
