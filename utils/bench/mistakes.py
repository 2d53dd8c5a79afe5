"""The four input mistakes of the original course, rebuilt on purpose so their cost can be measured.

The course's T4 table (SlowFast 41 %, TSM 31 %, TSN 21 % top-1 against 77 / 71 / 69 published)
came from these. Each function below turns the correct pipeline's input (or model) into what the
course fed, so one comparison isolates one mistake:

1. ``train_mode(model)``: the model left in training mode. BatchNorm then normalises with the
   statistics of the current batch instead of the learned ones, and dropout zeroes activations.
2. ``bgr_input(x, preset)``: frames read with OpenCV are BGR; an RGB model then sees red and blue
   swapped. Undoing the normalisation, swapping, normalising again equals decoding BGR frames and
   running the same pipeline (resizing and cropping act on each channel alone).
3. ``cthw_as_frame_major(x)``: a (C, T, H, W) clip fed where the model reads its input
   frame-major. The official TSN/TSM takes (N, T*3, H, W) and views it as (N*T, 3, H, W)
   (mit-han-lab/temporal-shift-module ``ops/models.py``, ``TSN.forward``); given C-major memory,
   "frame" 0 is made of the red channel of frames 0, 1, 2, and so on.
4. ``course_preset(preset)``: mean 0.45 / std 0.225 and 256x256 crops (SlowFast's recipe) for
   models trained with ImageNet mean/std on 224x224 crops.

``compare_predictions`` measures the effect against the correct pipeline: top-1/top-5 (real
data and weights) and how much the predictions move (meaningful with random weights too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from utils.bench.accuracy import EvalResult
from utils.errors import InputError
from utils.video.presets import KINETICS_MEAN, KINETICS_STD, Preset

COURSE_SIDE = 256  # the course resized the short side to 256 and cropped 256x256 for every model


@contextmanager
def train_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Mistake 1: run ``model`` in training mode inside the block. Its buffers (BatchNorm running
    statistics, which a training-mode forward updates) and its mode are restored on exit, so the
    measurements after this one are not contaminated."""
    saved = {name: buffer.clone() for name, buffer in model.named_buffers()}
    was_training = model.training
    model.train()
    try:
        yield model
    finally:
        model.train(was_training)
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                buffer.copy_(saved[name])


def _channel_stats(preset: Preset, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (3, 1, 1, 1)
    mean = torch.tensor(preset.mean, dtype=x.dtype, device=x.device).view(shape)
    std = torch.tensor(preset.std, dtype=x.dtype, device=x.device).view(shape)
    return mean, std


def bgr_input(x: torch.Tensor, preset: Preset) -> torch.Tensor:
    """Mistake 2: the input the model gets when the frames were BGR. ``x`` is (..., 3, T, H, W)
    normalised by ``preset``; the result is normalised the same way, channels reversed."""
    if x.ndim < 4 or x.shape[-4] != 3:
        raise InputError(f"expected (..., 3, T, H, W), got {tuple(x.shape)}")
    mean, std = _channel_stats(preset, x)
    return ((x * std + mean).flip(-4) - mean) / std


def cthw_as_frame_major(x: torch.Tensor) -> torch.Tensor:
    """Mistake 3: what a frame-major model sees when fed a channels-first clip.

    ``x`` is the correct (N, 3, T, H, W) input. Its memory, read as (N, T, 3, H, W) the way the
    official TSN/TSM reads (N, T*3, H, W), is returned in the (N, 3, T, H, W) layout of this
    project's contract, so the model's own frame-major reshape reproduces the course's input.
    """
    if x.ndim != 5 or x.shape[1] != 3:
        raise InputError(f"expected (N, 3, T, H, W), got {tuple(x.shape)}")
    n, c, t, h, w = x.shape
    return x.contiguous().view(n, t, c, h, w).transpose(1, 2)


def course_preset(preset: Preset) -> Preset:
    """Mistake 4: ``preset`` with the course's normalisation (0.45 / 0.225) and crop (short side
    256, 256x256). Identical to ``preset`` for models whose recipe already is that (SlowFast)."""
    changed = dataclasses.replace(preset, mean=KINETICS_MEAN, std=KINETICS_STD,
                                  resize=COURSE_SIDE, crop=COURSE_SIDE)
    if changed == preset:
        return preset
    return dataclasses.replace(changed, name=f"{preset.name}_course")


def compare_predictions(correct: EvalResult, mistaken: EvalResult) -> dict[str, Any]:
    """How far a mistaken run is from the correct one, clip by clip.

    ``top1_agreement``: share of clips whose top-1 class is unchanged.
    ``mean_abs_dprob``: mean over clips of |change| of the probability of the class the correct
    pipeline ranks first. ``top1_delta`` / ``top5_delta``: change of accuracy in points.
    """
    if [str(p) for p in correct.paths] != [str(p) for p in mistaken.paths]:
        raise InputError("the two runs did not evaluate the same clips")
    if not correct.clips:
        raise InputError("no clip was evaluated")
    best = correct.probs.argmax(axis=1)
    rows = np.arange(correct.clips)
    return {
        "clips": correct.clips,
        "top1_agreement": float((mistaken.probs.argmax(axis=1) == best).mean()),
        "mean_abs_dprob": float(np.abs(mistaken.probs[rows, best] - correct.probs[rows, best])
                                .mean()),
        "top1": mistaken.top1,
        "top5": mistaken.top5,
        "top1_delta": mistaken.top1 - correct.top1,
        "top5_delta": mistaken.top5 - correct.top5,
    }


def describe_effects(correct: EvalResult, effects: dict[str, dict[str, Any]], *,
                     findings: bool) -> str:
    """Markdown sentences generated from the measured effects. ``findings`` is True only for a
    pretrained model on real clips; otherwise the text says the accuracies mean nothing and
    speaks only of how far the predictions moved."""
    worst = min(effects, key=lambda name: (effects[name]["top1_agreement"],
                                           -effects[name]["mean_abs_dprob"]))
    lines = []
    if findings:
        lines.append(f"With the correct pipeline top-1 is **{correct.top1:.1f} %** on "
                     f"{correct.clips} clips.")
        lines += [f"- {name}: top-1 {e['top1']:.1f} % ({e['top1_delta']:+.1f} points), "
                  f"top-1 unchanged on {100 * e['top1_agreement']:.0f} % of the clips."
                  for name, e in effects.items()]
    else:
        lines.append(f"Random weights and/or synthetic clips: the top-1 values "
                     f"({correct.top1:.1f} % with the correct pipeline) are not findings. What "
                     "is measured is how far each mistake moves the predictions:")
        lines += [f"- {name}: the top-1 class stays the same on "
                  f"{100 * e['top1_agreement']:.0f} % of the {e['clips']} clips; the probability "
                  f"of the correct pipeline's top class moves by {e['mean_abs_dprob']:.4f} on "
                  "average." for name, e in effects.items()]
    lines.append(f"The largest change comes from **{worst}** "
                 f"({100 * effects[worst]['top1_agreement']:.0f} % of top-1 answers unchanged, "
                 f"mean |Δprob| {effects[worst]['mean_abs_dprob']:.4f}).")
    return "\n".join(lines)
