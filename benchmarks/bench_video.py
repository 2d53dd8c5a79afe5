"""Clips per second of ``load_clip`` against pytorchvideo's EncodedVideo (the course's loader).

Both sides start from the same generated 320x240 30 fps H.264 clips and end with the same
tensor: the SlowFast R50 input (32 frames x rate 2, short side 256, centre crop 256, mean 0.45,
std 0.225) and the TSM R50 input (8 segment centres, short side 256, crop 224, ImageNet
mean/std). The baseline decodes with ``EncodedVideo.from_path(path, decoder="pyav")`` and
``get_clip(start, end)``, as the course does (the whole clip for TSM), then applies the same
transforms in plain torch: ``pytorchvideo.transforms`` cannot be imported with current
torchvision. ``pytorchvideo.data.encoded_video`` imports cleanly on its own (it does not pull in
``pytorchvideo.transforms``), so it is imported as is.

The last line printed is one JSON object; ``speedup_vs_pytorchvideo`` is the smaller of the two
per-preset ratios.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.video.io import write_video
from utils.video.presets import PRESETS, Preset, get_preset, load_clip


def make_clips(folder: Path, count: int, seconds: float, seed: int) -> list[Path]:
    """``count`` 320x240 30 fps clips of moving gradients and a moving bar (real motion, so the
    encoder produces realistic P/B frames rather than near-empty ones)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:240, 0:320]
    paths = []
    for k in range(count):
        n = round(seconds * 30)
        phase = rng.integers(0, 256, size=3)
        frames = np.empty((n, 240, 320, 3), np.uint8)
        for i in range(n):
            frames[i, ..., 0] = (xx + 3 * i + phase[0]) % 256
            frames[i, ..., 1] = (2 * yy + i + phase[1]) % 256
            frames[i, ..., 2] = ((xx + yy) // 2 + 5 * i + phase[2]) % 256
            x0 = (4 * i + k * 37) % 280
            frames[i, 90:150, x0 : x0 + 40] = 255
        paths.append(write_video(folder / f"clip_{seconds:g}s_{k}.mp4", frames, 30))
    return paths


def _scale_normalize_crop(video: torch.Tensor, preset: Preset) -> torch.Tensor:
    """(C, T, H, W) float in [0, 255] -> (1, C, T, crop, crop), in the order of pytorchvideo's
    published transform (divide by 255, Normalize, ShortSideScale, CenterCrop), with
    ShortSideScale's own call: ``interpolate`` on the (C, T, H, W) tensor as (N, C, H, W)."""
    mean = torch.tensor(preset.mean).view(3, 1, 1, 1)
    std = torch.tensor(preset.std).view(3, 1, 1, 1)
    video = (video / 255.0 - mean) / std
    h, w = video.shape[-2:]
    side = preset.resize
    size = (side, int(w * side / h)) if h <= w else (int(h * side / w), side)
    video = torch.nn.functional.interpolate(video, size=size, mode="bilinear", align_corners=False)
    top, left = (size[0] - preset.crop) // 2, (size[1] - preset.crop) // 2
    return video[..., top : top + preset.crop, left : left + preset.crop].unsqueeze(0)


def baseline_loader(preset: Preset) -> Callable[[Path], torch.Tensor]:
    from pytorchvideo.data.encoded_video import EncodedVideo

    def load(path: Path) -> torch.Tensor:
        video = EncodedVideo.from_path(str(path), decoder="pyav")
        duration = float(video.duration)
        if preset.sampling == "dense":
            window = preset.window_seconds or 0.0
            start = max(duration - window, 0.0) / 2
            frames = video.get_clip(start, start + window)["video"]
            t = frames.shape[1]
            index = torch.linspace(0, t - 1, preset.num_frames).long()
        else:  # TSN/TSM: the course decodes the whole clip, then picks segment centres
            frames = video.get_clip(0, duration)["video"]
            t = frames.shape[1]
            index = ((torch.arange(preset.num_frames) + 0.5) * t / preset.num_frames).long()
        video.close()
        return _scale_normalize_crop(frames[:, index], preset)

    return load


def clips_per_second(
    loaders: dict[str, Callable[[Path], torch.Tensor]],
    paths: list[Path],
    repeats: int,
    expected: tuple[int, ...],
) -> dict[str, float]:
    """Clips/s of each loader, timed clip by clip in alternation so that both see the same
    machine load (other processes on a shared machine otherwise bias whichever runs second)."""
    spent = dict.fromkeys(loaders, 0.0)
    for load in loaders.values():
        load(paths[0])  # warm-up (imports, codec init)
    for _ in range(repeats):
        for path in paths:
            for name, load in loaders.items():
                start = time.perf_counter()
                out = load(path)
                spent[name] += time.perf_counter() - start
                if tuple(out.shape) != expected:
                    raise RuntimeError(f"{name} {path}: got {tuple(out.shape)}, want {expected}")
    return {name: repeats * len(paths) / seconds for name, seconds in spent.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=8, help="clips per duration (default 8)")
    parser.add_argument(
        "--seconds",
        type=float,
        nargs="+",
        default=[4.0, 10.0],
        help="clip durations in seconds (default: 4 like DCSASS, 10 like Kinetics)",
    )
    parser.add_argument("--repeats", type=int, default=2, help="passes over the clips (default 2)")
    parser.add_argument(
        "--presets",
        nargs="+",
        default=["slowfast_r50", "tsm_r50"],
        choices=[n for n, p in PRESETS.items() if isinstance(p.resize, int)],
        help="presets to time (short-side presets only; default: slowfast_r50 tsm_r50)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for both sides (default 1, as in a DataLoader worker)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated clips")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench_video_") as tmp:
        paths = [p for s in args.seconds for p in make_clips(Path(tmp), args.clips, s, args.seed)]
        print(
            f"{len(paths)} clips of {args.seconds} s, 320x240 30 fps, torch threads "
            f"{args.threads}, {args.repeats} passes"
        )
        ratios = []
        for name in args.presets:
            preset = get_preset(name)
            shape = (1, 3, preset.num_frames, preset.crop, preset.crop)
            gap = (load_clip(paths[0], preset) - baseline_loader(preset)(paths[0])).abs()
            print(
                f"{name}: same input tensor up to sampling/resizing details, mean |difference| "
                f"{gap.mean():.3f} (normalised units) on {paths[0].name}"
            )
            rates = clips_per_second(
                {"ours": lambda p, pr=preset: load_clip(p, pr), "base": baseline_loader(preset)},
                paths,
                args.repeats,
                shape,
            )
            ours, base = rates["ours"], rates["base"]
            ratios.append(ours / base)
            results[name] = {
                "load_clip_clips_per_s": round(ours, 2),
                "pytorchvideo_clips_per_s": round(base, 2),
                "speedup": round(ours / base, 2),
            }
            print(
                f"{name}: load_clip {ours:.2f} clips/s, pytorchvideo EncodedVideo {base:.2f} "
                f"clips/s, x{ours / base:.2f}"
            )
    results["speedup_vs_pytorchvideo"] = round(min(ratios), 2)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
