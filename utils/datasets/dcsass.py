"""DCSASS (Kaggle ``mateohervas/dcsass-dataset``): labelled ~4 s clips cut from UCF-Crime.

Layout of one copy (the zip holds two identical ones, ``DCSASS Dataset/`` and
``dcsass dataset/DCSASS Dataset/``)::

    DCSASS Dataset/Labels/<Category>.csv                     headerless: clip_name,category,label
    DCSASS Dataset/<Category>/<Category>NNN_x264.mp4/        a FOLDER named like a video
        <Category>NNN_x264_<k>.mp4                            the clips

Label 1 means the clip shows the crime. Clips of one source video (``<Category>NNN_x264``) share
a camera and a scene, so they must never be split apart (see ``utils.datasets.splits``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from utils.datasets.clips import probe_failures
from utils.errors import InputError, not_utf8
from utils.paths import DATA_DIR

CATEGORIES = (
    "Abuse", "Arrest", "Arson", "Assault", "Burglary", "Explosion", "Fighting",
    "RoadAccidents", "Robbery", "Shooting", "Shoplifting", "Stealing", "Vandalism",
)
DEFAULT_CATEGORY = "Shoplifting"
COPY_NAME = "DCSASS Dataset"
SECOND_COPY = Path("dcsass dataset") / COPY_NAME
KAGGLE_HANDLE = "mateohervas/dcsass-dataset"
DCSASS_DIR = DATA_DIR / "dcsass"  # where the zip is unzipped (or kagglehub downloads it)


def source_video(clip_name: str) -> str:
    """``Shoplifting001_x264_7`` -> ``Shoplifting001_x264`` (the folder its clip lives in)."""
    return clip_name.rsplit("_", 1)[0]


def clip_path(root: Path, category: str, clip_name: str) -> Path:
    """Where a clip lives inside a dataset copy (note the folder named ``<video>.mp4``)."""
    return root / category / f"{source_video(clip_name)}.mp4" / f"{clip_name}.mp4"


@dataclass(frozen=True)
class DatasetRoot:
    """The copy that is used, and why (the other copy is ignored, never mixed in)."""

    path: Path
    note: str


def _candidates(path: Path) -> list[Path]:
    found = [path, path / COPY_NAME, path / SECOND_COPY]
    # kagglehub's cache: .../datasets/mateohervas/dcsass-dataset/versions/<n>/ (newest first)
    versions = sorted(
        (p for p in path.glob("versions/*") if p.name.isdigit()),
        key=lambda p: int(p.name),
        reverse=True,
    )
    for version in versions:
        found += [version / COPY_NAME, version / SECOND_COPY]
    return found


def find_root(path: str | Path) -> DatasetRoot:
    """The ``DCSASS Dataset`` folder given the unzip folder, either copy, or the Kaggle cache.

    The top-level copy wins when both are present; which one is used is stated in ``note``.
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise InputError(f"{path}: no such folder (see data/README.md for how to get DCSASS)")
    roots = [p for p in _candidates(path) if (p / "Labels").is_dir()]
    if not roots:
        raise InputError(
            f"{path}: no DCSASS copy found (looked for Labels/ in it, in '{COPY_NAME}/' and in "
            f"'{SECOND_COPY}/')"
        )
    chosen = roots[0]
    others = [str(p) for p in roots[1:] if p.resolve() != chosen.resolve()]
    note = f"using the copy at {chosen}"
    if others:
        note += f"; ignoring the duplicate copy at {', '.join(others)}"
    return DatasetRoot(chosen, note)


@dataclass(frozen=True)
class DcsassClip:
    """One labelled clip; ``line`` is its row in the label CSV (1-based)."""

    name: str
    source_video: str
    label: int
    path: Path
    line: int


@dataclass(frozen=True)
class MalformedRow:
    line: int
    text: str
    reason: str


