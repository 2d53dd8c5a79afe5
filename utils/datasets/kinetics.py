"""Kinetics-400 class names and a local sample of clips.

A sample is a folder of clips named ``{label}-{youtube_id}-{start}-{end}.mp4``, optionally joined
with a DeepMind annotation CSV (``label,youtube_id,time_start,time_end,split``). Labels contain
spaces, parentheses and apostrophes and YouTube ids may contain ``-``, so a name is parsed from
the right: the last two fields are the integer times, the 11 characters before them the id.
"""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from utils.columns import require_columns
from utils.datasets.clips import probe_failures
from utils.errors import InputError
from utils.paths import DATA_DIR, SHIPPED_DATA_DIR

CLASSNAMES_FILE = SHIPPED_DATA_DIR / "kinetics400_classnames.txt"
KINETICS_SAMPLE_DIR = DATA_DIR / "kinetics_sample"  # the clips, flat, in the course's naming
ANNOTATION_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")
_CLIP_NAME = re.compile(
    r"^(?P<label>.+)-(?P<youtube_id>[A-Za-z0-9_-]{11})-(?P<start>\d+)-(?P<end>\d+)$"
)


@cache
def _shipped_classes() -> tuple[str, ...]:
    names = tuple(line.strip() for line in CLASSNAMES_FILE.read_text().splitlines() if line.strip())
    if len(names) != 400 or len(set(names)) != 400:
        raise InputError(f"{CLASSNAMES_FILE}: expected 400 distinct names, got {len(names)}")
    return names


def kinetics_classes() -> list[str]:
    """The 400 class names in checkpoint index order (the shipped ``data/`` file)."""
    return list(_shipped_classes())


def load_classnames_json(path: str | Path) -> list[str]:
    """Names in index order from the PySlowFast ``kinetics_classnames.json`` (name -> index).

    Some keys carry literal double quotes (``"\\"passing American football (in game)\\""``);
    they are stripped. The indices must be exactly 0..n-1.
    """
    path = Path(path)
    try:
        mapping = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(mapping, dict):
        raise InputError(f"{path}: expected a JSON object name -> index")
    by_index = {int(index): name.strip().strip('"') for name, index in mapping.items()}
    if sorted(by_index) != list(range(len(mapping))):
        raise InputError(f"{path}: indices are not exactly 0..{len(mapping) - 1}")
    return [by_index[i] for i in range(len(by_index))]


@dataclass(frozen=True)
class ClipName:
    """The parts of a sample file name ``{label}-{youtube_id}-{start}-{end}.mp4``."""

    label: str
    youtube_id: str
    start: int
    end: int

    @property
    def key(self) -> tuple[str, int, int]:
        """What identifies a clip across naming variants (zero padding, label spelling)."""
        return self.youtube_id, self.start, self.end


def clip_filename(label: str, youtube_id: str, start: int, end: int) -> str:
    """The course's file name for one clip (times as plain integers)."""
    return f"{label}-{youtube_id}-{int(start)}-{int(end)}.mp4"


def parse_clip_name(name: str) -> ClipName:
    """Parse a file name (with or without ``.mp4``); InputError names the file when it does not
    fit the pattern."""
    stem = name[:-4] if name.lower().endswith(".mp4") else name
    match = _CLIP_NAME.match(stem)
    if match is None:
        raise InputError(f"{name!r} is not '{{label}}-{{youtube_id}}-{{start}}-{{end}}.mp4'")
    start, end = int(match["start"]), int(match["end"])
    if end <= start:
        raise InputError(f"{name!r}: end time {end} is not after start time {start}")
    return ClipName(match["label"], match["youtube_id"], start, end)


@dataclass(frozen=True)
class KineticsSample:
    """One clip: file, class name and its index in ``kinetics_classes()`` order."""

    path: Path
    label: str
    class_index: int
    youtube_id: str

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass
class KineticsReport:
    """Usable samples and every clip left out, by name and reason."""

    folder: Path
    samples: list[KineticsSample] = field(default_factory=list)
    unparsable: list[str] = field(default_factory=list)
    unknown_label: dict[str, str] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    broken_links: dict[str, str] = field(default_factory=dict)
    not_in_annotations: list[str] = field(default_factory=list)
    label_mismatch: dict[str, str] = field(default_factory=dict)
    not_downloaded: int = 0

    def pairs(self) -> list[tuple[Path, int]]:
        """(path, class index) for ``utils.datasets.torch_data.ClipDataset``."""
        return [(s.path, s.class_index) for s in self.samples]

    def left_out(self) -> dict[str, str]:
        """{file: reason} for every clip of the folder that is not in ``samples``."""
        out = {name: "name not '{label}-{youtube_id}-{start}-{end}.mp4'"
               for name in self.unparsable}
        for name, label in self.unknown_label.items():
            spaced = label.replace("_", " ")
            hint = f" (did you mean {spaced!r}?)" if spaced in _shipped_classes() else ""
            out[name] = f"label {label!r} is not a Kinetics-400 class{hint}"
        out.update(self.unreadable)
        out.update(self.broken_links)
        out.update({name: "not in the annotation CSV" for name in self.not_in_annotations})
        return out

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.samples:
            counts[s.label] = counts.get(s.label, 0) + 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": "kinetics_sample",
            "folder": str(self.folder),
            "usable_clips": len(self.samples),
            "per_class": self.counts(),
            "unparsable": self.unparsable,
            "unknown_label": self.unknown_label,
            "unreadable": self.unreadable,
            "broken_links": self.broken_links,
            "not_in_annotations": self.not_in_annotations,
            "label_mismatch": self.label_mismatch,
            "annotation_rows_without_file": self.not_downloaded,
        }

    def to_text(self) -> str:
        counts = self.counts()
        lines = [f"Kinetics sample {self.folder}: {len(self.samples)} usable clips in "
                 f"{len(counts)} classes"]
        lines += [f"  {label}: {n}" for label, n in counts.items()]
        left_out = self.left_out()
        if left_out:
            lines.append(f"{len(left_out)} clips left out:")
            lines += [f"  {name}: {why}" for name, why in left_out.items()]
        if self.label_mismatch:
            lines.append(f"{len(self.label_mismatch)} clips labelled from the annotation CSV, "
                         "not their file name:")
            lines += [f"  {name}: {why}" for name, why in self.label_mismatch.items()]
        if self.not_downloaded:
            lines.append(f"{self.not_downloaded} annotation rows have no file in the folder")
        return "\n".join(lines)


