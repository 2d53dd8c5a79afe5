"""Feature cache: run the frozen backbone once per clip and view, keep the embeddings on disk.

The course ran the whole backbone over every clip at every epoch, although its weights never
changed: 10 epochs cost 10 full passes. Here the embeddings are computed once and the head trains
on them in seconds (``benchmarks/bench_finetune.py`` measures it).

One safetensors file per backbone (``<cache_dir>/<backbone>.safetensors``) holds a float32 matrix
``features`` (rows, D) and, in its metadata, the key of every row: (weights hash, preset, clip,
view, source); the backbone is the file. ``source`` (:func:`clip_source`) identifies the file the
clip was read from: its absolute path (so the dataset root) and its content (size, mtime and a
hash of its first and last bytes). Clip names alone are not enough: the synthetic and the real
DCSASS share them, and the default cache is shared by every dataset. A file of the older format
(keys without a source) cannot tell whose clips it holds: it is ignored and rewritten.
Rows of other weights or presets live side by side in the same file. The file is rewritten
atomically every ``flush_every`` clips and when extraction stops for any reason (an exception,
Ctrl-C), so an interrupted run resumes where it stopped. A clip that cannot be decoded is
listed with the reason (never silently dropped) and retried on the next run.

Views: view 0 is the test-time view (one centred clip, one centre crop). Views 1..A are training
augmentations (random clip, jittered crop, flip), each drawn from a generator seeded by
``(seed, clip, view)``, so the same key always holds the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError
from utils.io import atomic_path
from utils.paths import DATA_DIR

if TYPE_CHECKING:
    import torch

    from utils.video.presets import Preset

CACHE_DIR = DATA_DIR / "features"
FORMAT = "actionlab-feature-cache-2"
STALE_FORMATS = ("actionlab-feature-cache-1",)
EDGE_BYTES = 1 << 16  # hashed at each end of a clip file


def clip_source(path: str | Path) -> str:
    """sha256 (first 16 hex digits) of a clip file's absolute path, size, mtime and first and
    last :data:`EDGE_BYTES`: another dataset, or a file rewritten in place, is another key.
    An unreadable file gets a key of its own; decoding it then fails and is reported."""
    path = Path(path)
    digest = hashlib.sha256(str(path.resolve()).encode())
    try:
        info = path.stat()
        with path.open("rb") as handle:
            head = handle.read(EDGE_BYTES)
            handle.seek(max(info.st_size - EDGE_BYTES, 0))
            tail = handle.read(EDGE_BYTES)
    except OSError as exc:
        digest.update(f"unreadable|{exc.strerror}".encode())
    else:
        digest.update(f"|{info.st_size}|{info.st_mtime_ns}|".encode() + head + tail)
    return digest.hexdigest()[:16]


def weights_hash(model: torch.nn.Module) -> str:
    """sha256 (first 16 hex digits) of the state dict: names, dtypes, shapes and values.

    Two models hash alike exactly when every parameter and buffer is identical, whatever file
    or seed they came from.
    """
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.dtype == torch.bfloat16:
            t = t.float()
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()[:16]


def preset_id(preset: Preset) -> str:
    """``<name>-<hash of every field>``: a preset changed in any field is another key."""
    return f"{preset.name}-{hashlib.sha256(repr(preset).encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class Key:
    weights: str
    preset: str
    clip: str
    view: int
    source: str = ""  # clip_source of the clip's file


class FeatureCache:
    """The rows of one backbone's cache file, loaded in memory; :meth:`flush` writes them."""

    def __init__(self, cache_dir: str | Path | None, backbone: str) -> None:
        self.path = None if cache_dir is None else Path(cache_dir) / f"{backbone}.safetensors"
        self.backbone = backbone
        self._rows: dict[Key, np.ndarray] = {}
        self._dirty = False
        if self.path is not None and self.path.is_file():
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        from safetensors import SafetensorError, safe_open
        from safetensors.numpy import load_file

        try:
            with safe_open(str(self.path), framework="numpy") as handle:
                meta = handle.metadata() or {}
            matrix = load_file(str(self.path))["features"]
            keys = json.loads(meta["keys"])
        except (SafetensorError, KeyError, ValueError, OSError) as exc:
            raise InputError(f"{self.path}: unreadable feature cache ({exc}); delete it to "
                             "recompute the features") from exc
        if meta.get("format") in STALE_FORMATS and meta.get("backbone") == self.backbone:
            return  # keys without the clip's source: rows of unknown datasets, recomputed
        if meta.get("format") != FORMAT or meta.get("backbone") != self.backbone:
            raise InputError(f"{self.path}: not a feature cache of {self.backbone!r} "
                             f"(format {meta.get('format')!r}, backbone {meta.get('backbone')!r})")
        self._rows = {Key(w, p, c, int(v), s): row
                      for (w, p, c, v, s), row in zip(keys, matrix, strict=True)}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: Key) -> bool:
        return key in self._rows

    def __getitem__(self, key: Key) -> np.ndarray:
        return self._rows[key]

    def put(self, key: Key, vector: np.ndarray) -> None:
        self._rows[key] = np.asarray(vector, dtype=np.float32).ravel()
        self._dirty = True

    def flush(self) -> None:
        """Rewrite the file atomically (only when rows were added since the last write; never
        without a cache folder)."""
        if not self._dirty or self.path is None:
            return
        from safetensors.numpy import save_file

        keys = list(self._rows)
        matrix = np.stack([self._rows[k] for k in keys]).astype(np.float32)
        meta = {"format": FORMAT, "backbone": self.backbone,
                "keys": json.dumps([[k.weights, k.preset, k.clip, k.view, k.source]
                                    for k in keys])}
        with atomic_path(self.path) as tmp:
            save_file({"features": matrix}, str(tmp), metadata=meta)
        self._dirty = False


