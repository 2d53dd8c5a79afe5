"""Clips per second of ``load_clip`` against pytorchvideo's EncodedVideo (the course's loader)
and decord's ``VideoReader.get_batch`` (the loader mmaction2 uses), one thread each.

All three start from the same generated 320x240 30 fps H.264 clips (one slice per frame, so
slice threading cannot use a second core either), take the same frame indices (the preset's
official test rule on the true frame count) and end with the same transform
(``Preset.transform``: the recipe's per-frame resize, crop and normalisation), so they produce
the same tensor, which the script checks. The presets: SlowFast R50 (32 frames over a 64-frame
window, short side 256, crop 256) and TSM R50 (8 segment centres, short side 256, crop 224).
pytorchvideo decodes with ``EncodedVideo.from_path(path, decoder="pyav")`` and
``get_clip(start, end)`` over the window (the whole clip for TSM), as the course does;
``pytorchvideo.data.encoded_video`` imports cleanly on its own (``pytorchvideo.transforms`` does
not with current torchvision). decord: ``VideoReader(path, num_threads=1).get_batch(indices)``.

It also times the per-frame resize itself (``--resize-frames`` frames of 320x240 and 1280x720
noise to short side 256): load_clip's torch uint8 kernel against the official float
``interpolate`` (PySlowFast) and Pillow (TSM's ``GroupScale``), with the largest difference.

And it times the crop and normalisation (32 resized frames of 256x341 to one 256x256 view):
``normalized_views`` (frame by frame) against the whole-clip way (stack the frames, crop, one
transposing float copy to (C, T, H, W), then scale and shift in place), with the largest
difference.

Each run times every clip with every loader in turn (so all see the same machine load);
``--runs`` runs are made and the medians reported. Decoding alone (the same indices, RGB
frames, no transform) is timed the same way against decord, to show how much of the difference
is the decoder's. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.video.io import BATCH, VideoReader, write_video
from utils.video.presets import PRESETS, Preset, get_preset, load_clip

Loader = Callable[[Path], torch.Tensor]


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


def decord_loader(preset: Preset, transform: bool = True) -> Loader:
    import decord

    def load(path: Path) -> torch.Tensor:
        video = decord.VideoReader(str(path), num_threads=1)
        index = preset.indices(len(video), video.get_avg_fps())
        frames = video.get_batch(index.ravel().tolist()).asnumpy()
        return preset.transform(frames) if transform else torch.from_numpy(frames)

    return load


def decode_only(preset: Preset) -> Loader:
    """load_clip's decoding without the transform: the same indices, RGB frames stacked."""

    def load(path: Path) -> torch.Tensor:
        with VideoReader(path) as video:
            index = preset.indices(video.num_frames, video.info.fps)
            return torch.from_numpy(np.stack(video.read(index.ravel())))

    return load


def pytorchvideo_loader(preset: Preset) -> Loader:
    from pytorchvideo.data.encoded_video import EncodedVideo

    def load(path: Path) -> torch.Tensor:
        video = EncodedVideo.from_path(str(path), decoder="pyav")
        stream = video._container.streams.video[0]
        fps, n = float(stream.average_rate), stream.frames
        index = preset.indices(n, fps).ravel()
        first = int(index.min()) if preset.sampling == "dense" else 0
        end = (int(index.max()) + 1) / fps if preset.sampling == "dense" else float(video.duration)
        clip = video.get_clip(first / fps, end)["video"]  # (C, T, H, W) float in [0, 255]
        video.close()
        frames = clip[:, torch.as_tensor(index - first).clamp(max=clip.shape[1] - 1)]
        return preset.transform(frames.permute(1, 2, 3, 0).to(torch.uint8).numpy())

    return load