@dataclass
class DcsassReport:
    """Readable labelled clips and every problem found, by name or line."""

    root: DatasetRoot
    category: str
    clips: list[DcsassClip] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
    malformed: list[MalformedRow] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    unlabelled_files: list[str] = field(default_factory=list)

    def pairs(self, names: set[str] | None = None) -> list[tuple[Path, int]]:
        """(path, label) of the clips (only ``names`` when given), for ``ClipDataset``."""
        return [(c.path, c.label) for c in self.clips if names is None or c.name in names]

    def left_out(self) -> dict[str, str]:
        """{clip: reason} for every clip on disk or in the labels that is not in ``clips``."""
        out = {name: "labelled but missing on disk" for name in self.missing}
        out.update(self.unreadable)
        out.update({name: "on disk without a valid label row" for name in self.unlabelled_files})
        return out

    def per_video(self) -> dict[str, dict[str, int]]:
        """{source video: {"clips": n, "positives": p}} over the readable clips."""
        out: dict[str, dict[str, int]] = {}
        for c in self.clips:
            row = out.setdefault(c.source_video, {"clips": 0, "positives": 0})
            row["clips"] += 1
            row["positives"] += c.label
        return dict(sorted(out.items()))

    def per_label(self) -> dict[int, int]:
        positives = sum(c.label for c in self.clips)
        return {0: len(self.clips) - positives, 1: positives}

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": "dcsass",
            "root": str(self.root.path),
            "copy": self.root.note,
            "category": self.category,
            "readable_clips": len(self.clips),
            "per_label": self.per_label(),
            "per_source_video": self.per_video(),
            "missing": self.missing,
            "unreadable": self.unreadable,
            "malformed_rows": [vars(m) for m in self.malformed],
            "duplicate_rows": self.duplicates,
            "unlabelled_files": self.unlabelled_files,
        }

    def to_text(self) -> str:
        labels, videos = self.per_label(), self.per_video()
        lines = [
            f"DCSASS {self.category}: {self.root.note}",
            f"{len(self.clips)} readable labelled clips: {labels[1]} positive (label 1), "
            f"{labels[0]} negative, from {len(videos)} source videos",
        ]
        lines += [
            f"  {video}: {row['clips']} clips, {row['positives']} positive"
            for video, row in videos.items()
        ]
        if self.malformed:
            lines.append(f"{len(self.malformed)} malformed label rows:")
            lines += [f"  line {m.line}: {m.text!r} ({m.reason})" for m in self.malformed]
        if self.duplicates:
            lines.append(f"{len(self.duplicates)} clips labelled twice (first row kept):")
            lines += [f"  {name} (again on line {line})" for name, line in self.duplicates.items()]
        if self.missing:
            lines.append(f"{len(self.missing)} labelled clips missing on disk:")
            lines += [f"  {name}" for name in self.missing]
        if self.unreadable:
            lines.append(f"{len(self.unreadable)} labelled clips that cannot be read:")
            lines += [f"  {name}: {why}" for name, why in self.unreadable.items()]
        if self.unlabelled_files:
            lines.append(f"{len(self.unlabelled_files)} clip files without a valid label row:")
            lines += [f"  {name}" for name in self.unlabelled_files]
        return "\n".join(lines)


def read_labels(path: Path) -> tuple[list[tuple[int, str, int]], list[MalformedRow]]:
    """Rows (line, clip, label) of a headerless label CSV, and the malformed rows.

    A row is kept when it has exactly 3 fields, a clip name with a ``_k`` suffix and a label of
    0 or 1; anything else (blank lines included) is reported with its line number.
    """
    rows: list[tuple[int, str, int]] = []
    bad: list[MalformedRow] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from None
    for line, text in enumerate(lines, start=1):
        if "\0" in text:
            raise InputError(f"{path}: binary data on line {line}, not a CSV of labels")
        fields = [f.strip() for f in next(csv.reader([text]), [])]
        if len(fields) != 3:
            bad.append(MalformedRow(line, text, f"{len(fields)} fields, expected 3"))
        elif fields[2] not in ("0", "1"):
            bad.append(MalformedRow(line, text, f"label {fields[2]!r} is not 0 or 1"))
        elif "_" not in fields[0]:
            bad.append(MalformedRow(line, text, "clip name has no '_<k>' suffix"))
        else:
            rows.append((line, fields[0], int(fields[2])))
    return rows, bad


def load_dcsass(
    path: str | Path,
    category: str = DEFAULT_CATEGORY,
    *,
    check_readable: bool = True,
    decode: bool = False,
    progress: bool = True,
) -> DcsassReport:
    """Labelled clips of one category, with every row or file left out named in the report."""
    if category not in CATEGORIES:
        raise InputError(f"unknown DCSASS category {category!r}; valid: {', '.join(CATEGORIES)}")
    root = find_root(path)
    labels = root.path / "Labels" / f"{category}.csv"
    if not labels.is_file():
        raise InputError(f"{labels}: no label file for category {category!r}")
    rows, malformed = read_labels(labels)
    report = DcsassReport(root, category, malformed=malformed)
    found: dict[str, tuple[int, int]] = {}
    for line, name, label in rows:
        if name in found:
            report.duplicates[name] = line
        else:
            found[name] = (line, label)
    paths = {name: clip_path(root.path, category, name) for name in found}
    present = {name: p for name, p in paths.items() if p.is_file()}
    report.missing = [name for name in paths if name not in present]
    if check_readable:
        report.unreadable = probe_failures(present, progress=progress,
                                           desc=f"probing {category}", decode=decode)
    for name, p in present.items():
        if name not in report.unreadable:
            line, label = found[name]
            report.clips.append(DcsassClip(name, source_video(name), label, p, line))
    on_disk = sorted((root.path / category).glob("*.mp4/*.mp4"))
    report.unlabelled_files = [p.stem for p in on_disk if p.stem not in found]
    return report
