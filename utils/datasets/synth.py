"""Synthetic stand-ins written exactly in the real layouts, with patterns a classifier can learn.

* Kinetics sample: ``{label}-{youtube_id}-{start}-{end}.mp4`` clips in one folder; each class is
  a shape moving in its own direction at its own speed (labels are real Kinetics names).
* DCSASS: ``DCSASS Dataset/Labels/<Category>.csv`` (headerless, one malformed row) and
  ``DCSASS Dataset/<Category>/<Category>NNN_x264.mp4/<Category>NNN_x264_<k>.mp4``; optionally
  the zip's second copy under ``dcsass dataset/``. A positive clip shows a coloured block taken
  from a shelf into the pocket of a person blob, where it disappears; a negative shows it left on
  the shelf or put back. Each source video has its own background, shelf and colours, so a model
  can tell source videos apart and a leaky split shows up as inflated scores. Thefts are runs
  of consecutive clips (~17 % positives overall, as in the real Shoplifting set).

Same seed and sizes -> same file names, labels and bytes. A ``SYNTHETIC.json`` next to the data
records the parameters; asking again for the same ones reuses the folder.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm.auto import tqdm

from utils.datamode import DataChoice, FetchReal, choose_data
from utils.datasets.dcsass import (
    CATEGORIES,
    COPY_NAME,
    DCSASS_DIR,
    SECOND_COPY,
    clip_path,
    source_video,
)
from utils.datasets.kinetics import KINETICS_SAMPLE_DIR, clip_filename, kinetics_classes
from utils.errors import InputError
from utils.io import make_folder, write_json
from utils.paths import SYNTHETIC_DIR
from utils.video.io import write_video

MARKER = "SYNTHETIC.json"
_ID_CHARS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"))


@dataclass(frozen=True)
class ClipSize:
    """Frame size and length of every generated clip (UCF-Crime: 320x240 at 30 fps)."""

    height: int = 240
    width: int = 320
    fps: float = 30.0
    frames: int = 60

    def __post_init__(self) -> None:
        if self.height % 2 or self.width % 2 or self.height < 32 or self.width < 32:
            raise InputError(f"clip size must be even and >= 32, got {self.height}x{self.width}")
        if self.frames < 16:
            raise InputError(f"clips need at least 16 frames, got {self.frames}")
        need, free = self.memory_needed(), available_memory()
        if need > free:
            raise InputError(f"a {self.height}x{self.width} clip of {self.frames} frames needs "
                             f"{need / 2**30:.1f} GiB of memory, {free / 2**30:.1f} GiB is "
                             "available: use a smaller --height, --width or --frames")

    def memory_needed(self) -> int:
        """Bytes one clip needs while written: its RGB frames plus the encoder's YUV copy and
        one RGB frame in flight (about twice the frames)."""
        return 2 * self.frames * self.height * self.width * 3


def available_memory() -> int:
    """Bytes the system can still give this process (Linux ``MemAvailable``; elsewhere the
    free physical pages), checked before a clip is generated rather than dying half way."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**63  # unknown: do not refuse


def prepare_synthetic(out: Path, params: dict, owned: list[Path]) -> bool:
    """True when ``out`` already holds this exact synthetic data. Otherwise clear what an earlier
    synthetic run wrote there (never real data: no marker, no deletion) and return False."""
    marker = make_folder(out) / MARKER  # a file in the way is one line, not a traceback
    if marker.is_file():
        if json.loads(marker.read_text()) == params:
            return True
        marker.unlink()
        for path in owned:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    elif any(p.exists() for p in owned):
        raise InputError(f"{out} already holds data that was not generated here; "
                         "choose an empty folder")
    return False


# ------------------------------------------------------------------------------- Kinetics


def _youtube_id(rng: np.random.Generator, with_dash: bool) -> str:
    chars = rng.choice(_ID_CHARS[:-1], 11)
    if with_dash:
        chars[rng.integers(1, 10)] = "-"
    return "".join(chars)


