"""Which frames a model sees: pure functions from a frame count to presentation indices.

Each family's official test rule works on ``n``, the number of frames actually decoded (here:
counted from the packets, ``utils.video.io.VideoReader``), and returns (num_clips, T) 0-based
indices. Training rules draw from a numpy Generator so one seed drives sampling and
augmentation. Sources (repository, file, function) are named in each docstring; the tests hold
every rule to an independent re-implementation on n = 75, 128, 256, 300, 320.
"""

from __future__ import annotations

import functools
import warnings
from typing import TYPE_CHECKING

import numpy as np

from utils.errors import InputError

if TYPE_CHECKING:
    import torch

# The clip length of TSM's dense sampling (I3D / non-local protocol), in frames.
DENSE_WINDOW = 64


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise InputError(f"{name} must be > 0, got {value}")


def segment_indices(n: int, num_segments: int, num_clips: int = 1) -> np.ndarray:
    """TSN/TSM uniform test sampling (mit-han-lab/temporal-shift-module, ``ops/dataset.py``,
    ``TSNDataSet._get_test_indices``, ``new_length`` = 1): ``tick = n / T``, clip 0 =
    ``int(tick / 2 + tick * x)`` (segment centres); two clips = ``twice_sample``, clip 1 =
    ``int(tick * x)`` (segment starts). More clips (not official) continue the pattern: clip
    ``j`` is shifted by ``(0.5 + j / K) mod 1`` of a segment."""
    _check_positive(n=n, num_segments=num_segments, num_clips=num_clips)
    tick = n / float(num_segments)
    shifts = [(0.5 + j / num_clips) % 1.0 for j in range(num_clips)]
    return np.array(
        [[int(tick * s + tick * x) for x in range(num_segments)] for s in shifts], np.int64
    )


def dense_segment_indices(n: int, num_segments: int, num_clips: int = 10) -> np.ndarray:
    """TSM dense test sampling (same file and function, ``dense_sample``): clips of T frames
    ``64 // T`` apart, starts ``np.linspace(0, max(1, n - 63) - 1, num_clips, dtype=int)``,
    indices modulo n (a short video wraps around). The official protocol has 10 clips."""
    _check_positive(n=n, num_segments=num_segments, num_clips=num_clips)
    sample_pos = max(1, 1 + n - DENSE_WINDOW)
    stride = DENSE_WINDOW // num_segments
    starts = np.linspace(0, sample_pos - 1, num=num_clips, dtype=int)
    return np.array(
        [[(i * stride + int(s)) % n for i in range(num_segments)] for s in starts], np.int64
    )


def segment_train_indices(
    n: int, num_segments: int, rng: np.random.Generator, *, dense: bool = False
) -> np.ndarray:
    """TSN/TSM training sampling (same file, ``TSNDataSet._sample_indices``), shape (1, T):
    one random frame per segment (sorted random frames when ``n < 2T``, all 0 when ``n <= T``);
    ``dense``: one window of ``64 // T`` strides at a random start."""
    _check_positive(n=n, num_segments=num_segments)
    if dense:
        sample_pos = max(1, 1 + n - DENSE_WINDOW)
        start = 0 if sample_pos == 1 else int(rng.integers(0, sample_pos - 1))
        stride = DENSE_WINDOW // num_segments
        return np.array([[(i * stride + start) % n for i in range(num_segments)]], np.int64)
    average = n // num_segments
    if average > 0:
        index = np.arange(num_segments) * average + rng.integers(0, average, size=num_segments)
    elif n > num_segments:
        index = np.sort(rng.integers(0, n, size=num_segments))
    else:
        index = np.zeros(num_segments, np.int64)
    return index.astype(np.int64)[None]


def _linspace_indices(starts: np.ndarray, window: float, num_frames: int, n: int) -> np.ndarray:
    import torch

    rows = [
        torch.clamp(torch.linspace(float(s), float(s) + window - 1, num_frames), 0, n - 1).long()
        for s in starts
    ]
    return torch.stack(rows).numpy().astype(np.int64)


def pyslowfast_window(num_frames: int, sampling_rate: int, video_fps: float, target_fps: float
                      ) -> float:
    """Frames covered by one clip: ``max(1, sampling_rate * num_frames / target_fps *
    video_fps)`` (facebookresearch/SlowFast ``slowfast/datasets/decoder.py``, ``decode``)."""
    return max(1.0, sampling_rate * num_frames / target_fps * video_fps)


def pyslowfast_indices(
    n: int,
    num_frames: int,
    sampling_rate: int,
    video_fps: float,
    *,
    target_fps: float = 30.0,
    num_clips: int = 1,
) -> np.ndarray:
    """PySlowFast test sampling (facebookresearch/SlowFast ``slowfast/datasets/decoder.py``:
    ``get_start_end_idx`` without offset, then ``temporal_sampling``): clip ``i`` of ``K``
    starts at ``max(n - window, 0) * i / K`` (so one clip starts at frame 0), and its
    ``num_frames`` indices are ``torch.linspace(start, start + window - 1, num_frames)``
    clamped to [0, n - 1] and truncated, spread over the whole window (X3D-XS: 4 frames over
    48). ``video_fps`` is the stream's average rate."""
    _check_positive(n=n, num_frames=num_frames, sampling_rate=sampling_rate, num_clips=num_clips,
                    video_fps=video_fps)
    window = pyslowfast_window(num_frames, sampling_rate, video_fps, target_fps)
    delta = max(n - window, 0)
    starts = np.array([delta * i / num_clips for i in range(num_clips)])
    return _linspace_indices(starts, window, num_frames, n)


