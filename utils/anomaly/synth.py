"""A generated stand-in for UCSD Ped2, written in exactly the archive's layout, with planted
anomalies.

The scene: a fixed textured background (a static camera) and walkers (dark blobs) moving down
the frame slowly, a little camera noise on every frame. Training videos hold only that. Each
test video adds one anomaly for a stretch of frames: a **fast object** (a bright cart crossing
at about five times walking speed) or a **wrong-way mover** (a walker going up). Its frames
are the ``gt_frame`` range in ``Test/UCSDped2.m``; its pixels are the ``TestNNN_gt`` masks.
Same seed and sizes, same bytes; a ``SYNTHETIC.json`` marker lets a second call reuse them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from utils.anomaly.ucsd import UCSD_DIR
from utils.datamode import DataChoice, FetchReal, choose_data
from utils.datasets.synth import MARKER, dataset_paths, prepare_synthetic
from utils.errors import InputError
from utils.io import make_folder, write_json

SUBSET = "UCSDped2"
KINDS = ("fast", "wrong_way")


@dataclass(frozen=True)
class _Mover:
    x: float  # centre column
    y: float  # centre row at frame 0
    speed: float  # rows per frame (positive = down)
    half_h: float
    half_w: float
    level: float  # grey level


def _background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    rows = np.linspace(0.45, 0.65, height)[:, None]
    texture = rng.normal(0, 0.04, (height // 4 + 1, width // 4 + 1)).repeat(4, 0).repeat(4, 1)
    return np.clip(rows + texture[:height, :width], 0, 1)


def _walkers(n: int, height: int, width: int, rng: np.random.Generator) -> list[_Mover]:
    scale = height / 64
    return [_Mover(x=float(rng.uniform(0.1, 0.9) * width), y=float(rng.uniform(0, height)),
                   speed=float(rng.uniform(1.5, 2.0) * scale), half_h=3.5 * scale,
                   half_w=1.6 * scale, level=float(rng.uniform(0.1, 0.25)))
            for _ in range(n)]


def _draw(canvas: np.ndarray, mover: _Mover, t: int, wrap: bool) -> np.ndarray:
    """Paint ``mover`` at frame ``t``; returns its pixel mask."""
    height, width = canvas.shape
    y = mover.y + mover.speed * t
    if wrap:
        span = height + 4 * mover.half_h
        y = (y + 2 * mover.half_h) % span - 2 * mover.half_h
    rows, cols = np.ogrid[:height, :width]
    mask = ((rows - y) / mover.half_h) ** 2 + ((cols - mover.x) / mover.half_w) ** 2 <= 1
    canvas[mask] = mover.level
    return mask


def _anomaly(kind: str, height: int, width: int, frames: int,
             rng: np.random.Generator) -> tuple[_Mover, int, int]:
    """The planted mover, its first frame and the frame after its last: the fast object enters
    at the top edge and crosses; the wrong-way mover steps out in the lower half, walks up for
    a quarter of the video and leaves (through a door, as it were)."""
    scale = height / 64
    start = int(rng.integers(frames // 4, frames // 2))
    x = float(rng.uniform(0.15, 0.85) * width)
    if kind == "fast":
        speed = float(rng.uniform(7.0, 8.0) * scale)
        mover = _Mover(x, -4 * scale - speed * start, speed, 4 * scale, 5 * scale, 0.95)
        return mover, start, frames
    speed = -float(rng.uniform(1.8, 2.0) * scale)
    y0 = float(rng.uniform(0.7, 0.85) * height)
    mover = _Mover(x, y0 - speed * start, speed, 3.5 * scale, 1.6 * scale, 0.15)
    return mover, start, start + max(frames // 4, 2)


def _video(background: np.ndarray, walkers: list[_Mover], frames: int,
           rng: np.random.Generator, planted: tuple[_Mover, int, int] | None
           ) -> tuple[np.ndarray, np.ndarray]:
    """uint8 frames (T, H, W) and the anomaly's pixel masks (T, H, W) bool."""
    height, width = background.shape
    video = np.empty((frames, height, width), dtype=np.uint8)
    masks = np.zeros((frames, height, width), dtype=bool)
    for t in range(frames):
        canvas = background.copy()
        for walker in walkers:
            _draw(canvas, walker, t, wrap=True)
        if planted is not None and planted[1] <= t < planted[2]:
            masks[t] = _draw(canvas, planted[0], t, wrap=False)
        canvas += rng.normal(0, 0.01, canvas.shape)
        video[t] = np.round(np.clip(canvas, 0, 1) * 255).astype(np.uint8)
    return video, masks


