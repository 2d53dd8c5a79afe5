"""Files of the per-camera production job: collision-free names, and reading a folder of the
summaries that ``alerts curve`` writes (for ``alerts plan --curves``)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from utils.errors import InputError

if TYPE_CHECKING:
    from utils.alerts.curves import CameraCurve


def curve_stem(store: str, camera: str) -> str:
    """File stem of a camera's outputs, ``<store>_camera_<id>``.

    Characters outside ``[A-Za-z0-9.-]`` become ``-``; when that changed anything (so two cameras
    could clean to the same text), 8 hex digits of a hash of the exact (store, camera) pair are
    appended, so distinct cameras never share a file. The JSON inside names the camera exactly.
    """
    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-.") or "-"

    stem = f"{safe(store)}_camera_{safe(camera)}"
    if (safe(store), safe(camera)) != (store, camera):
        digest = hashlib.sha256(f"{store}\0{camera}".encode()).hexdigest()[:8]
        stem = f"{stem}_{digest}"
    return stem


def check_stems(keys: Iterable[tuple[str, str]]) -> None:
    """Refuse to write when two cameras would share a file name (a hash collision)."""
    seen: dict[str, tuple[str, str]] = {}
    for store, camera in keys:
        stem = curve_stem(store, camera)
        if stem in seen and seen[stem] != (store, camera):
            raise InputError(f"cameras {seen[stem]} and {(store, camera)} would both be written "
                             f"to {stem}.*; refusing to overwrite one with the other")
        seen[stem] = (store, camera)


def check_owner(json_path: Path, store: str, camera: str) -> None:
    """Refuse to replace a summary that belongs to another camera."""
    try:
        data = json.loads(json_path.read_text())
        owner = (str(data["store"]), str(data["camera"]))
    except (OSError, ValueError, KeyError, TypeError):
        return
    if owner != (store, camera):
        raise InputError(f"{json_path}: holds camera {owner[0]}/{owner[1]}, not "
                         f"{store}/{camera}; refusing to overwrite it")


def read_curve_folder(folder: str | Path) -> list[CameraCurve]:
    """Every camera summary (``*.json``) of ``folder``, sorted by camera; a file that is not a
    summary or a camera read twice is an :class:`InputError` naming the file."""
    from utils.alerts.curves import CameraCurve

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise InputError(f"{folder}: no camera summary (*.json) found; run `alerts curve` first")
    curves: list[CameraCurve] = []
    seen: dict[tuple[str, str], str] = {}
    for path in files:
        try:
            curve = CameraCurve.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a camera curve summary ({exc})") from exc
        if curve.key in seen:
            raise InputError(f"{path}: camera {curve.store}/{curve.camera} already read from "
                             f"{seen[curve.key]}")
        seen[curve.key] = path.name
        curves.append(curve)
    return sorted(curves, key=lambda c: c.key)