def broken_link(path: Path) -> str | None:
    """Why ``path`` is a symlink that leads to no file (dangling or looping), else None."""
    if not path.is_symlink():
        return None
    try:
        path.resolve(strict=True)
    except RuntimeError:
        return "symlink loop"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        return f"dangling symlink to {os.readlink(path)}"
    return None if path.is_file() else f"symlink to a non-file {os.readlink(path)}"


def _scan(folder: Path) -> tuple[dict[str, tuple[Path, ClipName]], list[str], dict[str, str]]:
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    parsed: dict[str, tuple[Path, ClipName]] = {}
    unparsable: list[str] = []
    broken: dict[str, str] = {}
    for path in sorted(folder.glob("*.mp4")):
        if (why := broken_link(path)) is not None:
            broken[path.name] = why
            continue
        if not path.is_file():
            continue
        try:
            parsed[path.name] = (path, parse_clip_name(path.name))
        except InputError:
            unparsable.append(path.name)
    return parsed, unparsable, broken


def load_kinetics_sample(
    folder: str | Path,
    annotations: str | Path | None = None,
    *,
    split: str | None = None,
    classes: list[str] | None = None,
    check_readable: bool = True,
    decode: bool = False,
    progress: bool = True,
) -> KineticsReport:
    """Samples of a folder of clips; with ``annotations`` (a DeepMind CSV, optionally one
    ``split``) the label comes from the CSV and files it does not list are reported.

    ``classes`` defaults to the shipped 400 names. Nothing is dropped silently: every file left
    out is in the report with its reason.
    """
    folder = Path(folder)
    names = classes or kinetics_classes()
    index = {name: i for i, name in enumerate(names)}
    parsed, unparsable, broken = _scan(folder)
    report = KineticsReport(folder, unparsable=unparsable, broken_links=broken)
    labels = {name: clip.label for name, (_, clip) in parsed.items()}
    if annotations is not None:
        table = read_annotations(annotations, split=split)
        by_key = {
            (row.youtube_id, row.time_start, row.time_end): row.label
            for row in table.itertuples(index=False)
        }
        keys = {clip.key for _, clip in parsed.values()}
        report.not_downloaded = sum(key not in keys for key in by_key)
        for name, (_, clip) in parsed.items():
            if clip.key not in by_key:
                report.not_in_annotations.append(name)
                del labels[name]
            elif by_key[clip.key] != clip.label:
                report.label_mismatch[name] = f"annotation says {by_key[clip.key]!r}"
                labels[name] = by_key[clip.key]
    known = {}
    for name, label in labels.items():
        if label in index:
            known[name] = parsed[name][0]
        else:
            report.unknown_label[name] = label
    if check_readable:
        report.unreadable = probe_failures(known, progress=progress, decode=decode)
    for name, path in known.items():
        if name not in report.unreadable:
            clip = parsed[name][1]
            report.samples.append(
                KineticsSample(path, labels[name], index[labels[name]], clip.youtube_id)
            )
    return report


def read_annotations(path: str | Path, *, split: str | None = None) -> Any:
    """A DeepMind annotation CSV as a DataFrame (times as int), optionally one split only."""
    import pandas as pd

    path = Path(path)
    try:
        table = pd.read_csv(path, dtype={"label": str, "youtube_id": str, "split": str})
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read annotation CSV ({exc})") from exc
    require_columns(table.columns, ANNOTATION_COLUMNS, str(path))
    empty = table[list(ANNOTATION_COLUMNS[:4])].isna().any(axis=1)
    if empty.any():
        rows = (empty[empty].index[:5] + 2).tolist()  # file line numbers (header is line 1)
        raise InputError(f"{path}: {int(empty.sum())} rows with empty fields, lines {rows}...")
    table["label"] = table["label"].str.strip().str.strip('"')
    table["time_start"] = table["time_start"].astype(float).astype(int)
    table["time_end"] = table["time_end"].astype(float).astype(int)
    if split is not None:
        table = table[table["split"] == split]
    return table.reset_index(drop=True)