@dataclass
class Features:
    """Embeddings of the clips that could be read: ``matrix[i, v]`` is clip ``clips[i]``, view v.

    ``failed`` maps every clip that could not be decoded to the reason; ``computed`` and
    ``reused`` count (clip, view) rows run through the backbone now vs read from the cache.
    """

    clips: list[str]
    matrix: np.ndarray  # (n_clips, n_views, D) float32
    failed: dict[str, str] = field(default_factory=dict)
    computed: int = 0
    reused: int = 0

    def rows(self, names: list[str], view: int = 0) -> np.ndarray:
        """(len(names), D) embeddings of ``names`` at ``view`` (KeyError names a missing clip)."""
        index = {c: i for i, c in enumerate(self.clips)}
        return self.matrix[[index[n] for n in names], view]


def _clip_seed(seed: int, clip: str, view: int) -> list[int]:
    return [seed, zlib.crc32(clip.encode()), view]


def extract_features(
    model: Any,
    clips: Mapping[str, str | Path],
    preset: Preset,
    *,
    backbone: str,
    cache_dir: str | Path | None = CACHE_DIR,
    augment: int = 0,
    seed: int = 0,
    batch_size: int = 8,
    device: str = "cpu",
    flush_every: int = 64,
    progress: bool = True,
) -> Features:
    """Embeddings ``model.features`` of every clip ({name: path}) and view, through the cache.

    ``model`` is any torch module with ``features(x) -> (N, D)`` (a zoo model, or a test stand-in).

    ``augment`` training views per clip are added to the test view (view 0). Rows already in
    the cache (same backbone file, weights hash, preset, clip name, view and clip file, see
    :func:`clip_source`) are reused;
    ``cache_dir=None`` keeps nothing (a backbone being fine-tuned changes every epoch). On CUDA
    the forward runs under autocast (float16); the cache always stores float32.
    """
    import torch
    from tqdm.auto import tqdm

    from utils.video.presets import load_clip

    if augment < 0 or batch_size < 1 or flush_every < 1:
        raise InputError(f"need augment >= 0, batch_size >= 1, flush_every >= 1 (got {augment}, "
                         f"{batch_size}, {flush_every})")
    cache = FeatureCache(cache_dir, backbone)
    weights, pid = weights_hash(model), preset_id(preset)
    sources = {name: clip_source(path) for name, path in clips.items()}
    views = range(augment + 1)

    def key(name: str, v: int) -> Key:
        return Key(weights, pid, name, v, sources[name])

    todo = [(name, v) for name in clips for v in views if key(name, v) not in cache]
    reused = len(clips) * len(views) - len(todo)
    failed: dict[str, str] = {}
    batch: list[tuple[str, int, torch.Tensor]] = []
    computed = 0
    model.eval()

    def run_batch() -> None:
        nonlocal computed
        x = torch.stack([t for _, _, t in batch]).to(device)
        with torch.inference_mode(), torch.autocast("cuda", enabled=device.startswith("cuda")):
            out = model.features(x).float().cpu().numpy()
        for (name, v, _), row in zip(batch, out, strict=True):
            cache.put(key(name, v), row)
        computed += len(batch)
        batch.clear()

    done = 0
    try:
        for name, v in tqdm(todo, desc=f"features {backbone}", disable=not progress, unit="view"):
            if name in failed:
                continue
            try:
                clip = load_clip(clips[name], preset, train=v > 0,
                                 rng=np.random.default_rng(_clip_seed(seed, name, v)))
            except InputError as exc:  # VideoDecodeError and too-short clips
                failed[name] = str(exc)
                continue
            batch.append((name, v, clip[0]))
            if len(batch) == batch_size:
                run_batch()
            done += 1
            if done % flush_every == 0:
                cache.flush()
        if batch:
            run_batch()
    finally:
        cache.flush()
    kept = [name for name in clips if name not in failed]
    if not kept:
        raise InputError(f"no clip could be decoded ({len(failed)} failed, e.g. "
                         f"{next(iter(failed.values()), '')})")
    matrix = np.stack([np.stack([cache[key(name, v)] for v in views])
                       for name in kept])
    return Features(kept, matrix, failed, computed=computed, reused=reused)
