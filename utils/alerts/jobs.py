"""The per-camera production job's files: collision-free names, reading a folder of summaries,
and running ``actionlab`` as a separate process (as a cron job or a worker would)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def run_actionlab(*args: str | Path) -> str:
    """Run ``actionlab ARGS…`` as a separate process and return its stdout; a failure raises with
    the command's own error line (:class:`InputError` for exit 2).

    ``python -m utils`` with this interpreter, so it works in notebooks, papermill and Colab
    where the ``actionlab`` script may not be on PATH.
    """
    from utils.paths import REPO_ROOT

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    command = [sys.executable, "-m", "utils", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no message"
        error = InputError if done.returncode == 2 else RuntimeError
        raise error(f"actionlab {' '.join(map(str, args))} exited {done.returncode}: {message}")
    return done.stdout


def curve_job(source: str | Path, out_dir: str | Path, *, store: str, camera: str,
              table: str = "alerts") -> tuple[CameraCurve, dict[str, Any], Path]:
    """``alerts curve``: read only one camera's rows, write its image and summary JSON into
    ``out_dir``. Returns the curve, the validation report (as a dict) and the image path."""
    import matplotlib

    matplotlib.use("Agg")

    from utils.alerts.curves import camera_curve
    from utils.alerts.report import write_camera_files
    from utils.alerts.validate import load_alerts

    clean, report = load_alerts(source, table=table, store=store, camera=camera)
    if clean.empty:
        raise InputError(f"{report.source}: no usable row for store {store!r} camera "
                         f"{camera!r} ({report.rows} read, {report.excluded} excluded)")
    curve = camera_curve(clean["probability"], clean["is_theft"], store=store, camera=camera)
    validation = report.to_dict()
    image = write_camera_files(curve, out_dir, {"validation": validation})
    return curve, validation, image


def plan_job(target_fp_reduction: float, method: str, *, source: str | Path | None = None,
             table: str = "alerts", curves_dir: str | Path | None = None,
             max_threshold: float | None = None, min_recall: float | None = None,
             progress: bool = False) -> dict[str, Any]:
    """``alerts plan``: the plan (plain JSON values) from a source or a folder of summaries."""
    from utils.alerts.planning import plan_thresholds
    from utils.io import to_jsonable

    if not 0 < target_fp_reduction <= 1:  # before reading any data
        raise InputError(f"--target-fp-reduction must be in (0, 1], got {target_fp_reduction}")
    if curves_dir is not None:
        curves = read_curve_folder(curves_dir)
    else:
        from utils.alerts.curves import camera_curves
        from utils.alerts.validate import load_alerts

        clean, _ = load_alerts(str(source), table=table)
        curves = camera_curves(clean)
    quiet = {"progress": progress} if method in ("exact", "exhaustive") else {}
    floor = {"max_threshold": max_threshold, "min_recall": min_recall}
    plan = plan_thresholds(curves, target_fp_reduction, method, **floor, **quiet).to_dict()
    if any(v is not None for v in floor.values()):
        plan["floor"] = floor
    return dict(to_jsonable(plan))