def median_ms(fn: Callable[[], object], passes: int) -> float:
    """Median wall time of ``passes`` calls of ``fn``, in ms."""
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def resize_costs(count: int, seed: int) -> dict[str, dict[str, float]]:
    """ms per frame of each resize, median of 3 passes, and the largest difference (grey
    levels) of ours from the official one: {size: {...}}."""
    from PIL import Image

    from utils.video import transforms as vt

    def ms(fn: Callable[[], object]) -> float:
        return median_ms(fn, passes=3) / count

    rng = np.random.default_rng(seed)
    out = {}
    for h, w in ((240, 320), (720, 1280)):
        frames = rng.integers(0, 256, (count, h, w, 3), dtype=np.uint8)
        size = vt.short_side_size(h, w, 256)

        def official_float(frames: np.ndarray = frames, size: tuple[int, int] = size) -> list:
            return [
                torch.nn.functional.interpolate(
                    torch.from_numpy(f).permute(2, 0, 1)[None].float(), size=size,
                    mode="bilinear", align_corners=False,
                )
                for f in frames
            ]

        def official_pil(frames: np.ndarray = frames, size: tuple[int, int] = size) -> list:
            return [
                np.asarray(Image.fromarray(f).resize(size[::-1], Image.Resampling.BILINEAR))
                for f in frames
            ]

        def ours(antialias: bool, frames: np.ndarray = frames, size: tuple[int, int] = size
                 ) -> list:
            return [  # in batches, as load_clip does while decoding
                f
                for i in range(0, len(frames), BATCH)
                for f in vt.resize_frames(frames[i : i + BATCH], size, antialias=antialias)
            ]

        gap_float = max(
            float((torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1) - b[0]).abs().max())
            for a, b in zip(ours(False), official_float(), strict=True)
        )
        gap_pil = max(
            int(np.abs(a.astype(int) - b).max())
            for a, b in zip(ours(True), official_pil(), strict=True)
        )
        out[f"{w}x{h}"] = {
            "pyslowfast_float_ms": round(ms(official_float), 3),
            "ours_no_antialias_ms": round(ms(lambda: ours(False)), 3),
            "max_grey_levels_vs_float": round(gap_float, 3),
            "tsm_pillow_ms": round(ms(official_pil), 3),
            "ours_antialias_ms": round(ms(lambda: ours(True)), 3),
            "max_grey_levels_vs_pillow": gap_pil,
        }
    return out


def views_costs(seed: int) -> dict[str, float]:
    """ms per clip of cropping and normalising 32 frames of 256x341 to one 256x256 view: ours
    frame by frame against stacking the clip first (median of 5 passes)."""
    from utils.video import transforms as vt

    preset = get_preset("slowfast_r50")
    frames = list(np.random.default_rng(seed).integers(0, 256, (32, 256, 341, 3), np.uint8))
    boxes = vt.crop_boxes(256, 341, 256, 1, preset.family)
    top, left, h, w, _ = boxes[0]
    scale = 1 / (255 * torch.tensor(preset.std).view(3, 1, 1, 1))
    shift = -torch.tensor(preset.mean).view(3, 1, 1, 1) * 255 * scale

    def stacked() -> torch.Tensor:  # the clip at once: one transposing copy, two in place
        clip = torch.from_numpy(np.stack(frames))[:, top : top + h, left : left + w]
        out = torch.empty((3, len(frames), h, w))
        return out.copy_(clip.permute(3, 0, 1, 2)).mul_(scale).add_(shift)

    def ours() -> torch.Tensor:
        return vt.normalized_views(frames, boxes, preset.mean, preset.std)[0]

    return {
        "stacked_ms": round(median_ms(stacked, passes=5), 2),
        "ours_ms": round(median_ms(ours, passes=5), 2),
        "max_difference": float((stacked() - ours()).abs().max()),
    }


