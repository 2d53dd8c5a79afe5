"""The production jobs behind ``alerts validate``, ``alerts curve`` and ``alerts plan``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils.alerts.engines import on_dask
from utils.alerts.files import read_curve_folder
from utils.errors import InputError

if TYPE_CHECKING:
    from utils.alerts.curves import CameraCurve
    from utils.alerts.validate import ValidationReport


def dask_curves(source: str | Path, scheduler: str | None, *, store: str | None = None,
                camera: str | None = None, scratch: str | None = None
                ) -> tuple[list[CameraCurve], ValidationReport]:
    """Curves and validation report of a dataset computed on Dask."""
    from utils.alerts.engines import engine_runner
    from utils.alerts.summaries import dataset_curves

    with engine_runner("dask", scheduler, scratch) as runner:
        return dataset_curves(source, runner, store=store, camera=camera)


def validate_job(source: str | Path, *, table: str = "alerts", engine: str = "local",
                 scheduler: str | None = None, scratch: str | None = None
                 ) -> ValidationReport:
    """``alerts validate``: a dataset is validated partition by partition (on Dask with
    ``engine="dask"``), anything else as a whole."""
    from utils.alerts.dataset import is_dataset
    from utils.alerts.engines import engine_runner
    from utils.alerts.summaries import dataset_report
    from utils.alerts.validate import load_alerts

    dask = on_dask(source, engine, scheduler, scratch)
    if not is_dataset(source):
        return load_alerts(source, table=table)[1]
    with engine_runner("dask" if dask else "local", scheduler, scratch) as runner:
        return dataset_report(source, runner)


def curve_job(source: str | Path, out_dir: str | Path, *, store: str, camera: str,
              table: str = "alerts", engine: str = "local", scheduler: str | None = None,
              scratch: str | None = None) -> tuple[CameraCurve, dict[str, Any], Path]:
    """``alerts curve``: read only one camera's rows, write its image and summary JSON into
    ``out_dir``. Returns the curve, the validation report (as a dict) and the image path."""
    import matplotlib

    matplotlib.use("Agg")

    from utils.alerts.curves import camera_curve
    from utils.alerts.report import write_camera_files
    from utils.alerts.validate import load_alerts

    if on_dask(source, engine, scheduler, scratch):
        curves, report = dask_curves(source, scheduler, store=store, camera=camera,
                                     scratch=scratch)
    else:
        clean, report = load_alerts(source, table=table, store=store, camera=camera)
        curves = [] if clean.empty else [camera_curve(clean["probability"], clean["is_theft"],
                                                      store=store, camera=camera)]
    if not curves:
        raise InputError(f"{report.source}: no usable row for store {store!r} camera "
                         f"{camera!r} ({report.rows} read, {report.excluded} excluded)")
    curve = curves[0]
    validation = report.to_dict()
    image = write_camera_files(curve, out_dir, {"validation": validation})
    return curve, validation, image


def plan_job(target_fp_reduction: float, method: str, *, source: str | Path | None = None,
             table: str = "alerts", curves_dir: str | Path | None = None,
             max_threshold: float | None = None, min_recall: float | None = None,
             progress: bool = False, engine: str = "local", scheduler: str | None = None,
             scratch: str | None = None) -> dict[str, Any]:
    """``alerts plan``: the plan (plain JSON values) from a source or a folder of summaries."""
    from utils.alerts.planning import plan_thresholds
    from utils.io import to_jsonable

    if not 0 < target_fp_reduction <= 1:  # before reading any data
        raise InputError(f"--target-fp-reduction must be in (0, 1], got {target_fp_reduction}")
    if curves_dir is not None:
        curves = read_curve_folder(curves_dir)
    elif on_dask(str(source), engine, scheduler, scratch):
        curves, _ = dask_curves(str(source), scheduler, scratch=scratch)
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
