"""Which moments of a clip a model sees: pure functions from a duration to times in seconds.

Times (not frame indices) make every sampler independent of the file's frame rate; the decoder
returns the frame shown at each time (``utils.video.io.read_frames``). For a constant-rate video
the frame index shown at time ``t`` is ``floor(t * fps)``, which is how the tests check them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from utils.errors import InputError

if TYPE_CHECKING:
    import torch

CLIP_STARTS = ("center", "random", "uniform")


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise InputError(f"{name} must be > 0, got {value}")


def segment_times(
    duration: float,
    num_segments: int,
    *,
    train: bool = False,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """TSN/TSM sampling: one time in each of ``num_segments`` equal segments, shape (T,).

    Test: the centre of each segment, so frame ``floor((i + 0.5) * num_frames / T)`` as in the
    official TSM code. Train: uniformly random inside each segment (``rng`` seeds it).
    """
    _check_positive(duration=duration, num_segments=num_segments)
    length = duration / num_segments
    offsets = np.random.default_rng(rng).uniform(size=num_segments) if train else 0.5
    return (np.arange(num_segments) + offsets) * length


def multi_segment_times(duration: float, num_segments: int, num_clips: int) -> np.ndarray:
    """Multi-view segment sampling, shape (num_clips, T): view ``j`` takes the point at fraction
    ``(j + 0.5) / num_clips`` of every segment (one view = the segment centres; two views = the
    quarter points, like TSM's "twice sample")."""
    _check_positive(duration=duration, num_segments=num_segments, num_clips=num_clips)
    length = duration / num_segments
    fractions = (np.arange(num_clips)[:, None] + 0.5) / num_clips
    return (np.arange(num_segments)[None, :] + fractions) * length


def clip_times(
    duration: float,
    num_frames: int,
    sampling_rate: int,
    fps: float,
    *,
    start: str = "center",
    num_clips: int = 1,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Dense sampling: ``num_frames`` times ``sampling_rate / fps`` seconds apart, (num_clips, T).

    The window lasts ``num_frames * sampling_rate / fps`` seconds (SlowFast 32 x 2 at 30 fps:
    2.13 s). ``start``: "center" puts it in the middle of the clip, "random" anywhere inside it
    (``rng`` seeds it; one draw per clip), "uniform" spreads ``num_clips`` windows evenly from the
    start to the end of the clip (first at 0, last ending at ``duration``; one clip = centre).
    A clip shorter than the window starts at 0 and the decoder repeats its last frame.
    """
    _check_positive(
        duration=duration,
        num_frames=num_frames,
        sampling_rate=sampling_rate,
        fps=fps,
        num_clips=num_clips,
    )
    if start not in CLIP_STARTS:
        raise InputError(f"start must be one of {', '.join(CLIP_STARTS)}; got {start!r}")
    if start == "center" and num_clips > 1:
        raise InputError("several clips need start='uniform' or 'random', not 'center'")
    step = sampling_rate / fps
    slack = max(duration - num_frames * step, 0.0)
    if start == "random":
        starts = np.random.default_rng(rng).uniform(0.0, slack, size=num_clips)
    elif num_clips == 1:
        starts = np.array([slack / 2])
    else:
        starts = np.linspace(0.0, slack, num_clips)
    return starts[:, None] + np.arange(num_frames)[None, :] * step


def slow_indices(num_frames: int, alpha: int) -> torch.Tensor:
    """Fast-pathway frames kept by the slow pathway: ``torch.linspace(0, T-1, T // alpha)``
    truncated, in float32 exactly as pytorchvideo's PackPathway (32 frames, alpha 4 ->
    0, 4, 8, 13, 17, 22, 26, 31; float32 matters: for T=95 it gives 46 where float64 gives 47)."""
    import torch

    _check_positive(num_frames=num_frames, alpha=alpha)
    if num_frames < alpha:
        raise InputError(f"SlowFast needs at least alpha={alpha} frames, got {num_frames}")
    return torch.linspace(0, num_frames - 1, num_frames // alpha).long()


def pack_slowfast(clip: torch.Tensor, alpha: int = 4) -> list[torch.Tensor]:
    """[slow, fast] pathways of a (..., C, T, H, W) clip; slow keeps ``slow_indices`` of T."""
    index = slow_indices(clip.shape[-3], alpha).to(clip.device)
    return [clip.index_select(-3, index), clip]