def clips_per_second(
    loaders: dict[str, Loader], paths: list[Path], repeats: int, expected: tuple[int, ...]
) -> dict[str, float]:
    """Clips/s of each loader, timed clip by clip in alternation so that all see the same
    machine load (other processes on a shared machine otherwise bias whichever runs last)."""
    spent = dict.fromkeys(loaders, 0.0)
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
    parser.add_argument("--clips", type=int, default=6, help="clips per duration (default 6)")
    parser.add_argument(
        "--seconds",
        type=float,
        nargs="+",
        default=[4.0, 10.0],
        help="clip durations in seconds (default: 4 like DCSASS, 10 like Kinetics)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="passes per run (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians reported (default 3)")
    parser.add_argument(
        "--presets",
        nargs="+",
        default=["slowfast_r50", "tsm_r50"],
        choices=list(PRESETS),
        help="presets to time (default: slowfast_r50 tsm_r50)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for all loaders (default 1, as in a DataLoader worker)",
    )
    parser.add_argument(
        "--resize-frames", type=int, default=16, help="frames per resize timing (default 16)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated clips")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    results: dict[str, object] = {"runs": args.runs}
    results["resize_ms_per_frame"] = resize_costs(args.resize_frames, args.seed)
    print(f"resize, ms per frame: {results['resize_ms_per_frame']}")
    results["views_ms_per_clip"] = views_costs(args.seed)
    print(f"crop and normalise, ms per clip: {results['views_ms_per_clip']}")
    with tempfile.TemporaryDirectory(prefix="bench_video_") as tmp:
        paths = [p for s in args.seconds for p in make_clips(Path(tmp), args.clips, s, args.seed)]
        print(
            f"{len(paths)} clips of {args.seconds} s, 320x240 30 fps, torch threads "
            f"{args.threads}, {args.runs} runs of {args.repeats} pass(es)"
        )
        for name in args.presets:
            preset = get_preset(name)
            loaders: dict[str, Loader] = {
                "load_clip": lambda p, pr=preset: load_clip(p, pr),
                "decord": decord_loader(preset),
                "pytorchvideo": pytorchvideo_loader(preset),
            }
            ours = loaders["load_clip"](paths[0])  # also the warm-up (imports, codec init)
            std = torch.tensor(preset.std).view(3, 1, 1, 1) * 255
            gaps = {k: float(((f(paths[0]) - ours).abs() * std).max()) for k, f in loaders.items()}
            print(f"{name}: max difference from load_clip in grey levels {gaps}")
            shape = tuple(ours.shape)
            rates = [
                clips_per_second(loaders, paths, args.repeats, shape) for _ in range(args.runs)
            ]
            median = {k: statistics.median(r[k] for r in rates) for k in loaders}
            ratio = {
                base: statistics.median(r["load_clip"] / r[base] for r in rates)
                for base in ("decord", "pytorchvideo")
            }
            decoders = {"load_clip": decode_only(preset), "decord": decord_loader(preset, False)}
            frames = (preset.num_frames, *decoders["load_clip"](paths[0]).shape[1:])
            decode_rates = [
                clips_per_second(decoders, paths, args.repeats, frames) for _ in range(args.runs)
            ]
            decode_ratio = statistics.median(r["load_clip"] / r["decord"] for r in decode_rates)
            results[name] = {
                "clips_per_s_median": {k: round(v, 2) for k, v in median.items()},
                "clips_per_s_runs": [{k: round(v, 2) for k, v in r.items()} for r in rates],
                "speedup_vs_decord_median": round(ratio["decord"], 2),
                "speedup_vs_pytorchvideo_median": round(ratio["pytorchvideo"], 2),
                "decode_only_speedup_vs_decord_median": round(decode_ratio, 2),
                "max_grey_level_difference": {k: round(v, 3) for k, v in gaps.items()},
            }
            print(
                f"{name}: load_clip {median['load_clip']:.2f} clips/s, decord "
                f"{median['decord']:.2f} (x{ratio['decord']:.2f}), pytorchvideo "
                f"{median['pytorchvideo']:.2f} (x{ratio['pytorchvideo']:.2f}); decoding alone "
                f"x{decode_ratio:.2f} decord; medians of {args.runs} runs"
            )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
