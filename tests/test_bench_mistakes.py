"""The course's four mistakes, rebuilt: each equals what the course actually fed the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from bench_helpers import TINY_PRESET, tiny_kinetics
from torch import nn

from utils.bench.accuracy import EvalResult
from utils.bench.mistakes import (
    bgr_input,
    compare_predictions,
    course_preset,
    cthw_as_frame_major,
    train_mode,
)
from utils.errors import InputError
from utils.video.io import VideoReader
from utils.video.presets import IMAGENET_MEAN, KINETICS_STD, get_preset


def test_cthw_read_frame_major_by_hand() -> None:
    # value 10*c + t at channel c, time t (C = 3, T = 4); H = W = 1
    x = (10 * torch.arange(3).view(3, 1) + torch.arange(4).view(1, 4)).float()
    wrong = cthw_as_frame_major(x.view(1, 3, 4, 1, 1))
    assert wrong.shape == (1, 3, 4, 1, 1)
    # A frame-major model takes "frame" i = flat elements 3i..3i+2 of the C-major memory
    # (element k is channel k // 4, time k % 4): frame 0 = R of t0, t1, t2; frame 1 = R t3, G t0, t1
    frames = wrong[0, :, :, 0, 0].T  # (T, C) as the model's frame-major reshape sees it
    assert frames.tolist() == [[0, 1, 2], [3, 10, 11], [12, 13, 20], [21, 22, 23]]
    # ... which is exactly the official layout (N, T*3, H, W) filled from (C, T, H, W) memory
    official = x.reshape(1, 12, 1, 1).view(4, 3, 1, 1)
    assert torch.equal(frames, official[:, :, 0, 0])


def test_bgr_input_equals_decoding_bgr_frames(tmp_path: Path) -> None:
    folder = tiny_kinetics(tmp_path, classes=1, per_class=1)
    path = next(folder.glob("*.mp4"))
    preset = get_preset("tsm_r50")
    with VideoReader(path) as video:
        rgb = np.stack(video.read(preset.indices(video.num_frames, video.info.fps)[0]))
    correct = preset.transform(rgb)
    from_bgr = preset.transform(np.ascontiguousarray(rgb[..., ::-1]))  # what cv2 frames give
    assert not torch.allclose(correct, from_bgr)
    torch.testing.assert_close(bgr_input(correct, preset), from_bgr, rtol=0, atol=1e-5)
    with pytest.raises(InputError, match="expected"):
        bgr_input(torch.zeros(4, 4, 4, 4), preset)


def test_train_mode_changes_outputs_and_restores_the_model() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4), nn.Flatten(), nn.Dropout(0.5),
                          nn.LazyLinear(3))
    model(torch.randn(2, 3, 2, 4, 4))
    model[1].running_mean.fill_(0.3)
    model.eval()
    x = torch.randn(2, 3, 2, 4, 4)
    before = model(x)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with train_mode(model):
        assert model.training
        assert not torch.allclose(model(x), before)
    assert not model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert torch.equal(model(x), before)


def test_course_preset() -> None:
    tsm = get_preset("tsm_r50")
    wrong = course_preset(tsm)
    assert tsm.mean == IMAGENET_MEAN and tsm.crop == 224
    assert wrong.std == KINETICS_STD and wrong.crop == 256 and wrong.resize == 256
    assert wrong.name == "tsm_r50_course" and wrong.num_frames == tsm.num_frames
    slowfast = get_preset("slowfast_r50")
    assert course_preset(slowfast) is slowfast  # the course's recipe is SlowFast's own


def _result(probs: list[list[float]], labels: list[int]) -> EvalResult:
    return EvalResult([Path(f"c{i}.mp4") for i in range(len(labels))], np.array(labels),
                      np.array(probs), (1, 1))


def test_compare_predictions_by_hand() -> None:
    correct = _result([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.3, 0.5]], [0, 1, 0])
    mistaken = _result([[0.4, 0.5, 0.1], [0.1, 0.7, 0.2], [0.2, 0.3, 0.5]], [0, 1, 0])
    effect = compare_predictions(correct, mistaken)
    assert effect["top1_agreement"] == pytest.approx(2 / 3)
    # |0.4 - 0.7|, |0.7 - 0.6|, 0 -> mean 0.4 / 3
    assert effect["mean_abs_dprob"] == pytest.approx(0.4 / 3)
    assert effect["top1"] == pytest.approx(100 / 3)  # only clip 1 right
    assert effect["top1_delta"] == pytest.approx(100 / 3 - 200 / 3)
    with pytest.raises(InputError, match="same clips"):
        compare_predictions(correct, _result([[1.0, 0, 0]], [0]))


def test_mistaken_input_shapes_match_the_preset() -> None:
    x = torch.randn(2, 3, TINY_PRESET.num_frames, 32, 32)
    assert bgr_input(x, TINY_PRESET).shape == x.shape
    assert cthw_as_frame_major(x).shape == x.shape
    # swapping twice is the identity
    torch.testing.assert_close(bgr_input(bgr_input(x, TINY_PRESET), TINY_PRESET), x)
