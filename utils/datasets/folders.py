"""Which dataset a folder holds (a DCSASS copy or a Kinetics sample) and its usable clips, for
``data check`` and ``data split``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from utils.errors import InputError


def open_dataset(root: str | Path, category: str, *, progress: bool = True,
                 decode: bool = False) -> Any:
    """The loader report of ``root``: a DcsassReport when it holds a DCSASS copy, else a
    KineticsReport when it holds .mp4 clips, else a FacesReport when it holds ``labels.csv``;
    InputError when it is none. ``decode``: decode every clip (photo) to its end
    (``data check``) rather than read its header."""
    from utils.age.data import is_faces_root, load_faces
    from utils.datasets.dcsass import find_root, load_dcsass
    from utils.datasets.kinetics import load_kinetics_sample

    root = Path(root)
    if is_faces_root(root):
        return load_faces(root, decode=decode, progress=progress)
    try:
        find_root(root)
    except InputError as not_dcsass:
        if root.is_dir() and any(p.is_file() or p.is_symlink() for p in root.glob("*.mp4")):
            return load_kinetics_sample(root, progress=progress, decode=decode)
        raise InputError(f"{root}: neither a DCSASS copy nor a folder of Kinetics clips "
                         f"({not_dcsass})") from None
    return load_dcsass(root, category, progress=progress, decode=decode)


def dataset_rows(report: Any) -> tuple[list[str], list[str], list[int]]:
    """(clip, source video, label) of every usable clip of either dataset (faces: photo,
    person, age band)."""
    from utils.age.data import FacesReport
    from utils.age.evaluate import age_band
    from utils.datasets.dcsass import DcsassReport

    if isinstance(report, FacesReport):
        t = report.table
        return (t["file_name"].tolist(), t["person"].tolist(),
                age_band(t["real_age"]).tolist())
    if isinstance(report, DcsassReport):
        return ([c.name for c in report.clips], [c.source_video for c in report.clips],
                [c.label for c in report.clips])
    return ([s.name for s in report.samples], [s.youtube_id for s in report.samples],
            [s.class_index for s in report.samples])
