"""Presets hold the published recipes and cite their sources; load_clip returns the right
frames in the right layout (the comparisons with each official pipeline on real videos are in
test_video_recipes.py)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from utils.errors import InputError
from utils.video.io import write_video
from utils.video.presets import PRESETS, Preset, get_preset, load_clip

TORCHVISION_NAMES = ["r2plus1d_18", "r3d_18", "mc3_18", "s3d", "mvit_v2_s"]


def natural_frames(t: int = 6, h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    """Smooth moving gradients plus a bar."""
    yy, xx = np.mgrid[0:h, 0:w]
    frames = np.empty((t, h, w, 3), np.uint8)
    for i in range(t):
        frames[i, ..., 0] = (xx + 7 * i) % 256
        frames[i, ..., 1] = (yy + 3 * i) % 256
        frames[i, ..., 2] = ((xx + yy) // 2 + seed) % 256
        frames[i, 100:140, 40 * i : 40 * i + 30] = 255
    return frames


@pytest.mark.parametrize("name", TORCHVISION_NAMES)
def test_torchvision_presets_match_weights_transforms(name: str) -> None:
    weights = torchvision.models.get_model_weights(name).DEFAULT
    preset = get_preset(name)
    frames = natural_frames()
    theirs = weights.transforms()(torch.from_numpy(frames).permute(0, 3, 1, 2))
    ours = preset.transform(frames)
    assert ours.shape == (1, *theirs.shape)
    std = torch.tensor(preset.std).view(3, 1, 1, 1)
    assert ((ours[0] - theirs).abs() * std * 255).max() <= 1.0 + 1e-4  # uint8 vs float rounding
    docs = weights.meta["_docs"]
    assert preset.fps == float(re.search(r"frame_rate=([\d.]+)", docs).group(1))
    assert preset.num_frames == int(re.search(r"clip_len=(\d+)", docs).group(1))
    assert preset.published_views[0] == int(re.search(r"clips_per_video=(\d+)", docs).group(1))
    assert (preset.family, preset.sampling_rate) == ("torchvision", 1)


def test_published_recipes() -> None:
    sf = get_preset("slowfast_r50")
    assert (sf.num_frames, sf.sampling_rate, sf.fps, sf.resize, sf.crop, sf.alpha) == (
        32,
        2,
        30.0,
        256,
        256,
        4,
    )
    assert sf.window_seconds == pytest.approx(2.1333, abs=1e-4)
    assert (sf.mean, sf.std, sf.published_views) == ((0.45,) * 3, (0.225,) * 3, (10, 3))
    recipes = {
        n: (PRESETS[n].num_frames, PRESETS[n].sampling_rate, PRESETS[n].resize, PRESETS[n].crop)
        for n in ("x3d_xs", "x3d_s", "x3d_m")
    }
    assert recipes == {
        "x3d_xs": (4, 12, 182, 182),
        "x3d_s": (13, 6, 182, 182),
        "x3d_m": (16, 5, 256, 256),
    }
    for name in ("tsn_r50", "tsm_r50"):
        p = PRESETS[name]
        assert (p.sampling, p.num_frames, p.resize, p.crop, p.antialias) == (
            "segments",
            8,
            256,
            224,
            True,
        )
        assert (p.mean, p.std) == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        assert p.window_seconds is None and p.family == "tsm"


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_cites_its_official_source(name: str) -> None:
    preset = get_preset(name)
    repo = {
        "pyslowfast": "facebookresearch/SlowFast",
        "tsm": "mit-han-lab/temporal-shift-module",
        "torchvision": "pytorch/vision",
    }[preset.family]
    assert preset.source.startswith(repo + ":")
    assert re.search(r"\w+/\w+\.py \(\w+", preset.source)  # a file and its function
    assert preset.protocol.startswith(f"{name}: {preset.family} recipe, published with")


def test_default_recipe_follows_the_sampling() -> None:
    dense = Preset("d", "dense", 4, 32, 32, (0.5,) * 3, (0.5,) * 3, "", sampling_rate=2, fps=30.0)
    segments = Preset("s", "segments", 8, 32, 32, (0.5,) * 3, (0.5,) * 3, "")
    assert (dense.family, segments.family) == ("pyslowfast", "tsm")
    assert (dense.source, dense.published_views) == ("", (1, 1))
    assert "source: not given" in dense.protocol


def test_get_preset_lists_valid_names() -> None:
    with pytest.raises(InputError, match=r"slowfast_r50.*tsm_r50.*mvit_v2_s"):
        get_preset("slowfast")


@pytest.fixture(scope="module")
def indexed_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s at 30 fps, 64x48, frame i a flat grey of level 4 * i."""
    levels = np.arange(60, dtype=np.uint8) * 4
    frames = np.broadcast_to(levels[:, None, None, None], (60, 48, 64, 3)).copy()
    return write_video(tmp_path_factory.mktemp("p") / "idx.mp4", frames, 30)


