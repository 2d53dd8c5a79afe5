"""Speed and cost of a video model, measured the way a reader of the numbers expects.

* **latency**: model-only forward of one clip (its V = clips x crops views as one batch), after
  warm-up, each call timed with ``perf_counter`` between two CUDA synchronisations (without them
  a GPU timer measures the kernel launch, not the work); median and 90th percentile.
* **throughput**: clips per second at a batch size = batch / median time of a batch forward.
* **end to end**: decode + preprocess + forward of a real file, one clip at a time: the course's
  "s/sample", which is what a user waits for.
* **params** and **GFLOPs per view**. ``torch.utils.flop_counter.FlopCounterMode`` counts two
  FLOPs per multiply-accumulate (convolutions, matrix products; not the element-wise ops), while
  the model zoos publish multiply-accumulates (fvcore in PySlowFast/pytorchvideo, torchvision's
  ``_ops``, the TSM paper), so the count is halved.
* **peak CUDA memory** of the throughput batch; **AMP** (float16 autocast) on CUDA only.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from utils.bench.accuracy import Model, forward_views
from utils.bench.device import amp_active, autocast, resolve_device, synchronize
from utils.errors import InputError
from utils.video.io import VideoDecodeError
from utils.video.presets import Preset, load_clip


def count_params(model: Model) -> int | None:
    """Number of parameters (None for a model that is not a torch module, e.g. ONNX)."""
    if not isinstance(model, torch.nn.Module):
        return None
    return sum(p.numel() for p in model.parameters())


def count_macs(model: Model, x: torch.Tensor) -> int:
    """Multiply-accumulates of one forward of ``x``: FlopCounterMode's FLOPs / 2."""
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() // 2


def random_clip(preset: Preset, batch: int = 1, device: torch.device | str = "cpu",
                seed: int = 0) -> torch.Tensor:
    """A seeded (batch, 3, T, crop, crop) normal tensor: the input size of ``preset``."""
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, 3, preset.num_frames, preset.crop, preset.crop)
    return torch.randn(shape, generator=generator).to(resolve_device(device))


def gflops_per_view(
    model: Model, preset: Preset, device: torch.device | str = "cpu"
) -> float | None:
    """GMACs of one view of ``preset`` (the zoos' "GFLOPs"); None when ``model`` is no module.

    Counted on a copy of the model on PyTorch's ``meta`` device: shapes only, no arithmetic,
    the same count in a fraction of the time (SlowFast R50: about 1 s instead of 11 on 2 CPU
    cores). An op without a meta kernel falls back to a real forward on ``device``.
    """
    if not isinstance(model, torch.nn.Module):
        return None
    try:
        meta = copy.deepcopy(model).to("meta")
        return count_macs(meta, random_clip(preset, 1, "meta")) / 1e9
    except (NotImplementedError, RuntimeError):
        return count_macs(model, random_clip(preset, 1, device)) / 1e9


def time_forward(model: Model, x: torch.Tensor, *, warmup: int = 2, iters: int = 10,
                 amp: bool = False) -> np.ndarray:
    """Seconds of each of ``iters`` forwards of ``x`` after ``warmup`` untimed ones."""
    if warmup < 0 or iters < 1:
        raise InputError(f"warmup must be >= 0 and iters >= 1, got {warmup}, {iters}")
    device = x.device
    times = []
    with torch.inference_mode(), autocast(device, amp):
        for step in range(warmup + iters):
            synchronize(device)
            start = time.perf_counter()
            model(x)
            synchronize(device)
            if step >= warmup:
                times.append(time.perf_counter() - start)
    return np.array(times)


def end_to_end_seconds(model: Model, paths: Sequence[str | Path], preset: Preset, *,
                       num_clips: int = 1, num_crops: int = 1,
                       device: torch.device | str = "cpu", amp: bool = False) -> np.ndarray:
    """Seconds per clip of decode + preprocess + forward, one file at a time (clips that fail
    to decode are skipped here; ``evaluate`` reports them). The first file is run once untimed
    so lazy initialisation is not billed to it."""
    device = resolve_device(device)
    times: list[float] = []
    for i, path in enumerate([paths[0], *paths] if paths else []):
        synchronize(device)
        start = time.perf_counter()
        try:
            x = load_clip(path, preset, num_clips=num_clips, num_crops=num_crops)
        except VideoDecodeError:
            continue
        forward_views(model, x, num_clips * num_crops, device=device, amp=amp)
        synchronize(device)
        if i > 0:
            times.append(time.perf_counter() - start)
    return np.array(times)


def clips_per_second(batch_seconds: Sequence[float] | np.ndarray, batch_size: int = 1) -> float:
    """Throughput from timed forwards of ``batch_size`` clips: batch size / median time (the
    median, so one slow outlier call does not move it)."""
    seconds = np.asarray(batch_seconds, dtype=float)
    if seconds.size == 0 or (seconds <= 0).any() or batch_size < 1:
        raise InputError("need positive batch times and a batch size >= 1")
    return float(batch_size / np.median(seconds))


@dataclass(frozen=True)
class SpeedReport:
    """One model's speed and cost. Latency and throughput are per clip of ``views`` views."""

    device: str
    amp: bool
    views: tuple[int, int]
    batch_size: int
    latency_ms_median: float
    latency_ms_p90: float
    clips_per_s: float
    end_to_end_s_per_clip: float | None
    params_m: float | None
    gflops: float | None
    peak_memory_mb: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_speed(
    model: Model,
    preset: Preset,
    *,
    device: torch.device | str = "cpu",
    views: tuple[int, int] = (1, 1),
    batch_size: int = 1,
    warmup: int = 2,
    iters: int = 10,
    amp: bool = False,
    clip_paths: Sequence[str | Path] = (),
    seed: int = 0,
) -> SpeedReport:
    """Latency (batch of one clip), clips/s at ``batch_size``, end-to-end s/clip on
    ``clip_paths`` (None when empty), params, GFLOPs per view and peak CUDA memory (of the
    larger of the two batches, None on CPU).

    The model must already be on ``device`` and in the mode to measure (eval).
    """
    device = resolve_device(device)
    if batch_size < 1:
        raise InputError(f"batch size must be >= 1, got {batch_size}")
    num_views = views[0] * views[1]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    one = random_clip(preset, num_views, device, seed)
    latency = time_forward(model, one, warmup=warmup, iters=iters, amp=amp)
    if batch_size == 1:
        batch_times = latency
    else:
        many = random_clip(preset, batch_size * num_views, device, seed)
        batch_times = time_forward(model, many, warmup=min(warmup, 1), iters=iters, amp=amp)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    e2e = end_to_end_seconds(model, clip_paths, preset, num_clips=views[0], num_crops=views[1],
                             device=device, amp=amp) if clip_paths else np.array([])
    params = count_params(model)
    return SpeedReport(
        device=str(device),
        amp=amp_active(device, amp),
        views=views,
        batch_size=batch_size,
        latency_ms_median=float(np.median(latency) * 1e3),
        latency_ms_p90=float(np.percentile(latency, 90) * 1e3),
        clips_per_s=clips_per_second(batch_times, batch_size),
        end_to_end_s_per_clip=float(np.median(e2e)) if e2e.size else None,
        params_m=None if params is None else params / 1e6,
        gflops=gflops_per_view(model, preset, device),
        peak_memory_mb=peak,
    )
