"""The retail brief's format: ``ROOT/final_files/<photo>`` and ``ROOT/labels.csv`` with the
columns ``file_name,real_age`` (7,591 APPA-REAL photos in the brief).

The format does not say who is in a photo. When a sidecar ``ROOT/persons.csv``
(``file_name,person_id``) is present (the generated stand-in writes one), splits are grouped by
person; without it every photo is its own group and the report says so.

Nothing here reads every image at once: :class:`FaceImages` opens one photo per item, and
``load_faces(decode=True)`` decodes them one by one (``data check``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.columns import require_columns
from utils.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

LABELS_FILE = "labels.csv"
IMAGES_DIR = "final_files"
PERSONS_FILE = "persons.csv"
MAX_AGE = 120


def is_faces_root(root: str | Path) -> bool:
    """True when ``root`` holds ``labels.csv`` (the brief's layout)."""
    return (Path(root) / LABELS_FILE).is_file()


@dataclass
class FacesReport:
    """The usable photos of a faces folder, and every row or file left out with the reason."""

    root: Path
    table: pd.DataFrame  # file_name, real_age, person (usable rows only)
    persons_known: bool
    bad_rows: dict[str, str] = field(default_factory=dict)  # "line N" -> reason
    missing: dict[str, str] = field(default_factory=dict)  # file_name -> reason
    unreadable: dict[str, str] = field(default_factory=dict)

    def path(self, file_name: str) -> Path:
        return self.root / IMAGES_DIR / file_name

    def left_out(self) -> dict[str, str]:
        return {**self.bad_rows, **self.missing, **self.unreadable}

    def to_dict(self) -> dict[str, Any]:
        ages = self.table["real_age"]
        return {
            "root": str(self.root), "format": "faces (labels.csv + final_files/)",
            "photos": len(self.table), "persons": int(self.table["person"].nunique()),
            "persons_known": self.persons_known,
            "age": {"min": float(ages.min()) if len(ages) else None,
                    "median": float(ages.median()) if len(ages) else None,
                    "max": float(ages.max()) if len(ages) else None},
            "bad_rows": self.bad_rows, "missing": self.missing, "unreadable": self.unreadable,
        }

    def to_text(self) -> str:
        d = self.to_dict()
        lines = [f"{self.root}: {d['photos']} usable photos of "
                 + (f"{d['persons']} persons" if self.persons_known
                    else "unknown persons (no persons.csv: the split cannot be grouped by person)"),
                 f"  age min {d['age']['min']}, median {d['age']['median']}, max {d['age']['max']}"]
        for title, items in (("malformed label rows", self.bad_rows),
                             ("missing photos", self.missing),
                             ("unreadable photos", self.unreadable)):
            if items:
                lines.append(f"  {len(items)} {title}:")
                lines += [f"    {name}: {why}" for name, why in items.items()]
        return "\n".join(lines)


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read CSV ({exc})") from exc


def _labels(root: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """Valid label rows and {"line N": reason} for the others (line numbers as in an editor)."""
    frame = _read_csv(root / LABELS_FILE)
    require_columns(frame.columns, ("file_name", "real_age"), str(root / LABELS_FILE))
    bad: dict[str, str] = {}
    age = np.full(len(frame), np.nan)
    for i, (name, text) in enumerate(zip(frame["file_name"], frame["real_age"], strict=True)):
        where = f"{LABELS_FILE} line {i + 2}"
        try:
            value = float(text)
        except ValueError:
            bad[where] = f"real_age {text!r} is not a number"
            continue
        if not name.strip() or Path(name).name != name:
            bad[where] = f"file_name {name!r} is not a file name inside {IMAGES_DIR}/"
        elif not 0 <= value <= MAX_AGE:
            bad[where] = f"real_age {value:g} outside 0..{MAX_AGE}"
        else:
            age[i] = value
    frame = frame.assign(real_age=age)[~np.isnan(age)]
    twice = frame["file_name"].duplicated(keep=False)
    for name in sorted(set(frame.loc[twice, "file_name"])):
        bad[f"{LABELS_FILE} {name}"] = "listed more than once (all its rows left out)"
    return frame[~twice].reset_index(drop=True), bad


def _persons(root: Path, files: pd.Series) -> tuple[pd.Series, bool]:
    path = root / PERSONS_FILE
    if not path.is_file():
        return files.copy(), False
    frame = _read_csv(path)
    require_columns(frame.columns, ("file_name", "person_id"), str(path))
    mapping = dict(zip(frame["file_name"], frame["person_id"], strict=True))
    absent = [f for f in files if f not in mapping]
    if absent:
        raise InputError(f"{path}: no person_id for {len(absent)} labelled photos, e.g. "
                         f"{absent[:3]}")
    return files.map(mapping), True


def read_face(path: str | Path) -> np.ndarray:
    """One photo as an RGB uint8 array (H, W, 3); InputError names the file when it cannot be
    decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise InputError(f"{path}: cannot decode the photo ({exc})") from exc


def load_faces(root: str | Path, *, decode: bool = False, progress: bool = True) -> FacesReport:
    """Read ``labels.csv`` (and ``persons.csv`` when present) and check that each photo exists;
    ``decode=True`` also decodes every photo, one at a time."""
    from tqdm.auto import tqdm

    root = Path(root)
    if not is_faces_root(root):
        raise InputError(f"{root}: no {LABELS_FILE} (expected {LABELS_FILE} with file_name,"
                         f"real_age and the photos in {IMAGES_DIR}/)")
    frame, bad = _labels(root)
    person, known = _persons(root, frame["file_name"])
    frame = frame.assign(person=person.astype(str))
    missing, unreadable = {}, {}
    keep = np.ones(len(frame), dtype=bool)
    for i, name in enumerate(tqdm(frame["file_name"], desc="photos", unit="photo",
                                  disable=not progress or not decode or frame.empty)):
        path = root / IMAGES_DIR / name
        if not path.is_file():
            missing[name] = f"{path} does not exist"
            keep[i] = False
        elif decode:
            try:
                read_face(path)
            except InputError as exc:
                unreadable[name] = str(exc)
                keep[i] = False
    return FacesReport(root, frame[keep].reset_index(drop=True), known, bad, missing, unreadable)


class FaceImages:
    """A torch-style dataset over photo files: item i is ``(transform(image), age)``, read when
    asked for (never all photos in memory)."""

    def __init__(self, paths: list[Path], ages: Any, transform: Any) -> None:
        self.paths, self.ages, self.transform = paths, np.asarray(ages, dtype=np.float32), transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[Any, float]:
        import torch

        image = torch.from_numpy(read_face(self.paths[i]).copy()).permute(2, 0, 1)
        return self.transform(image), float(self.ages[i])
