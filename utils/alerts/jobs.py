"""The production jobs behind ``alerts curve`` and ``alerts plan``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils.alerts.files import read_curve_folder
from utils.errors import InputError

if TYPE_CHECKING:
    from utils.alerts.curves import CameraCurve


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