def _ranges(visible: np.ndarray) -> list[tuple[int, int]]:
    """1-based inclusive runs of True."""
    edges = np.flatnonzero(np.diff(np.r_[0, visible.astype(int), 0]))
    return [(int(a) + 1, int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _write_frames(folder: Path, frames: np.ndarray, suffix: str) -> None:
    from PIL import Image

    make_folder(folder)
    for i, frame in enumerate(frames, start=1):
        Image.fromarray(frame).save(folder / f"{i:03d}{suffix}")


def _gt_line(ranges: list[tuple[int, int]]) -> str:
    return "TestVideoFile{end+1}.gt_frame = [" + ", ".join(f"{a}:{b}" for a, b in ranges) + "];"


def write_synthetic_ucsd(out: str | Path, *, seed: int = 0, train_videos: int = 4,
                         test_videos: int = 4, frames: int = 40, height: int = 64,
                         width: int = 96, walkers: int = 4, progress: bool = True) -> Path:
    """Write ``out/UCSDped2/{Train,Test}`` in the UCSD layout; returns ``out``. Test videos
    alternate the two planted kinds (fast object, wrong-way mover)."""
    if train_videos < 1 or test_videos < 1 or frames < 12 or height < 32 or width < 32:
        raise InputError("need >= 1 train and test video, >= 12 frames, frames >= 32x32 "
                         f"(got {train_videos}, {test_videos}, {frames}, {height}x{width})")
    out = Path(out)
    params = {"kind": "ucsd", "seed": seed, "train_videos": train_videos,
              "test_videos": test_videos, "frames": frames, "height": height, "width": width,
              "walkers": walkers}
    root = out / SUBSET
    if prepare_synthetic(out, params, [root]):
        return out
    rng = np.random.default_rng(seed)
    background = _background(height, width, rng)
    total = train_videos + test_videos
    bar = tqdm(total=total, desc="synthetic UCSD", disable=not progress)
    for i in range(train_videos):
        video, _ = _video(background, _walkers(walkers, height, width, rng), frames, rng, None)
        _write_frames(root / "Train" / f"Train{i + 1:03d}", video, ".tif")
        bar.update()
    lines = ["% UCSDped2 frame-level ground truth (synthetic stand-in, same format)",
             "TestVideoFile = {};"]
    for i in range(test_videos):
        planted = _anomaly(KINDS[i % len(KINDS)], height, width, frames, rng)
        video, masks = _video(background, _walkers(walkers, height, width, rng), frames, rng,
                              planted)
        name = f"Test{i + 1:03d}"
        _write_frames(root / "Test" / name, video, ".tif")
        _write_frames(root / "Test" / f"{name}_gt", masks.astype(np.uint8) * 255, ".bmp")
        lines.append(_gt_line(_ranges(np.asarray(masks.any(axis=(1, 2))))))
        bar.update()
    bar.close()
    (root / "Test" / f"{SUBSET}.m").write_text("\n".join(lines) + "\n")
    write_json(params, out / MARKER)
    return out


def choose_ucsd(mode: str = "auto", *, data_dir: Path | None = None,
                fetch_real: FetchReal | None = None, **synthetic: Any) -> DataChoice:
    """``<data_dir>/ucsd`` when it holds the real data (mode "auto"/"real"), else the archive
    ``fetch_real`` brings (``utils.anomaly.download.ucsd_archive``), else the stand-in in
    ``<data_dir>/synthetic/ucsd`` (keyword arguments of :func:`write_synthetic_ucsd`);
    ``data_dir`` is WORKDIR's ``data`` folder (default: the one of ``$ACTIONLAB_WORKDIR``)."""
    real, generated = dataset_paths(data_dir, "ucsd", UCSD_DIR)
    return choose_data(mode, real, lambda: write_synthetic_ucsd(generated, **synthetic),
                       fetch_real)
