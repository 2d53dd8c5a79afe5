"""Samplers against hand-computed indices (the official-rule comparisons on real videos are in
test_video_recipes.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from utils.errors import InputError
from utils.video.sampling import (
    dense_segment_indices,
    pack_slowfast,
    pyslowfast_indices,
    pyslowfast_train_indices,
    segment_indices,
    segment_train_indices,
    slow_indices,
    torchvision_frames,
    torchvision_indices,
    torchvision_train_indices,
)


def test_segment_centres_and_twice_sample() -> None:
    # 300 frames, 8 segments: tick 37.5; centres int(18.75 + 37.5 x), starts int(37.5 x)
    assert segment_indices(300, 8).tolist() == [[18, 56, 93, 131, 168, 206, 243, 281]]
    assert segment_indices(300, 8, 2)[1].tolist() == [0, 37, 75, 112, 150, 187, 225, 262]
    # 4 clips continue the pattern: shifts 0.5, 0.75, 0, 0.25 of a segment
    assert segment_indices(8, 2, 4).tolist() == [[2, 6], [3, 7], [0, 4], [1, 5]]


def test_dense_sampling_starts_and_wraps() -> None:
    # 300 frames: starts linspace(0, 236, 10) truncated, stride 8
    dense = dense_segment_indices(300, 8)
    assert dense[:, 0].tolist() == [0, 26, 52, 78, 104, 131, 157, 183, 209, 236]
    assert dense[0].tolist() == list(range(0, 64, 8))
    # 40 frames: one start (0), indices modulo 40
    assert dense_segment_indices(40, 8)[3].tolist() == [0, 8, 16, 24, 32, 0, 8, 16]


def test_segment_training_is_seeded_and_stays_in_its_segment() -> None:
    a = segment_train_indices(80, 8, np.random.default_rng(7))
    assert np.array_equal(a, segment_train_indices(80, 8, np.random.default_rng(7)))
    assert np.all((a[0] >= np.arange(8) * 10) & (a[0] < np.arange(8) * 10 + 10))
    assert segment_train_indices(5, 8, np.random.default_rng(0)).tolist() == [[0] * 8]
    short = segment_train_indices(12, 8, np.random.default_rng(1))[0]  # n < 2T: sorted randoms
    assert np.all(np.diff(short) >= 0) and short.max() < 12


def test_pyslowfast_window_spreads_over_all_of_it() -> None:
    # X3D-XS: 4 frames x 12 at 30 fps = 48 frames; linspace(0, 47, 4) -> 0, 15, 31, 47
    assert pyslowfast_indices(300, 4, 12, 30.0).tolist() == [[0, 15, 31, 47]]
    # SlowFast on a 60 fps video: the window doubles to 128 frames
    assert pyslowfast_indices(300, 32, 2, 60.0)[0, -1] == 127
    # 3 clips in 100 frames of 30 fps: delta 36, starts 0, 12, 24
    clips = pyslowfast_indices(100, 32, 2, 30.0, num_clips=3)
    assert clips[:, 0].tolist() == [0, 12, 24] and clips[2, -1] == 24 + 63
    # a video shorter than the window repeats its last frame
    assert pyslowfast_indices(40, 32, 2, 30.0)[0, -5:].tolist() == [39] * 5


def test_pyslowfast_training_window_is_random_and_inside() -> None:
    rows = [pyslowfast_train_indices(300, 4, 12, 30.0, np.random.default_rng(s)) for s in range(20)]
    starts = {int(r[0, 0]) for r in rows}
    assert len(starts) > 10 and min(starts) >= 0 and max(r[0, -1] for r in rows) <= 299


def test_torchvision_resampling() -> None:
    assert torchvision_frames(7, 30.0, 15.0).tolist() == [0, 2, 4, 6]  # a slice: ceil(7 / 2)
    # 25 -> 15 fps: floor(arange(floor(10 * 15 / 25)) * 5 / 3) = 0, 1, 3, 5, 6, 8
    assert torchvision_frames(10, 25.0, 15.0).tolist() == [0, 1, 3, 5, 6, 8]
    # 5 clips of 16 out of 150 kept frames (300 at 30 fps): floor(linspace(0, 134, 5))
    clips = torchvision_indices(300, 16, 30.0, 15.0, num_clips=5)
    assert (clips[:, 0] // 2).tolist() == [0, 33, 67, 100, 134]
    assert np.all(np.diff(clips, axis=1) == 2)
    train = torchvision_train_indices(300, 16, 30.0, 15.0, np.random.default_rng(3))
    assert train.shape == (1, 16) and np.all(np.diff(train) == 2)


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="n must be > 0"):
        segment_indices(0, 8)
    with pytest.raises(InputError, match="num_clips"):
        pyslowfast_indices(100, 8, 2, 30.0, num_clips=0)
    with pytest.raises(InputError, match="video_fps"):
        torchvision_indices(100, 16, 0.0, 15.0)


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
