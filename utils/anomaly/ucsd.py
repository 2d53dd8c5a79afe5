"""The UCSD Anomaly Detection dataset (Ped1/Ped2) as its archive lays it out.

``UCSDped2/Train/Train001/001.tif`` ... (normal footage only), ``UCSDped2/Test/Test001/*.tif``,
pixel masks in ``Test/Test001_gt/*.bmp``, and the frame-level ground truth in
``Test/UCSDped2.m``: one MATLAB line per test video, in order,
``TestVideoFile{end+1}.gt_frame = [61:180];`` (1-based inclusive frame ranges, several ranges
separated by commas). The archive (``UCSD_Anomaly_Dataset.tar.gz``) unpacks to
``UCSD_Anomaly_Dataset.v1p2/UCSDped1`` and ``.../UCSDped2``; macOS resource forks (``._*``) in
it are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from utils.errors import InputError
from utils.paths import DATA_DIR

SUBSETS = ("UCSDped1", "UCSDped2")
UCSD_DIR = DATA_DIR / "ucsd"
ARCHIVE_FOLDER = "UCSD_Anomaly_Dataset.v1p2"
FRAME_SUFFIX = ".tif"
_GT_LINE = re.compile(r"TestVideoFile\{end\+1\}\.gt_frame\s*=\s*\[([^\]]*)\]\s*;")
_RANGE = re.compile(r"^\s*(\d+)\s*(?::\s*(\d+))?\s*$")


def parse_gt_text(text: str, where: str = "ground truth") -> list[list[tuple[int, int]]]:
    """Every ``gt_frame`` line of a UCSD ``.m`` file, in order: a list of 1-based inclusive
    (first, last) ranges per test video. A range that does not parse is an InputError naming
    its line, since a silently dropped range would shift every later video's labels."""
    videos: list[list[tuple[int, int]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _GT_LINE.search(line)
        if match is None:
            continue
        ranges = []
        for part in match.group(1).split(","):
            bounds = _RANGE.match(part)
            if bounds is None:
                raise InputError(f"{where}:{number}: cannot read frame range {part.strip()!r}")
            first = int(bounds.group(1))
            last = int(bounds.group(2) or first)
            if not 1 <= first <= last:
                raise InputError(f"{where}:{number}: range {first}:{last} is empty or not 1-based")
            ranges.append((first, last))
        videos.append(ranges)
    if not videos:
        raise InputError(f"{where}: no 'TestVideoFile{{end+1}}.gt_frame = [a:b];' line")
    return videos


def frame_labels(ranges: list[tuple[int, int]], n_frames: int) -> np.ndarray:
    """0/1 per frame (index 0 = frame 1) from 1-based inclusive ranges."""
    labels = np.zeros(n_frames, dtype=np.int64)
    for first, last in ranges:
        labels[first - 1: min(last, n_frames)] = 1
    return labels


@dataclass(frozen=True)
class UcsdVideo:
    """One folder of frames; ``anomalous`` holds the .m ranges (empty for training videos)."""

    name: str
    split: str
    frames: tuple[Path, ...]
    anomalous: tuple[tuple[int, int], ...] = ()

    def labels(self) -> np.ndarray:
        return frame_labels(list(self.anomalous), len(self.frames))


@dataclass
class UcsdReport:
    """What :func:`load_ucsd` found, and every folder or line it could not use."""

    root: Path
    subset: str
    videos: list[UcsdVideo] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)

    def split(self, name: str) -> list[UcsdVideo]:
        return [v for v in self.videos if v.split == name]

    def to_dict(self) -> dict[str, Any]:
        test = self.split("test")
        return {
            "dataset": "ucsd", "root": str(self.root), "subset": self.subset,
            "train_videos": len(self.split("train")), "test_videos": len(test),
            "train_frames": sum(len(v.frames) for v in self.split("train")),
            "test_frames": sum(len(v.frames) for v in test),
            "anomalous_test_frames": int(sum(v.labels().sum() for v in test)),
            "problems": dict(self.problems),
        }

    def to_text(self) -> str:
        d = self.to_dict()
        lines = [f"UCSD {self.subset} at {self.root}",
                 f"  train: {d['train_videos']} videos, {d['train_frames']} frames",
                 f"  test:  {d['test_videos']} videos, {d['test_frames']} frames, "
                 f"{d['anomalous_test_frames']} anomalous"]
        lines += [f"  left out {name}: {why}" for name, why in self.problems.items()]
        return "\n".join(lines)


def find_subset(path: str | Path, subset: str = "UCSDped2") -> Path:
    """The ``UCSDpedN`` folder at ``path``: the folder itself, or below the archive's folder."""
    if subset not in SUBSETS:
        raise InputError(f"unknown UCSD subset {subset!r}; valid: {', '.join(SUBSETS)}")
    path = Path(path)
    for candidate in (path, path / subset, path / ARCHIVE_FOLDER / subset):
        if (candidate / "Train").is_dir() and (candidate / "Test").is_dir():
            return candidate
    raise InputError(f"{path}: no UCSD {subset} folder (expected {subset}/Train and "
                     f"{subset}/Test, possibly under {ARCHIVE_FOLDER}/)")


def is_ucsd(path: str | Path) -> bool:
    """Whether ``path`` holds a UCSD subset (for ``data check``'s folder detection)."""
    return any(_has(Path(path), s) for s in SUBSETS)


def _has(path: Path, subset: str) -> bool:
    try:
        find_subset(path, subset)
    except InputError:
        return False
    return True


def _frames(folder: Path) -> tuple[Path, ...]:
    return tuple(sorted(p for p in folder.glob(f"*{FRAME_SUFFIX}")
                        if not p.name.startswith("._")))


def _video_folders(folder: Path, prefix: str) -> list[Path]:
    pattern = re.compile(rf"^{prefix}\d{{3}}$")
    return sorted(p for p in folder.iterdir() if p.is_dir() and pattern.match(p.name))


def load_ucsd(path: str | Path, subset: str = "UCSDped2") -> UcsdReport:
    """Train and test videos of ``subset`` with their frame labels; a folder without frames, a
    test video without a ground-truth line and a range past a video's end are named in
    ``problems`` (the video is left out, or its range cut, never silently)."""
    root = find_subset(path, subset)
    report = UcsdReport(root, subset)
    for folder in _video_folders(root / "Train", "Train"):
        frames = _frames(folder)
        if not frames:
            report.problems[folder.name] = f"no {FRAME_SUFFIX} frames"
            continue
        report.videos.append(UcsdVideo(folder.name, "train", frames))
    gt_file = root / "Test" / f"{subset}.m"
    if not gt_file.is_file():
        raise InputError(f"{gt_file}: frame-level ground truth not found")
    truth = parse_gt_text(gt_file.read_text(errors="replace"), str(gt_file))
    tests = _video_folders(root / "Test", "Test")
    if len(truth) != len(tests):
        report.problems[gt_file.name] = (f"{len(truth)} gt_frame lines for {len(tests)} test "
                                         "videos; lines are matched to videos in order")
    for i, folder in enumerate(tests):
        frames = _frames(folder)
        if not frames:
            report.problems[folder.name] = f"no {FRAME_SUFFIX} frames"
            continue
        if i >= len(truth):
            report.problems[folder.name] = "no gt_frame line in the .m file"
            continue
        past = [r for r in truth[i] if r[1] > len(frames)]
        if past:
            report.problems[folder.name] = (f"range {past[0][0]}:{past[0][1]} ends past its "
                                            f"{len(frames)} frames (cut at the last frame)")
        report.videos.append(UcsdVideo(folder.name, "test", frames, tuple(truth[i])))
    if not report.split("train") or not report.split("test"):
        raise InputError(f"{root}: needs at least one training and one test video with frames")
    return report


def read_frames(paths: Any, size: tuple[int, int] | None = None) -> np.ndarray:
    """Frames as float32 grey levels in [0, 1], shape (T, H, W); resized (bilinear) to ``size``
    (height, width) when given. One video at a time: Ped2's 200 frames at 240x360 are 69 MB."""
    from PIL import Image, UnidentifiedImageError

    out = []
    for p in paths:
        try:
            with Image.open(p) as image:
                grey = image.convert("L")
                if size is not None:
                    grey = grey.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                out.append(np.asarray(grey, dtype=np.float32) / 255.0)
        except (OSError, UnidentifiedImageError) as exc:
            raise InputError(f"{p}: not a readable image ({exc})") from exc
    if not out:
        raise InputError("no frames to read")
    return np.stack(out)
