"""Samplers against hand-computed times; for a 30 fps clip the frame shown is floor(t * 30)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from utils.errors import InputError
from utils.video.sampling import (
    clip_times,
    multi_segment_times,
    pack_slowfast,
    segment_times,
    slow_indices,
)


def test_segment_centres_match_the_official_tsm_indices() -> None:
    # 10 s at 30 fps = 300 frames, 8 segments of 1.25 s: centres 0.625, 1.875, ...
    times = segment_times(10.0, 8)
    np.testing.assert_allclose(times, [0.625, 1.875, 3.125, 4.375, 5.625, 6.875, 8.125, 9.375])
    tick = 300 / 8  # TSM test rule: int(tick / 2 + tick * i)
    official = [int(tick / 2 + tick * i) for i in range(8)]
    assert (
        np.floor(times * 30).astype(int).tolist()
        == official
        == [18, 56, 93, 131, 168, 206, 243, 281]
    )


def test_segment_train_is_seeded_and_stays_in_its_segment() -> None:
    a = segment_times(4.0, 4, train=True, rng=7)
    b = segment_times(4.0, 4, train=True, rng=7)
    np.testing.assert_array_equal(a, b)
    assert np.all((a >= np.arange(4)) & (a < np.arange(4) + 1))
    assert not np.array_equal(a, segment_times(4.0, 4, train=True, rng=8))


def test_multi_segment_views() -> None:
    np.testing.assert_allclose(multi_segment_times(8.0, 4, 1), [[1, 3, 5, 7]])
    np.testing.assert_allclose(
        multi_segment_times(8.0, 4, 2), [[0.5, 2.5, 4.5, 6.5], [1.5, 3.5, 5.5, 7.5]]
    )


def test_slowfast_window_is_2_13_s_and_centred() -> None:
    # 32 frames x rate 2 at 30 fps = 64/30 s; in a 4 s clip it starts at (4 - 64/30) / 2.
    times = clip_times(4.0, 32, 2, 30.0)
    assert times.shape == (1, 32)
    start = (4.0 - 64 / 30) / 2
    assert times[0, 0] == pytest.approx(start)
    np.testing.assert_allclose(np.diff(times[0]), 2 / 30)
    # Start = 0.9333 s = frame 28; then every second frame: 28, 30, ..., 90.
    assert np.floor(times[0] * 30 + 1e-6).astype(int).tolist() == list(range(28, 92, 2))


def test_uniform_clips_span_the_whole_clip() -> None:
    # 4 frames x rate 12 at 30 fps = 1.6 s windows in 10 s: starts 0, 4.2, 8.4 (last ends at 10).
    times = clip_times(10.0, 4, 12, 30.0, start="uniform", num_clips=3)
    np.testing.assert_allclose(times[:, 0], [0.0, 4.2, 8.4])
    np.testing.assert_allclose(times[-1, -1] + 0.4, 10.0)


def test_short_clip_starts_at_zero() -> None:
    np.testing.assert_allclose(clip_times(1.0, 4, 10, 20.0), [[0.0, 0.5, 1.0, 1.5]])


def test_random_clips_are_seeded_and_inside() -> None:
    a = clip_times(10.0, 8, 8, 30.0, start="random", num_clips=5, rng=3)
    np.testing.assert_array_equal(
        a, clip_times(10.0, 8, 8, 30.0, start="random", num_clips=5, rng=3)
    )
    assert a.shape == (5, 8) and a.min() >= 0 and (a[:, 0] + 64 / 30).max() <= 10.0


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="start must be"):
        clip_times(4.0, 8, 2, 30.0, start="middle")
    with pytest.raises(InputError, match="uniform"):
        clip_times(4.0, 8, 2, 30.0, num_clips=3)
    with pytest.raises(InputError, match="duration"):
        segment_times(0.0, 8)


def test_slow_indices_follow_packpathway() -> None:
    assert slow_indices(32, 4).tolist() == [0, 4, 8, 13, 17, 22, 26, 31]
    # float32 linspace, as pytorchvideo: 46.999996 truncates to 46 (float64 would give 47).
    assert slow_indices(95, 4).tolist()[11] == 46
    for t in (8, 16, 32, 64, 95):
        assert slow_indices(t, 4).tolist() == torch.linspace(0, t - 1, t // 4).long().tolist()


def test_pack_slowfast_selects_frames_on_the_time_axis() -> None:
    clip = torch.arange(32, dtype=torch.float32).view(1, 32, 1, 1).expand(3, 32, 2, 2)
    slow, fast = pack_slowfast(clip, alpha=4)
    assert slow.shape == (3, 8, 2, 2) and fast is clip
    assert slow[0, :, 0, 0].tolist() == [0, 4, 8, 13, 17, 22, 26, 31]
    batch_slow, _ = pack_slowfast(clip.unsqueeze(0).repeat(2, 1, 1, 1, 1))
    assert batch_slow.shape == (2, 3, 8, 2, 2)