def decoded_index(clip: torch.Tensor, mean: float, std: float) -> list[int]:
    """Frame indices of a (C, T, H, W) normalised clip of flat grey frames."""
    grey = (clip[0].mean(dim=(-1, -2)) * std + mean) * 255
    return torch.round(grey / 4).long().tolist()


def test_load_clip_tsn_takes_segment_centres(indexed_clip: Path) -> None:
    p = get_preset("tsm_r50")
    x = load_clip(indexed_clip, p)
    assert x.shape == (1, 3, 8, 224, 224) and x.dtype == torch.float32
    # 60 frames, 8 segments: int(3.75 + 7.5 x)
    assert decoded_index(x[0], p.mean[0], p.std[0]) == [3, 11, 18, 26, 33, 41, 48, 56]
    full_res = load_clip(indexed_clip, p, num_crops=3)
    assert full_res.shape == (3, 3, 8, 256, 256)  # --full_res: 256 x 256 crops


def test_load_clip_views_are_clip_major(indexed_clip: Path) -> None:
    # X3D-XS: 48-frame windows in 60 frames, delta 12; 2 clips start at 0 and 6.
    x = load_clip(indexed_clip, get_preset("x3d_xs"), num_clips=2, num_crops=3)
    got = [decoded_index(view, 0.45, 0.225) for view in x]
    assert got == [[0, 15, 31, 47]] * 3 + [[6, 21, 37, 53]] * 3


@pytest.mark.parametrize(("clips", "crops"), [(1, 1), (2, 3), (1, 10)])
def test_load_clip_view_counts(indexed_clip: Path, clips: int, crops: int) -> None:
    x = load_clip(indexed_clip, get_preset("x3d_xs"), num_clips=clips, num_crops=crops)
    assert x.shape == (clips * crops, 3, 4, 182, 182)


def test_load_clip_train_is_seeded(indexed_clip: Path) -> None:
    p = get_preset("x3d_s")
    a = load_clip(indexed_clip, p, train=True, rng=11)
    assert a.shape == (1, 3, 13, 160, 160)
    assert torch.equal(a, load_clip(indexed_clip, p, train=True, rng=11))
    xs = get_preset("x3d_xs")  # 48-frame window in 60 frames: random start in [0, 12]
    starts = {decoded_index(load_clip(indexed_clip, xs, train=True, rng=s)[0], 0.45, 0.225)[0]
              for s in range(8)}
    assert len(starts) > 3 and max(starts) <= 12
    with pytest.raises(InputError, match="one random crop"):
        load_clip(indexed_clip, p, train=True, num_crops=3)
    segments = load_clip(indexed_clip, get_preset("tsn_r50"), train=True, rng=0, num_clips=2)
    index = [decoded_index(v, 0.485, 0.229) for v in segments]
    assert all(k // 7 == i for row in index for i, k in enumerate(row))  # one per segment (7)