def _pick_classes(n: int) -> list[str]:
    names = kinetics_classes()
    if not 1 <= n <= len(names):
        raise InputError(f"classes must be between 1 and {len(names)}, got {n}")
    return [names[i * len(names) // n] for i in range(n)]


def _motion_clip(
    class_index: int, n_classes: int, size: ClipSize, rng: np.random.Generator
) -> np.ndarray:
    """A shape crossing a plain background: class -> (direction, speed, shape)."""
    h, w = size.height, size.width
    angle = 2 * np.pi * class_index / n_classes + rng.normal(0, 0.05)
    speed = (0.25 + 0.25 * (class_index % 3)) * min(h, w) / size.fps * rng.uniform(0.9, 1.1)
    shape = class_index % 4
    radius = max(3, min(h, w) // 8)
    background = rng.integers(30, 110, 3)
    colour = tuple(int(c) for c in rng.integers(150, 256, 3))
    start = rng.uniform([0, 0], [w, h])
    frames = np.empty((size.frames, h, w, 3), dtype=np.uint8)
    frames[:] = background
    for t, frame in enumerate(frames):
        x, y = (start + t * speed * np.array([np.cos(angle), np.sin(angle)])) % [w, h]
        cx, cy = int(x), int(y)
        if shape == 0:
            cv2.circle(frame, (cx, cy), radius, colour, -1)
        elif shape == 1:
            cv2.rectangle(frame, (cx - radius, cy - radius), (cx + radius, cy + radius), colour, -1)
        elif shape == 2:
            tri = [[cx, cy - radius], [cx - radius, cy + radius], [cx + radius, cy + radius]]
            cv2.fillConvexPoly(frame, np.array(tri, dtype=np.int32), colour)
        else:
            cv2.rectangle(frame, (cx - radius, cy - radius // 3), (cx + radius, cy + radius // 3),
                          colour, -1)
    return frames


def write_synthetic_kinetics(
    out: str | Path,
    *,
    seed: int = 0,
    classes: int = 4,
    clips_per_class: int = 3,
    size: ClipSize = ClipSize(),
    progress: bool = True,
) -> Path:
    """Write a Kinetics-sample folder of ``classes * clips_per_class`` clips; returns ``out``."""
    out = Path(out)
    names = _pick_classes(classes)
    if clips_per_class < 1:
        raise InputError(f"clips-per-class must be >= 1, got {clips_per_class}")
    params = {"kind": "kinetics", "seed": seed, "classes": classes,
              "clips_per_class": clips_per_class, "size": asdict(size)}
    rng = np.random.default_rng(seed)
    plan = []
    for c, label in enumerate(names):
        for j in range(clips_per_class):
            start = int(rng.integers(0, 300))
            name = clip_filename(label, _youtube_id(rng, with_dash=j % 3 == 0), start, start + 10)
            plan.append((name, c))
    if prepare_synthetic(out, params, sorted(out.glob("*.mp4"))):
        return out
    for i, (name, c) in enumerate(tqdm(plan, desc="synthetic Kinetics", disable=not progress)):
        frames = _motion_clip(c, classes, size, np.random.default_rng([seed, i]))
        write_video(out / name, frames, size.fps)
    write_json(params, out / MARKER)
    return out


# --------------------------------------------------------------------------------- DCSASS


@dataclass(frozen=True)
class _Scene:
    """The fixed look of one source video (one camera in one shop)."""

    background: np.ndarray  # (H, W, 3) uint8
    shelf_y: int
    item_colour: tuple[int, int, int]
    person_colour: tuple[int, int, int]


def _scene(size: ClipSize, rng: np.random.Generator) -> _Scene:
    h, w = size.height, size.width
    base = rng.integers(40, 200, 3).astype(np.float32)
    texture = cv2.resize(rng.uniform(-25, 25, (6, 8, 3)).astype(np.float32), (w, h))
    ramp = np.linspace(-20, 20, h, dtype=np.float32)[:, None, None] * rng.choice([-1, 1])
    background = np.clip(base + texture + ramp, 0, 255).astype(np.uint8)
    shelf_y = int(h * rng.uniform(0.2, 0.3))
    shelf = tuple(int(c) for c in rng.integers(90, 170, 3))
    cv2.rectangle(background, (0, shelf_y), (w - 1, shelf_y + max(2, h // 40)), shelf, -1)
    item_w = max(2, w // 24)
    for x in range(item_w, w - item_w, 3 * item_w):  # the products already on the shelf
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(background, (x, shelf_y - item_w), (x + item_w, shelf_y - 1), colour, -1)
    item = rng.integers(0, 256, 3)
    person = rng.integers(20, 90, 3)
    return _Scene(
        background,
        shelf_y,
        item_colour=(int(item[0]), int(item[1]), int(item[2])),
        person_colour=(int(person[0]), int(person[1]), int(person[2])),
    )


def _shop_clip(scene: _Scene, label: int, size: ClipSize, rng: np.random.Generator) -> np.ndarray:
    """A person by the shelf; the highlighted item goes into the pocket (label 1), or stays /
    is put back (label 0)."""
    h, w, n = size.height, size.width, size.frames
    unit = min(h, w)
    person_x = rng.uniform(0.3, 0.7) * w
    body = (max(4, unit // 10), max(8, unit // 4))  # ellipse half-axes
    body_y = int(h * 0.62)
    item = max(3, w // 20)
    shelf_pos = np.array([person_x + rng.uniform(-0.15, 0.15) * w, scene.shelf_y - item])
    pocket = np.array([person_x + body[0] * 0.5, body_y + body[1] * 0.3])
    t0, t1 = sorted(rng.uniform(0.15, 0.75, 2) * n)
    t1 = max(t1, t0 + n / 5)
    put_back = label == 0 and rng.random() < 0.5
    frames = np.empty((n, h, w, 3), dtype=np.uint8)
    sway = rng.uniform(0, 2 * np.pi)
    for t in range(n):
        frame = frames[t]
        frame[:] = scene.background
        dx = int(np.sin(sway + t / size.fps * 3) * unit * 0.02)
        px = int(person_x) + dx
        cv2.ellipse(frame, (px, body_y), body, 0, 0, 360, scene.person_colour, -1)
        cv2.circle(frame, (px, body_y - body[1] - body[0] // 2), max(3, body[0] * 2 // 3),
                   scene.person_colour, -1)
        progress = float(np.clip((t - t0) / (t1 - t0), 0, 1))
        hand_to_pocket = pocket + np.array([dx, 0]) - shelf_pos
        if label == 1:
            visible = progress < 1
            pos = shelf_pos + progress * hand_to_pocket
        elif put_back:
            visible = True
            pos = shelf_pos + (1 - abs(2 * progress - 1)) * 0.6 * hand_to_pocket
        else:
            visible, pos = True, shelf_pos
        if visible:
            x, y = int(pos[0]), int(pos[1])
            cv2.rectangle(frame, (x, y), (x + item, y + item), scene.item_colour, -1)
    return frames


def _theft_runs(
    videos: int, clips: int, positive_rate: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Labels per video: thefts are runs of consecutive clips; ~15 % of videos have none."""
    labels = []
    for _ in range(videos):
        row = np.zeros(clips, dtype=np.int64)
        if rng.random() < 0.85:
            mean = positive_rate / 0.85 * clips
            length = int(np.clip(round(mean * rng.uniform(0.5, 1.5)), 1, clips - 1))
            start = int(rng.integers(0, clips - length + 1))
            row[start : start + length] = 1
        labels.append(row)
    return labels


def write_synthetic_dcsass(
    out: str | Path,
    *,
    seed: int = 0,
    category: str = "Shoplifting",
    videos: int = 6,
    clips_per_video: int = 8,
    positive_rate: float = 0.17,
    size: ClipSize = ClipSize(),
    both_copies: bool = False,
    progress: bool = True,
) -> Path:
    """Write a DCSASS unzip folder at ``out`` (``out/DCSASS Dataset/...``); returns ``out``.

    The label CSV gets one malformed row (the label field is missing): its clip is on disk
    but unlabelled, as a loader must report. ``both_copies`` adds the zip's second copy.
    """
    out = Path(out)
    if category not in CATEGORIES:
        raise InputError(f"unknown DCSASS category {category!r}; valid: {', '.join(CATEGORIES)}")
    if videos < 1 or clips_per_video < 2:
        raise InputError(f"need videos >= 1 and clips-per-video >= 2 (got {videos}, "
                         f"{clips_per_video})")
    if not 0 < positive_rate < 1:
        raise InputError(f"positive rate must be in (0, 1), got {positive_rate}")
    params = {"kind": "dcsass", "seed": seed, "category": category, "videos": videos,
              "clips_per_video": clips_per_video, "positive_rate": positive_rate,
              "size": asdict(size), "both_copies": both_copies}
    if prepare_synthetic(out, params, [out / COPY_NAME, out / SECOND_COPY.parts[0]]):
        return out
    rng = np.random.default_rng(seed)
    numbers = np.sort(rng.choice(np.arange(1, max(60, 2 * videos) + 1), videos, replace=False))
    video_names = [f"{category}{n:03d}_x264" for n in numbers]
    labels = _theft_runs(videos, clips_per_video, positive_rate, rng)
    rows = [(f"{v}_{k}", int(lab)) for v, row in zip(video_names, labels, strict=True)
            for k, lab in enumerate(row)]
    malformed = int(rng.integers(len(rows)))
    root = out / COPY_NAME
    lines = [f"{name},{category}" if i == malformed else f"{name},{category},{label}"
             for i, (name, label) in enumerate(rows)]
    (root / "Labels").mkdir(parents=True, exist_ok=True)
    (root / "Labels" / f"{category}.csv").write_text("\n".join(lines) + "\n")
    scenes = {v: _scene(size, np.random.default_rng([seed, i])) for i, v in enumerate(video_names)}
    for i, (name, label) in enumerate(tqdm(rows, desc="synthetic DCSASS", disable=not progress)):
        frames = _shop_clip(scenes[source_video(name)], label, size,
                            np.random.default_rng([seed, 1000, i]))
        write_video(clip_path(root, category, name), frames, size.fps)
    if both_copies:
        shutil.copytree(root, out / SECOND_COPY)
    write_json(params, out / MARKER)
    return out


# ------------------------------------------------------------------------- the DATA switch


def choose_dcsass(mode: str = "auto", *, data_dir: Path | None = None,
                  fetch_real: FetchReal | None = None, **synthetic: Any) -> DataChoice:
    """``DATA_DIR/dcsass`` when present (mode "auto"/"real"), else a sample fetched by
    ``fetch_real``, else the synthetic stand-in written to ``DATA_DIR/synthetic/dcsass`` with
    ``synthetic`` (keyword arguments of write_synthetic_dcsass); ``data_dir`` is WORKDIR's
    ``data`` folder (default: the one of ``$ACTIONLAB_WORKDIR``)."""
    real, generated = dataset_paths(data_dir, "dcsass", DCSASS_DIR)
    return choose_data(mode, real, lambda: write_synthetic_dcsass(generated, **synthetic),
                       fetch_real)


def choose_kinetics_sample(mode: str = "auto", *, data_dir: Path | None = None,
                           fetch_real: FetchReal | None = None, **synthetic: Any) -> DataChoice:
    """``DATA_DIR/kinetics_sample`` when present, else a sample fetched by ``fetch_real``, else
    a synthetic sample in ``DATA_DIR/synthetic/kinetics_sample`` (keyword arguments of
    write_synthetic_kinetics)."""
    real, generated = dataset_paths(data_dir, "kinetics_sample", KINETICS_SAMPLE_DIR)
    return choose_data(mode, real, lambda: write_synthetic_kinetics(generated, **synthetic),
                       fetch_real)


def dataset_paths(data_dir: Path | None, name: str, default: Path) -> tuple[Path, Path]:
    """(real folder, synthetic folder) of dataset ``name`` under ``data_dir``."""
    if data_dir is None:
        return default, SYNTHETIC_DIR / name
    return Path(data_dir) / name, Path(data_dir) / "synthetic" / name