def pyslowfast_train_indices(
    n: int,
    num_frames: int,
    sampling_rate: int,
    video_fps: float,
    rng: np.random.Generator,
    *,
    target_fps: float = 30.0,
) -> np.ndarray:
    """PySlowFast training sampling (``get_start_end_idx`` with ``clip_idx = -1``): the window
    starts uniformly at random in [0, max(n - window, 0)], shape (1, T)."""
    _check_positive(n=n, num_frames=num_frames, sampling_rate=sampling_rate, video_fps=video_fps)
    window = pyslowfast_window(num_frames, sampling_rate, video_fps, target_fps)
    start = rng.uniform(0, max(n - window, 0))
    return _linspace_indices(np.array([start]), window, num_frames, n)


def torchvision_frames(n: int, video_fps: float, frame_rate: float) -> np.ndarray:
    """Frames kept when resampling to ``frame_rate`` (torchvision
    ``datasets/video_utils.py``, ``VideoClips.compute_clips_for_video`` and
    ``_resample_video_idx``): every ``step``-th frame when ``step = video_fps / frame_rate`` is
    an integer (a slice: ``ceil(n / step)`` frames), else ``floor(arange(m) * step)`` in float32
    with ``m = floor(n * frame_rate / video_fps)``."""
    import math

    import torch

    _check_positive(n=n, video_fps=video_fps, frame_rate=frame_rate)
    step = video_fps / frame_rate
    if float(step).is_integer():
        return np.arange(0, n, int(step), dtype=np.int64)
    total = math.floor(n * frame_rate / video_fps)
    return (torch.arange(total, dtype=torch.float32) * step).floor().long().numpy()


def torchvision_indices(
    n: int, num_frames: int, video_fps: float, frame_rate: float, *, num_clips: int = 1
) -> np.ndarray:
    """torchvision's video test protocol (``references/video_classification/train.py``):
    every window of ``num_frames`` consecutive resampled frames is a clip
    (``step_between_clips=1``), and ``UniformClipSampler`` takes clips
    ``floor(linspace(0, L - 1, K))`` in float32 (so one clip = the first window). A video with
    fewer resampled frames than ``num_frames`` (torchvision skips it) repeats its last frame."""
    import torch

    _check_positive(num_frames=num_frames, num_clips=num_clips)
    kept = torchvision_frames(n, video_fps, frame_rate)
    count = max(len(kept) - num_frames + 1, 1)
    starts = torch.linspace(0, count - 1, steps=num_clips).floor().long().numpy()
    window = np.minimum(starts[:, None] + np.arange(num_frames)[None], len(kept) - 1)
    return kept[window]


def torchvision_train_indices(
    n: int, num_frames: int, video_fps: float, frame_rate: float, rng: np.random.Generator
) -> np.ndarray:
    """One random window of the resampled frames (``RandomClipSampler``), shape (1, T)."""
    _check_positive(num_frames=num_frames)
    kept = torchvision_frames(n, video_fps, frame_rate)
    start = int(rng.integers(0, max(len(kept) - num_frames + 1, 1)))
    window = np.minimum(start + np.arange(num_frames), len(kept) - 1)
    return kept[window][None]


def slow_indices(num_frames: int, alpha: int) -> torch.Tensor:
    """Fast-pathway frames kept by the slow pathway: ``torch.linspace(0, T-1, T // alpha)``
    truncated, in float32 exactly as pytorchvideo's PackPathway (32 frames, alpha 4 ->
    0, 4, 8, 13, 17, 22, 26, 31; float32 matters: for T=95 it gives 46 where float64 gives 47).

    The indices are a constant of (T, alpha), so a traced or exported model holds them as
    numbers: tracing the linspace itself exports ONNX ``Range`` arithmetic, which picks frame
    30 instead of 31 for T=32."""
    import torch

    return torch.tensor(_slow_index_list(int(num_frames), int(alpha)))


@functools.cache
def _slow_index_list(num_frames: int, alpha: int) -> tuple[int, ...]:
    import torch

    _check_positive(num_frames=num_frames, alpha=alpha)
    if num_frames < alpha:
        raise InputError(f"SlowFast needs at least alpha={alpha} frames, got {num_frames}")
    with warnings.catch_warnings():  # under tracing: the list is meant to become a constant
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return tuple(torch.linspace(0, num_frames - 1, num_frames // alpha).long().tolist())


def pack_slowfast(clip: torch.Tensor, alpha: int = 4) -> list[torch.Tensor]:
    """[slow, fast] pathways of a (..., C, T, H, W) clip; slow keeps ``slow_indices`` of T."""
    index = slow_indices(clip.shape[-3], alpha).to(clip.device)
    return [clip.index_select(-3, index), clip]
